//! `dependency update/build/list` with every kind of repository — a URL, an `@alias` of a
//! configured repository, `oci://` (a real docker-registry) and `file://` — against a real
//! nginx. The lock rudder writes carries the same digest helm computes (helm accepts it),
//! `list` prints what helm prints, and every bad input leaves the chart untouched.

mod repo_support;

use repo_support::*;
use std::fs;
use std::path::{Path, PathBuf};

struct Repo {
    dir: PathBuf,
    url: String,
    _server: Nginx,
}

fn repo(home: &Path, packages: &[(&str, &str)]) -> Repo {
    let root = home.join("www");
    let dir = root.join("charts");
    fs::create_dir_all(&dir).unwrap();
    for (name, version) in packages {
        package(&dir, name, version);
    }
    let server = Nginx::start(&root, "");
    let url = format!("{}/charts", server.url());
    ok(rudder(
        home,
        &["repo", "index", dir.to_str().unwrap(), "--url", &url],
    ));
    Repo {
        dir,
        url,
        _server: server,
    }
}

/// An umbrella chart `app` with the given `dependencies:` YAML.
fn umbrella(home: &Path, deps: &str) -> PathBuf {
    let dir = make_chart(home, "app", "1.0.0", &format!("dependencies:\n{deps}"));
    fs::write(dir.join("values.yaml"), "greeting: hello\n").unwrap();
    dir
}

fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn update_resolves_every_kind_of_repository_and_locks_what_helm_would() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let r = repo(
        home,
        &[
            ("db", "1.0.0"),
            ("db", "1.0.4"),
            ("db", "1.1.0"),
            ("cache", "0.3.0"),
            ("cache", "0.4.0"),
        ],
    );
    ok(rudder(home, &["repo", "add", "stable", &r.url]));
    let h = helm(home, &["repo", "add", "stable", &r.url]);
    assert!(h.ok, "{}", h.stderr);
    let registry = Registry::start("");
    let queue = package(&home.join("pkgs"), "queue", "0.2.0");
    let oci = format!("oci://{}/charts", registry.host());
    ok(rudder(
        home,
        &["push", queue.to_str().unwrap(), &oci, "--plain-http"],
    ));
    let lib = make_chart(home, "lib", "0.1.3", "");
    let deps = format!(
        "- name: db\n  version: ~1.0\n  repository: {url}\n- name: cache\n  version: ^0.3\n  repository: \"@stable\"\n- name: lib\n  version: 0.1.x\n  repository: file://{lib}\n- name: queue\n  version: \">=0.1.0 <1.0.0\"\n  repository: {oci}\n- name: db\n  alias: newdb\n  version: 1.1.0\n  repository: {url}\n",
        url = r.url,
        lib = lib.display()
    );
    let chart = umbrella(home, &deps);
    let out = ok(rudder(
        home,
        &[
            "dependency",
            "update",
            chart.to_str().unwrap(),
            "--plain-http",
        ],
    ));
    assert!(out.contains("Saving 5 charts"), "{out}");
    assert_eq!(
        names_in(&chart.join("charts")),
        [
            "cache-0.3.0.tgz",
            "db-1.0.4.tgz",
            "db-1.1.0.tgz",
            "lib-0.1.3.tgz",
            "queue-0.2.0.tgz"
        ]
    );
    assert_eq!(
        fs::read(chart.join("charts/db-1.0.4.tgz")).unwrap(),
        fs::read(r.dir.join("db-1.0.4.tgz")).unwrap()
    );
    let lock = fs::read_to_string(chart.join("Chart.lock")).unwrap();
    let lock_yaml: serde_yaml::Value = serde_yaml::from_str(&lock).unwrap();
    let versions: Vec<&str> = lock_yaml["dependencies"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|d| d["version"].as_str().unwrap())
        .collect();
    assert_eq!(versions, ["1.0.4", "0.3.0", "0.1.3", "0.2.0", "1.1.0"]);
    // An @alias is locked as its URL.
    assert_eq!(lock_yaml["dependencies"][1]["repository"], r.url.as_str());

    // helm resolves the same versions and computes the same lock digest.
    let twin = home.join("twin");
    fs::create_dir_all(&twin).unwrap();
    let twin_chart = twin.join("app");
    fs::create_dir_all(twin_chart.join("templates")).unwrap();
    for f in ["Chart.yaml", "values.yaml", "templates/cm.yaml"] {
        fs::copy(chart.join(f), twin_chart.join(f)).unwrap();
    }
    let h = helm(
        home,
        &[
            "dependency",
            "update",
            twin_chart.to_str().unwrap(),
            "--plain-http",
        ],
    );
    assert!(h.ok, "helm dependency update: {}", h.stderr);
    let helm_lock: serde_yaml::Value =
        serde_yaml::from_str(&fs::read_to_string(twin_chart.join("Chart.lock")).unwrap()).unwrap();
    assert_eq!(helm_lock["dependencies"], lock_yaml["dependencies"]);
    assert_eq!(helm_lock["digest"], lock_yaml["digest"]);
    assert_eq!(
        names_in(&twin_chart.join("charts")),
        names_in(&chart.join("charts"))
    );

    // helm accepts rudder's lock: `helm dependency build` does not call it out of sync.
    fs::copy(chart.join("Chart.lock"), twin_chart.join("Chart.lock")).unwrap();
    fs::remove_dir_all(twin_chart.join("charts")).unwrap();
    let h = helm(
        home,
        &[
            "dependency",
            "build",
            twin_chart.to_str().unwrap(),
            "--plain-http",
        ],
    );
    assert!(
        h.ok,
        "helm dependency build with rudder's lock: {}",
        h.stderr
    );

    // The umbrella renders with its subcharts.
    let out = ok(rudder(home, &["template", "rel", chart.to_str().unwrap()]));
    for sub in ["rel-db", "rel-cache", "rel-lib", "rel-queue"] {
        assert!(out.contains(sub), "{sub} missing from:\n{out}");
    }

    // `dependency build` restores exactly the locked packages.
    let before: Vec<Vec<u8>> = names_in(&chart.join("charts"))
        .iter()
        .map(|n| fs::read(chart.join("charts").join(n)).unwrap())
        .collect();
    fs::remove_dir_all(chart.join("charts")).unwrap();
    package(&r.dir, "db", "1.0.9");
    ok(rudder(
        home,
        &["repo", "index", r.dir.to_str().unwrap(), "--url", &r.url],
    ));
    let out = ok(rudder(
        home,
        &[
            "dependency",
            "build",
            chart.to_str().unwrap(),
            "--plain-http",
        ],
    ));
    assert!(out.contains("Saving 5 charts"), "{out}");
    let after: Vec<Vec<u8>> = names_in(&chart.join("charts"))
        .iter()
        .map(|n| fs::read(chart.join("charts").join(n)).unwrap())
        .collect();
    assert_eq!(after, before, "build ignores the newer db 1.0.9");
    // …and an update moves to it, deleting the outdated package.
    ok(rudder(
        home,
        &[
            "dependency",
            "update",
            chart.to_str().unwrap(),
            "--plain-http",
        ],
    ));
    let names = names_in(&chart.join("charts"));
    assert!(names.contains(&"db-1.0.9.tgz".to_string()), "{names:?}");
    assert!(!names.contains(&"db-1.0.4.tgz".to_string()), "{names:?}");

    // A changed Chart.yaml makes the lock out of sync.
    let yaml = fs::read_to_string(chart.join("Chart.yaml")).unwrap();
    fs::write(chart.join("Chart.yaml"), yaml.replace("^0.3", "^0.4")).unwrap();
    let err = fails(rudder(
        home,
        &["dependency", "build", chart.to_str().unwrap()],
    ));
    assert!(
        err.contains("out of sync") && err.contains("Chart.lock"),
        "{err}"
    );
}

#[test]
fn dependency_list_shows_what_helm_shows() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let deps = "- name: okpkg\n  version: ^1.0.0\n  repository: https://charts.example.test\n- name: old\n  version: \">=2.0.0\"\n  repository: https://charts.example.test\n- name: gone\n  version: 1.0.0\n  repository: https://charts.example.test\n- name: local\n  version: 0.1.x\n  repository: file://charts/local\n";
    let chart = umbrella(home, deps);
    let charts = chart.join("charts");
    fs::create_dir_all(&charts).unwrap();
    package(&charts, "okpkg", "1.4.0");
    package(&charts, "old", "1.0.0");
    let local = make_chart(home, "local", "0.1.2", "");
    let dest = charts.join("local");
    fs::create_dir_all(dest.join("templates")).unwrap();
    for f in ["Chart.yaml", "values.yaml", "templates/cm.yaml"] {
        fs::copy(local.join(f), dest.join(f)).unwrap();
    }
    let ours = ok(rudder(
        home,
        &["dependency", "list", chart.to_str().unwrap()],
    ));
    for (name, status) in [
        ("okpkg", "ok"),
        ("old", "wrong version"),
        ("gone", "missing"),
        ("local", "unpacked"),
    ] {
        assert!(
            ours.lines()
                .any(|l| l.starts_with(name) && l.trim_end().ends_with(status)),
            "{name} {status}: {ours}"
        );
    }
    let h = helm(home, &["dependency", "list", chart.to_str().unwrap()]);
    assert!(h.ok, "{}", h.stderr);
    assert_eq!(ours, h.stdout);
}

