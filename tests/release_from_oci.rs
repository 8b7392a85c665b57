//! helm's chart path options on the commands that take a chart (`template`, `install`,
//! `upgrade`, `show`, `diff upgrade`), against a real Distribution registry and real nginx
//! repositories on loopback: `oci://` references over plain HTTP with `--plain-http`,
//! `--version`/`--devel` choosing the tag, `--repo URL` for a repository nobody added,
//! `--username`/`--password` sent to the chart's own host only (unless
//! `--pass-credentials`), and one clear error line (with nothing installed) when the
//! registry, the version or the flags are wrong.

mod repo_support;

use std::fs;
use std::path::{Path, PathBuf};

use repo_support::*;

const VERSIONS: [&str; 3] = ["1.0.0", "1.1.0", "2.0.0-rc.1"];

/// `shop` packaged at every one of [`VERSIONS`] into `dir`; returns the package paths.
fn shop_packages(dir: &Path) -> Vec<PathBuf> {
    VERSIONS.iter().map(|v| package(dir, "shop", v)).collect()
}

/// A plain-HTTP registry holding `shop` at every one of [`VERSIONS`] (pushed by rudder)
/// under `oci://HOST/charts`; returns it, the `oci://HOST/charts/shop` reference and the
/// packages.
fn registry_with_shop(home: &Path) -> (Registry, String, Vec<PathBuf>) {
    let registry = Registry::start("");
    let remote = format!("oci://{}/charts", registry.host());
    let packages = shop_packages(&home.join("pkgs"));
    for pkg in &packages {
        ok(rudder(
            home,
            &["push", pkg.to_str().unwrap(), &remote, "--plain-http"],
        ));
    }
    (registry, format!("{remote}/shop"), packages)
}

/// An nginx serving `shop` at every one of [`VERSIONS`] with its `index.yaml` at
/// `URL/charts`; returns it and that URL.
fn repository_with_shop(home: &Path) -> (Nginx, String) {
    let root = home.join("www");
    let charts = root.join("charts");
    fs::create_dir_all(&charts).unwrap();
    shop_packages(&charts);
    let nginx = Nginx::start(&root, "");
    let url = format!("{}/charts", nginx.url());
    ok(rudder(
        home,
        &["repo", "index", charts.to_str().unwrap(), "--url", &url],
    ));
    (nginx, url)
}

/// `args` followed by `extra`, as `rudder` takes them.
fn with<'a>(args: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    args.iter().chain(extra).copied().collect()
}

/// The error of a failed command, checked to be one `Error:` line.
fn one_error_line(r: Run) -> String {
    assert!(
        r.stdout.is_empty(),
        "a failed command printed: {}",
        r.stdout
    );
    let err = fails(r);
    assert!(
        err.starts_with("Error: ") && err.trim_end().lines().count() == 1,
        "not one error line: {err}"
    );
    err
}

#[test]
fn template_and_show_from_a_plain_http_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let (registry, chart, packages) = registry_with_shop(home);
    let template = |extra: &[&str]| rudder(home, &with(&["template", "web", &chart], extra));

    // The registry's chart renders exactly as the package it was pushed from.
    let local = ok(rudder(
        home,
        &["template", "web", packages[0].to_str().unwrap()],
    ));
    let remote = ok(template(&["--version", "1.0.0", "--plain-http"]));
    assert_eq!(remote, local);
    assert!(remote.contains("version: 1.0.0"), "{remote}");

    // No version: the newest stable tag; --devel admits pre-releases; a constraint picks
    // the newest tag it allows.
    let newest = ok(template(&["--plain-http"]));
    assert!(newest.contains("version: 1.1.0"), "{newest}");
    let devel = ok(template(&["--plain-http", "--devel"]));
    assert!(devel.contains("version: 2.0.0-rc.1"), "{devel}");
    let constrained = ok(template(&["--plain-http", "--version", "~1.0"]));
    assert!(constrained.contains("version: 1.0.0"), "{constrained}");

    let shown = ok(rudder(
        home,
        &[
            "show",
            "chart",
            &chart,
            "--version",
            "1.1.0",
            "--plain-http",
        ],
    ));
    assert!(
        shown.contains("name: shop") && shown.contains("version: 1.1.0"),
        "{shown}"
    );

    // A version the registry does not have: the error says which and lists what exists.
    let err = one_error_line(template(&["--version", "9.9.9", "--plain-http"]));
    assert!(
        err.contains(&format!("{chart} has no version 9.9.9")),
        "{err}"
    );
    for v in VERSIONS {
        assert!(err.contains(v), "{v} missing from: {err}");
    }
    // A chart the registry does not have.
    let err = one_error_line(rudder(
        home,
        &["template", "web", &format!("{chart}-nope"), "--plain-http"],
    ));
    assert!(
        err.contains(&format!("{chart}-nope")) && err.contains("not found"),
        "{err}"
    );

    // Without --plain-http rudder speaks HTTPS to a plain-HTTP registry: the error names
    // the registry and the flag.
    let err = one_error_line(template(&["--version", "1.0.0"]));
    assert!(
        err.contains(&registry.host()) && err.contains("--plain-http"),
        "{err}"
    );
}

