//! Credentials and TLS against real nginx servers: basic auth, credentials withheld from
//! another host on a redirect or an absolute chart URL unless `--pass-credentials`
//! (helm's CVE-2021-32690), and HTTPS with a test CA: refused by default, accepted with
//! `--ca-file` or `--insecure-skip-tls-verify`, client certificates with `--cert-file`.

mod repo_support;

use repo_support::*;
use std::fs;
use std::path::{Path, PathBuf};

/// `root/charts` with two packages; returns the charts directory.
fn charts(root: &Path) -> PathBuf {
    let dir = root.join("charts");
    fs::create_dir_all(&dir).unwrap();
    package(&dir, "webapp", "1.0.0");
    package(&dir, "webapp", "1.1.0");
    dir
}

fn index(home: &Path, dir: &Path, url: &str) {
    ok(rudder(
        home,
        &["repo", "index", dir.to_str().unwrap(), "--url", url],
    ));
}

fn htpasswd(home: &Path) -> PathBuf {
    let path = home.join("htpasswd");
    fs::write(&path, "alice:{PLAIN}s3cret\n").unwrap();
    path
}

#[test]
fn basic_auth_repositories_need_their_credentials() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let root = home.join("www");
    let dir = charts(&root);
    let auth = format!(
        "location / {{ auth_basic \"charts\"; auth_basic_user_file {}; }}",
        htpasswd(home).display()
    );
    let server = Nginx::start(&root, &auth);
    let url = format!("{}/charts", server.url());
    index(home, &dir, &url);

    let err = fails(rudder(home, &["repo", "add", "private", &url]));
    assert!(err.contains("401") && err.contains("credentials"), "{err}");
    let err = fails(rudder(
        home,
        &[
            "repo",
            "add",
            "private",
            &url,
            "--username",
            "alice",
            "--password",
            "wrong",
        ],
    ));
    assert!(err.contains("401"), "{err}");
    assert!(!home.join("config/repositories.yaml").exists());

    let out = rudder_stdin(
        home,
        &[
            "repo",
            "add",
            "private",
            &url,
            "--username",
            "alice",
            "--password-stdin",
        ],
        "s3cret\n",
    );
    assert!(out.ok, "{}", out.stderr);
    let config = fs::read_to_string(home.join("config/repositories.yaml")).unwrap();
    assert!(config.contains("username: alice"), "{config}");
    ok(rudder(home, &["repo", "update"]));
    ok(rudder(
        home,
        &[
            "pull",
            "private/webapp",
            "-d",
            home.join("out").to_str().unwrap(),
        ],
    ));
    assert!(home.join("out/webapp-1.1.0.tgz").exists());
    assert!(server.access_log().contains("alice"));
}

#[test]
fn credentials_do_not_follow_a_redirect_or_a_chart_url_to_another_host() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let pass = htpasswd(home);
    let auth = format!(
        "auth_basic \"charts\"; auth_basic_user_file {};",
        pass.display()
    );
    // Host B (localhost) holds the packages, behind the same credentials.
    let root_b = home.join("www-b");
    let dir = charts(&root_b);
    let b = Nginx::start(&root_b, &format!("location / {{ {auth} }}"));
    let b_url = format!("http://localhost:{}/charts", b.port);

    // Host A (127.0.0.1) serves the index; its packages redirect to B.
    let root_a = home.join("www-a");
    fs::create_dir_all(root_a.join("charts")).unwrap();
    fs::create_dir_all(root_a.join("abs")).unwrap();
    let a_port = free_port();
    let a_url = format!("http://127.0.0.1:{a_port}/charts");
    index(home, &dir, &a_url);
    fs::copy(dir.join("index.yaml"), root_a.join("charts/index.yaml")).unwrap();
    // A second index on A lists absolute URLs on B.
    index(home, &dir, &b_url);
    fs::copy(dir.join("index.yaml"), root_a.join("abs/index.yaml")).unwrap();
    let _a = Nginx::start_with(
        &root_a,
        &format!(
            "location ~ \\.tgz$ {{ return 302 http://localhost:{}$request_uri; }}\n    location / {{ {auth} }}",
            b.port
        ),
        None,
        a_port,
    );
    let abs_url = format!("http://127.0.0.1:{a_port}/abs");

    let creds = ["--username", "alice", "--password", "s3cret"];
    for (name, url) in [("redirected", &a_url), ("absolute", &abs_url)] {
        let mut add = vec!["repo", "add", name, url.as_str()];
        add.extend(creds);
        ok(rudder(home, &add));
        let err = fails(rudder(
            home,
            &["pull", &format!("{name}/webapp"), "-d", "out"],
        ));
        assert!(
            err.contains("401") && err.contains(&format!("localhost:{}", b.port)),
            "{name}: {err}"
        );
    }
    assert!(
        !b.access_log().contains("alice"),
        "credentials leaked to another host: {}",
        b.access_log()
    );

    // With --pass-credentials the user allows it.
    for (name, url) in [("redirected2", &a_url), ("absolute2", &abs_url)] {
        let mut add = vec!["repo", "add", name, url.as_str(), "--pass-credentials"];
        add.extend(creds);
        ok(rudder(home, &add));
        let out = home.join(name);
        ok(rudder(
            home,
            &[
                "pull",
                &format!("{name}/webapp"),
                "-d",
                out.to_str().unwrap(),
            ],
        ));
        assert!(out.join("webapp-1.1.0.tgz").exists());
    }
    assert!(b.access_log().contains("alice"));
}