#[test]
fn bad_dependencies_fail_clearly_and_leave_the_chart_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let r = repo(
        home,
        &[
            ("db", "1.0.0"),
            ("db", "1.2.0"),
            ("tampered", "1.0.0"),
            ("corrupt", "1.0.0"),
        ],
    );
    // Tamper after indexing; make "corrupt" broken but with a matching index digest.
    let other = package_with(
        &home.join("elsewhere"),
        "tampered",
        "1.0.0",
        "keywords: [x]\n",
    );
    fs::copy(&other, r.dir.join("tampered-1.0.0.tgz")).unwrap();
    let index_path = r.dir.join("index.yaml");
    let index = fs::read_to_string(&index_path).unwrap();
    let good_digest = sha256_file(&r.dir.join("corrupt-1.0.0.tgz"));
    let mut bytes = fs::read(r.dir.join("corrupt-1.0.0.tgz")).unwrap();
    bytes.truncate(bytes.len() - 40);
    fs::write(r.dir.join("corrupt-1.0.0.tgz"), &bytes).unwrap();
    fs::write(
        &index_path,
        index.replace(&good_digest, &rudder::repo::sha256_hex(&bytes)),
    )
    .unwrap();

    let auth_root = home.join("auth-www");
    fs::create_dir_all(auth_root.join("charts")).unwrap();
    fs::copy(&index_path, auth_root.join("charts/index.yaml")).unwrap();
    fs::write(home.join("htpasswd"), "alice:{PLAIN}pw\n").unwrap();
    let auth_server = Nginx::start(
        &auth_root,
        &format!(
            "location / {{ auth_basic \"x\"; auth_basic_user_file {}; }}",
            home.join("htpasswd").display()
        ),
    );
    // An index whose "db" is really another chart.
    fs::create_dir_all(home.join("www/fake")).unwrap();
    fs::write(
        home.join("www/fake/index.yaml"),
        format!(
            "apiVersion: v1\nentries:\n  db:\n  - name: db\n    version: 9.0.0\n    urls: [{}/tampered-1.0.0.tgz]\n    digest: {}\n",
            r.url,
            sha256_file(&r.dir.join("tampered-1.0.0.tgz"))
        ),
    )
    .unwrap();
    let fake = r.url.replace("/charts", "/fake");
    let closed = format!("http://127.0.0.1:{}/charts", free_port());
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            "- name: db\n  version: 1.0.0\n  repository: \"@nope\"\n".into(),
            vec!["@nope", "rudder repo add nope"],
        ),
        (
            format!(
                "- name: db\n  version: \">=2.0.0\"\n  repository: {}\n",
                r.url
            ),
            vec![">=2.0.0", "1.2.0, 1.0.0"],
        ),
        (
            format!(
                "- name: nochart\n  version: 1.0.0\n  repository: {}\n",
                r.url
            ),
            vec!["nochart"],
        ),
        (
            format!(
                "- name: db\n  version: 1.0.0\n  repository: {}/charts\n",
                auth_server.url()
            ),
            vec!["401", "index.yaml"],
        ),
        (
            format!(
                "- name: db\n  version: 1.0.0\n  repository: {}/missing\n",
                r.url
            ),
            vec!["404", "missing/index.yaml"],
        ),
        (
            format!("- name: db\n  version: 1.0.0\n  repository: {closed}\n"),
            vec!["cannot reach", "127.0.0.1"],
        ),
        (
            format!(
                "- name: tampered\n  version: 1.0.0\n  repository: {}\n",
                r.url
            ),
            vec!["digest mismatch", "tampered-1.0.0.tgz"],
        ),
        (
            format!(
                "- name: corrupt\n  version: 1.0.0\n  repository: {}\n",
                r.url
            ),
            vec!["corrupt-1.0.0.tgz"],
        ),
        (
            format!("- name: db\n  version: 9.0.0\n  repository: {fake}\n"),
            vec!["is a chart named \"tampered\""],
        ),
        (
            "- name: db\n  version: 1.0.0\n  repository: file://does/not/exist\n".into(),
            vec!["file://does/not/exist"],
        ),
        (
            "- name: vend\n  version: 1.0.0\n  repository: \"\"\n".into(),
            vec!["charts/vend not found"],
        ),
        (
            "- name: db\n  version: 1.0.0\n  repository: git://example.test\n".into(),
            vec!["git://example.test"],
        ),
    ];
    for (i, (deps, expected)) in cases.iter().enumerate() {
        // A good dependency first: it must not be written either.
        let all = format!(
            "- name: db\n  version: 1.2.0\n  repository: {}\n{deps}",
            r.url
        );
        let chart = umbrella(&home.join(format!("case{i}")), &all);
        let err = fails(rudder(
            home,
            &["dependency", "update", chart.to_str().unwrap()],
        ));
        for e in expected {
            assert!(err.contains(e), "case {i}: expected {e:?} in: {err}");
        }
        assert_eq!(
            err.trim().lines().count(),
            1,
            "case {i}: one clear line: {err}"
        );
        assert!(
            !chart.join("Chart.lock").exists(),
            "case {i}: a lock was written"
        );
        assert!(
            names_in(&chart.join("charts")).is_empty(),
            "case {i}: charts/ was written: {:?}",
            names_in(&chart.join("charts"))
        );
    }
    // With the repository configured with its credentials, the same dependency resolves.
    let auth_url = format!("{}/charts", auth_server.url());
    ok(rudder(
        home,
        &[
            "repo",
            "add",
            "private",
            &auth_url,
            "--username",
            "alice",
            "--password",
            "pw",
        ],
    ));
    let chart = umbrella(
        &home.join("authorized"),
        &format!("- name: db\n  version: ^1.0.0\n  repository: {auth_url}\n"),
    );
    ok(rudder(
        home,
        &["dependency", "update", chart.to_str().unwrap()],
    ));
    assert_eq!(names_in(&chart.join("charts")), ["db-1.2.0.tgz"]);
    // --skip-refresh uses the cached index: a version published since is not seen.
    package(&r.dir, "db", "1.3.0");
    ok(rudder(
        home,
        &["repo", "index", r.dir.to_str().unwrap(), "--url", &r.url],
    ));
    fs::copy(&index_path, auth_root.join("charts/index.yaml")).unwrap();
    ok(rudder(
        home,
        &[
            "dependency",
            "update",
            chart.to_str().unwrap(),
            "--skip-refresh",
        ],
    ));
    assert_eq!(names_in(&chart.join("charts")), ["db-1.2.0.tgz"]);
    ok(rudder(
        home,
        &["dependency", "update", chart.to_str().unwrap()],
    ));
    assert_eq!(names_in(&chart.join("charts")), ["db-1.3.0.tgz"]);

    // A chart whose dependencies are missing does not render, naming them.
    let chart = umbrella(
        &home.join("unbuilt"),
        &format!("- name: db\n  version: 1.2.0\n  repository: {}\n", r.url),
    );
    let err = fails(rudder(home, &["template", "rel", chart.to_str().unwrap()]));
    assert!(err.contains("db"), "{err}");
}

