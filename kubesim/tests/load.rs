//! Performance: kubesim answers at least 2,000 simple requests per second on loopback from one
//! client with 8 concurrent connections. Bounded: at most three rounds of 3,000 GETs, each cut
//! off after 10 seconds; the best round counts, so a moment of contention from other tests on
//! the machine does not decide the result.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CONNECTIONS: usize = 8;
const REQUESTS_PER_ROUND: u64 = 3_000;
const ROUNDS: usize = 3;

async fn round(cms: &Api<ConfigMap>) -> f64 {
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..CONNECTIONS {
        let cms = cms.clone();
        let issued = issued.clone();
        workers.push(tokio::spawn(async move {
            while issued.fetch_add(1, Ordering::Relaxed) < REQUESTS_PER_ROUND
                && started.elapsed() < Duration::from_secs(10)
            {
                cms.get("load").await.expect("GET succeeds under load");
            }
        }));
    }
    for w in workers {
        w.await.unwrap();
    }
    let done = issued.load(Ordering::Relaxed).min(REQUESTS_PER_ROUND);
    done as f64 / started.elapsed().as_secs_f64()
}

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
    for _ in 0..CONNECTIONS {
        cms.get("load").await.unwrap();
    }
    let mut best: f64 = 0.0;
    for _ in 0..ROUNDS {
        best = best.max(round(&cms).await);
        if best >= 2000.0 {
            break;
        }
    }
    println!("kubesim served simple GETs at {best:.0} requests/s with {CONNECTIONS} connections");
    assert!(best >= 2000.0, "only {best:.0} requests/s");
}