#[tokio::test]
async fn install_upgrade_and_diff_from_a_registry_record_the_chart() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let (registry, chart, _) = registry_with_shop(home);
    let (_nginx, repo_url) = repository_with_shop(home);

    let server = kubesim::Server::start().await.unwrap();
    let kubeconfig = server.kubeconfig_path().to_str().unwrap().to_string();
    let cluster = ["--kubeconfig", kubeconfig.as_str(), "-n", "default"];
    let run = |args: &[&str]| rudder(home, &with(args, &cluster));
    let history = || ok(run(&["history", "web", "-o", "json"]));
    // `rudder COMMAND… oci://…/shop --version V --plain-http`, against the cluster.
    let from_registry = |command: &[&str], version: &str| {
        run(&with(
            command,
            &[&chart, "--version", version, "--plain-http"],
        ))
    };

    let out = ok(from_registry(&["install", "web"], "1.0.0"));
    assert!(out.contains("STATUS: deployed"), "{out}");
    let h = history();
    assert!(h.contains("\"chart\":\"shop-1.0.0\""), "{h}");

    // diff upgrade fetches the same way and shows the new version's change.
    let diff = ok(from_registry(
        &["diff", "upgrade", "--no-color", "web"],
        "1.1.0",
    ));
    assert!(
        diff.contains("has changed") && diff.contains("1.1.0"),
        "{diff}"
    );

    ok(from_registry(&["upgrade", "web"], "^1"));
    let h = history();
    assert!(h.contains("\"chart\":\"shop-1.1.0\""), "{h}");

    // --repo: the same chart from an HTTP repository nobody added; --devel takes the
    // release candidate.
    ok(run(&[
        "upgrade", "web", "shop", "--repo", &repo_url, "--devel",
    ]));
    let h = history();
    assert!(h.contains("\"chart\":\"shop-2.0.0-rc.1\""), "{h}");
    assert_eq!(h.matches("\"revision\"").count(), 3, "{h}");

    // Without --plain-http nothing is installed or upgraded, and the error says why.
    let err = one_error_line(run(&["install", "other", &chart, "--version", "1.0.0"]));
    assert!(
        err.contains(&registry.host()) && err.contains("--plain-http"),
        "{err}"
    );
    let err = one_error_line(run(&["upgrade", "web", &chart, "--version", "1.0.0"]));
    assert!(
        err.contains(&registry.host()) && err.contains("--plain-http"),
        "{err}"
    );
    let listed = ok(run(&["list", "-q", "--all"]));
    assert_eq!(listed.trim(), "web", "{listed}");
    assert_eq!(history().matches("\"revision\"").count(), 3);

    // A missing version names the versions there are, and records nothing.
    let err = one_error_line(from_registry(&["upgrade", "web"], "3.0.0"));
    assert!(
        err.contains(&format!("{chart} has no version 3.0.0")) && err.contains("1.1.0"),
        "{err}"
    );
    assert_eq!(history().matches("\"revision\"").count(), 3);
}