#[test]
fn vendored_dependencies_are_locked_as_helm_locks_them() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let deps = "- name: local\n  version: ^0.1.0\n  repository: \"\"\n";
    let mut digests = Vec::new();
    for tool in ["rudder", "helm"] {
        let chart = umbrella(&home.join(tool), deps);
        let local = make_chart(&home.join(format!("{tool}-src")), "local", "0.1.5", "");
        let dest = chart.join("charts/local");
        fs::create_dir_all(dest.join("templates")).unwrap();
        for f in ["Chart.yaml", "values.yaml", "templates/cm.yaml"] {
            fs::copy(local.join(f), dest.join(f)).unwrap();
        }
        let args = ["dependency", "update", chart.to_str().unwrap()];
        if tool == "rudder" {
            let out = ok(rudder(home, &args));
            assert!(out.contains("did not declare a repository"), "{out}");
        } else {
            let h = helm(home, &args);
            assert!(h.ok, "{}", h.stderr);
        }
        let lock: serde_yaml::Value =
            serde_yaml::from_str(&fs::read_to_string(chart.join("Chart.lock")).unwrap()).unwrap();
        assert_eq!(lock["dependencies"][0]["version"], "^0.1.0");
        digests.push(lock["digest"].clone());
    }
    assert_eq!(digests[0], digests[1]);
}