#[test]
fn tls_is_verified_by_default_and_trusts_a_given_ca() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let pki = pki(home);
    let root = home.join("www");
    let dir = charts(&root);
    let port = free_port();
    let url = format!("https://127.0.0.1:{port}/charts");
    index(home, &dir, &url);
    let _server = Nginx::start_with(&root, "", Some(&pki.server), port);

    let err = fails(rudder(home, &["repo", "add", "tls", &url]));
    assert!(
        err.contains(&format!("127.0.0.1:{port}")) && err.to_lowercase().contains("certificate"),
        "{err}"
    );
    let ca = pki.ca.to_str().unwrap();
    ok(rudder(home, &["repo", "add", "tls", &url, "--ca-file", ca]));
    ok(rudder(
        home,
        &[
            "pull",
            "tls/webapp",
            "-d",
            home.join("out").to_str().unwrap(),
        ],
    ));
    assert!(home.join("out/webapp-1.1.0.tgz").exists());
    ok(rudder(
        home,
        &[
            "repo",
            "add",
            "insecure",
            &url,
            "--insecure-skip-tls-verify",
        ],
    ));
    ok(rudder(
        home,
        &[
            "pull",
            "insecure/webapp",
            "--version",
            "1.0.0",
            "-d",
            home.join("out").to_str().unwrap(),
        ],
    ));
    assert!(home.join("out/webapp-1.0.0.tgz").exists());

    // A CA file that is not PEM is named in the error.
    let bogus = home.join("bogus-ca.pem");
    fs::write(&bogus, "not a certificate").unwrap();
    let err = fails(rudder(
        home,
        &[
            "repo",
            "add",
            "bogus",
            &url,
            "--ca-file",
            bogus.to_str().unwrap(),
        ],
    ));
    assert!(err.contains("bogus-ca.pem"), "{err}");
}

#[test]
fn client_certificates_are_presented_when_the_server_requires_them() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let pki = pki(home);
    let root = home.join("www");
    let dir = charts(&root);
    let port = free_port();
    let url = format!("https://127.0.0.1:{port}/charts");
    index(home, &dir, &url);
    let _server = Nginx::start_with(
        &root,
        &format!(
            "ssl_client_certificate {};\n    ssl_verify_client on;",
            pki.ca.display()
        ),
        Some(&pki.server),
        port,
    );
    let ca = pki.ca.to_str().unwrap();
    let err = fails(rudder(
        home,
        &["repo", "add", "mtls", &url, "--ca-file", ca],
    ));
    assert!(
        err.contains("400"),
        "nginx refuses a client without a certificate: {err}"
    );
    ok(rudder(
        home,
        &[
            "repo",
            "add",
            "mtls",
            &url,
            "--ca-file",
            ca,
            "--cert-file",
            pki.client.cert.to_str().unwrap(),
            "--key-file",
            pki.client.key.to_str().unwrap(),
        ],
    ));
    ok(rudder(
        home,
        &[
            "pull",
            "mtls/webapp",
            "-d",
            home.join("out").to_str().unwrap(),
        ],
    ));
    assert!(home.join("out/webapp-1.1.0.tgz").exists());
}

