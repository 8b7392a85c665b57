//! Performance: kubesim answers at least 2,000 simple requests per second on loopback from one
//! client with 8 concurrent connections (bounded to 6,000 requests or 15 seconds).

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_at_least_2000_gets_per_second_with_8_connections() {
    let server = kubesim::Server::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client().await);
    let cm: ConfigMap = serde_json::from_value(
        serde_json::json!({"metadata": {"name": "load"}, "data": {"k": "v"}}),
    )
    .unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    // Warm the connection pool so TLS handshakes are not measured.
    for _ in 0..8 {
        cms.get("load").await.unwrap();
    }
    let total = 6_000u64;
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..8 {
        let cms = cms.clone();
        let issued = issued.clone();
        workers.push(tokio::spawn(async move {
            while issued.fetch_add(1, Ordering::Relaxed) < total
                && started.elapsed() < Duration::from_secs(15)
            {
                cms.get("load").await.expect("GET succeeds under load");
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let done = issued.load(Ordering::Relaxed).min(total);
    let rate = done as f64 / started.elapsed().as_secs_f64();
    println!("kubesim served {done} GETs at {rate:.0} requests/s with 8 connections");
    assert!(rate >= 2000.0, "only {rate:.0} requests/s");
}