#[test]
fn repo_flag_uses_a_repository_nobody_added() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let (_nginx, url) = repository_with_shop(home);
    let packages = home.join("www/charts");

    let local = ok(rudder(
        home,
        &[
            "template",
            "web",
            packages.join("shop-1.0.0.tgz").to_str().unwrap(),
        ],
    ));
    // `rudder template web shop --repo URL --version V`.
    let from_repo = |version: &str| {
        let args = [
            "template",
            "web",
            "shop",
            "--repo",
            &url,
            "--version",
            version,
        ];
        rudder(home, &args)
    };
    let remote = ok(from_repo("1.0.0"));
    assert_eq!(remote, local);
    let shown = ok(rudder(home, &["show", "chart", "shop", "--repo", &url]));
    assert!(shown.contains("version: 1.1.0"), "{shown}");
    assert!(
        !home.join("config/repositories.yaml").exists(),
        "--repo must not add a repository"
    );

    let err = one_error_line(from_repo("9.9.9"));
    assert!(err.contains("9.9.9") && err.contains(&url), "{err}");
    for v in VERSIONS {
        assert!(err.contains(v), "{v} missing from: {err}");
    }
    let err = one_error_line(rudder(home, &["template", "web", "nope", "--repo", &url]));
    assert!(
        err.contains("\"nope\" not found") && err.contains(&url),
        "{err}"
    );
}

#[test]
fn command_line_credentials_go_only_to_the_charts_host() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let htpasswd = home.join("htpasswd");
    fs::write(&htpasswd, format!("{USER}:{{PLAIN}}{PASSWORD}\n")).unwrap();
    let auth = format!(
        "location / {{ auth_basic \"charts\"; auth_basic_user_file {}; }}",
        htpasswd.display()
    );
    // Host B (localhost) holds the packages behind the same credentials; host A
    // (127.0.0.1) serves an index whose chart URLs point at B.
    let root_b = home.join("www-b");
    let charts_b = root_b.join("charts");
    fs::create_dir_all(&charts_b).unwrap();
    shop_packages(&charts_b);
    let b = Nginx::start(&root_b, &auth);
    ok(rudder(
        home,
        &[
            "repo",
            "index",
            charts_b.to_str().unwrap(),
            "--url",
            &format!("http://localhost:{}/charts", b.port),
        ],
    ));
    let root_a = home.join("www-a");
    fs::create_dir_all(root_a.join("charts")).unwrap();
    fs::copy(
        charts_b.join("index.yaml"),
        root_a.join("charts/index.yaml"),
    )
    .unwrap();
    let a = Nginx::start(&root_a, &auth);
    let a_url = format!("{}/charts", a.url());
    let template = |extra: &[&str]| {
        rudder(
            home,
            &with(&["template", "web", "shop", "--repo", &a_url], extra),
        )
    };

    let err = one_error_line(template(&[]));
    assert!(err.contains("401") && err.contains(&a_url), "{err}");
    let creds = ["--username", USER, "--password", PASSWORD];
    // A's index is read with the credentials; B's package is asked for without them.
    let err = one_error_line(template(&creds));
    assert!(
        err.contains("401") && err.contains(&format!("localhost:{}", b.port)),
        "{err}"
    );
    assert!(a.access_log().contains(USER), "{}", a.access_log());
    assert!(
        !b.access_log().contains(USER),
        "credentials leaked to another host: {}",
        b.access_log()
    );
    // --pass-credentials sends them to B too.
    let out = ok(template(&with(&creds, &["--pass-credentials"])));
    assert!(out.contains("version: 1.1.0"), "{out}");
    assert!(b.access_log().contains(USER));
}

#[test]
fn registry_credentials_on_the_command_line_are_used_and_not_stored() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let registry = Registry::with_basic_auth(home);
    let remote = format!("oci://{}/charts", registry.host());
    let pkg = package(&home.join("pkgs"), "shop", "1.0.0");
    let creds = ["--username", USER, "--password", PASSWORD];
    ok(rudder(
        home,
        &with(
            &["push", pkg.to_str().unwrap(), &remote, "--plain-http"],
            &creds,
        ),
    ));
    let chart = format!("{remote}/shop");
    let template = |extra: &[&str]| {
        rudder(
            home,
            &with(&["template", "web", &chart, "--plain-http"], extra),
        )
    };

    let err = one_error_line(template(&[]));
    assert!(
        err.contains("401") && err.contains(&registry.host()),
        "{err}"
    );
    let err = one_error_line(template(&["--username", USER, "--password", "wrong"]));
    assert!(
        err.contains("401") && err.contains(&registry.host()),
        "{err}"
    );
    let out = ok(template(&creds));
    assert!(out.contains("name: web-shop"), "{out}");
    assert!(!home.join("config/registry/config.json").exists());
}