#[test]
fn a_password_written_in_the_repository_url_is_never_shown() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let root = home.join("www");
    let dir = charts(&root);
    let auth = format!(
        "location / {{ auth_basic \"charts\"; auth_basic_user_file {}; }}",
        htpasswd(home).display()
    );
    let server = Nginx::start(&root, &auth);
    // Relative chart URLs: they resolve under the repository URL, credentials included.
    ok(rudder(home, &["repo", "index", dir.to_str().unwrap()]));
    let host = format!("127.0.0.1:{}", server.port);
    let url = format!("http://alice:s3cret@{host}/charts");
    let shown = format!("http://alice:xxxxx@{host}/charts");
    let secret_free = |what: &str, r: &Run| {
        let all = format!("{}{}", r.stdout, r.stderr);
        assert!(!all.contains("s3cret"), "{what} shows the password: {all}");
        all
    };

    // The credentials in the URL work, and are not shown.
    let r = rudder(home, &["repo", "add", "private", &url]);
    assert!(r.ok, "{}", r.stderr);
    secret_free("repo add", &r);
    for format in ["table", "json", "yaml"] {
        let r = rudder(home, &["repo", "list", "-o", format]);
        assert!(r.ok, "{}", r.stderr);
        let out = secret_free("repo list", &r);
        assert!(out.contains(&shown), "{format}: {out}");
    }
    ok(rudder(
        home,
        &[
            "pull",
            "private/webapp",
            "-d",
            home.join("out").to_str().unwrap(),
        ],
    ));
    assert!(home.join("out/webapp-1.1.0.tgz").exists());

    // Errors name the URL redacted: a wrong password, a missing chart, a missing package.
    let wrong = format!("http://alice:wr0ng@{host}/charts");
    let r = rudder(home, &["repo", "add", "wrong", &wrong]);
    assert!(!r.ok && r.stderr.contains("401"), "{}", r.stderr);
    assert!(!r.stderr.contains("wr0ng"), "{}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("http://alice:xxxxx@{host}/charts")),
        "{}",
        r.stderr
    );
    let r = rudder(home, &["pull", "nothing", "--repo", &url, "-d", "out"]);
    assert!(!r.ok);
    let err = secret_free("pull --repo", &r);
    assert!(err.contains("nothing") && err.contains(&shown), "{err}");
    let r = rudder(
        home,
        &["pull", &format!("{url}/missing-1.0.0.tgz"), "-d", "out"],
    );
    assert!(!r.ok);
    let err = secret_free("pull URL", &r);
    assert!(err.contains("404") && err.contains(&shown), "{err}");

    // An unreachable repository: `repo add` and `repo update` name it without the password.
    drop(server);
    let r = rudder(home, &["repo", "update"]);
    assert!(!r.ok);
    let out = secret_free("repo update", &r);
    assert!(out.contains(&shown), "{out}");
    let closed = format!("http://bob:hunter2@127.0.0.1:{}/charts", free_port());
    let r = rudder(home, &["repo", "add", "down", &closed]);
    assert!(!r.ok);
    assert!(!r.stderr.contains("hunter2"), "{}", r.stderr);
    assert!(r.stderr.contains("bob:xxxxx@127.0.0.1"), "{}", r.stderr);
}

#[cfg(unix)]
#[test]
fn configuration_and_cache_directories_are_private_to_their_owner() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let root = home.join("www");
    let dir = charts(&root);
    let server = Nginx::start(&root, "");
    let url = format!("{}/charts", server.url());
    index(home, &dir, &url);
    let mode = |p: &str| fs::metadata(home.join(p)).unwrap().permissions().mode() & 0o777;

    // rudder runs with config and cache under `home/config` and `home/cache`: none exist yet.
    let r = rudder_umask(
        home,
        "022",
        &[
            "repo",
            "add",
            "stable",
            &url,
            "--username",
            "u",
            "--password",
            "p",
        ],
    );
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(mode("config"), 0o700, "the configuration directory");
    assert_eq!(mode("config/repositories.yaml"), 0o600);
    assert_eq!(mode("cache"), 0o700, "the cache directory");
    assert_eq!(mode("cache/repository"), 0o700);
    let r = rudder_umask(home, "022", &["template", "rel", "stable/webapp"]);
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(mode("cache/content"), 0o700);

    // A repositories.yaml left readable by others is made private on the next write.
    fs::set_permissions(
        home.join("config/repositories.yaml"),
        fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let r = rudder_umask(home, "022", &["repo", "add", "second", &url]);
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(mode("config/repositories.yaml"), 0o600);
}
