//! Load check: 8 concurrent connections from one `kube` client issue simple GETs against an
//! in-process kubesim on loopback, bounded to 20,000 requests or 10 seconds, and the request
//! rate is printed. Run with `cargo run -p kubesim --release --example load`.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 8;
const MAX_REQUESTS: u64 = 20_000;
const MAX_TIME: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let server = kubesim::Server::start().await?;
    let client = server.client().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let cm: ConfigMap = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "load"}, "data": {"k": "v"}}))?;
    cms.create(&PostParams::default(), &cm).await?;

    let issued = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONCURRENCY {
        let cms = cms.clone();
        let issued = issued.clone();
        let failed = failed.clone();
        workers.push(tokio::spawn(async move {
            while issued.fetch_add(1, Ordering::Relaxed) < MAX_REQUESTS
                && started.elapsed() < MAX_TIME
            {
                if cms.get("load").await.is_err() {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for w in workers {
        w.await?;
    }
    let elapsed = started.elapsed();
    let done = issued.load(Ordering::Relaxed).min(MAX_REQUESTS);
    let rate = done as f64 / elapsed.as_secs_f64();
    println!(
        "kubesim load: {done} GETs with {CONCURRENCY} concurrent connections in {:.2}s = {rate:.0} requests/s ({} failed)",
        elapsed.as_secs_f64(),
        failed.load(Ordering::Relaxed)
    );
    Ok(())
}
