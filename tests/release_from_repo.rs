//! `install` and `upgrade` take charts by repository reference (`repo/chart --version C`),
//! as helm does: the chart is downloaded (digest-verified), the release records the version
//! the constraint chose, and a constraint nothing satisfies records nothing.

mod repo_support;

use std::fs;

use repo_support::*;

#[tokio::test]
async fn install_and_upgrade_by_repository_reference() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let charts = home.join("www/charts");
    fs::create_dir_all(&charts).unwrap();
    for version in ["1.0.0", "1.1.0", "2.0.0"] {
        package(&charts, "shop", version);
    }
    let nginx = Nginx::start(&home.join("www"), "");
    let url = format!("{}/charts", nginx.url());
    ok(rudder(
        home,
        &["repo", "index", charts.to_str().unwrap(), "--url", &url],
    ));
    ok(rudder(home, &["repo", "add", "team", &url]));

    let server = kubesim::Server::start().await.unwrap();
    let kubeconfig = server.kubeconfig_path().to_str().unwrap().to_string();
    let cluster = ["--kubeconfig", kubeconfig.as_str(), "-n", "default"];
    let with_cluster = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(cluster.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let run = |args: Vec<String>| {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        rudder(home, &args)
    };

    ok(run(with_cluster(&[
        "install",
        "web",
        "team/shop",
        "--version",
        "~1.0",
    ])));
    let history = ok(run(with_cluster(&["history", "web", "-o", "json"])));
    assert!(history.contains("\"chart\":\"shop-1.0.0\""), "{history}");

    ok(run(with_cluster(&[
        "upgrade",
        "web",
        "team/shop",
        "--version",
        "^1",
    ])));
    let history = ok(run(with_cluster(&["history", "web", "-o", "json"])));
    assert!(history.contains("\"chart\":\"shop-1.1.0\""), "{history}");

    let missing = fails(run(with_cluster(&[
        "upgrade",
        "web",
        "team/shop",
        "--version",
        ">=3",
    ])));
    assert!(missing.contains(">=3"), "{missing}");
    let history = ok(run(with_cluster(&["history", "web", "-o", "json"])));
    assert_eq!(
        history.matches("\"revision\"").count(),
        2,
        "nothing recorded: {history}"
    );
}
