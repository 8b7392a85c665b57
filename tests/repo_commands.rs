//! The repository commands end to end against a real nginx: `repo add/list/update/remove`,
//! `search repo` (compared with helm's answers, including a table of version constraints),
//! `pull` (save, untar, digest verification) and `template` of a `repo/chart --version`.
//! Every bad input fails with one clear error and writes nothing.

mod repo_support;

use repo_support::*;
use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// A served repository: packages in `root/charts`, indexed by rudder with the served URL.
struct Served {
    dir: PathBuf,
    server: Nginx,
    url: String,
}

fn serve(tmp: &Path, packages: &[(&str, &str, &str)]) -> Served {
    let root = tmp.join("www");
    let dir = root.join("charts");
    fs::create_dir_all(&dir).unwrap();
    for (name, version, extra) in packages {
        package_with(&dir, name, version, extra);
    }
    let server = Nginx::start(&root, "");
    let url = format!("{}/charts", server.url());
    reindex(tmp, &dir, &url);
    Served { dir, server, url }
}

fn reindex(home: &Path, dir: &Path, url: &str) {
    let r = rudder(
        home,
        &["repo", "index", dir.to_str().unwrap(), "--url", url],
    );
    assert!(r.ok, "{}", r.stderr);
}

#[test]
fn repo_add_list_update_remove() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let s = serve(home, &[("webapp", "1.0.0", "")]);
    let out = ok(rudder(home, &["repo", "add", "stable", &s.url]));
    assert_eq!(out, "\"stable\" has been added to your repositories\n");
    let config = home.join("config/repositories.yaml");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&config).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "repositories.yaml may hold passwords");
    }
    assert!(home.join("cache/repository/stable-index.yaml").exists());
    assert_eq!(
        fs::read_to_string(home.join("cache/repository/stable-charts.txt")).unwrap(),
        "webapp\n"
    );

    // Same again: nothing to do. Same name, other URL: refused unless --force-update.
    let out = ok(rudder(home, &["repo", "add", "stable", &s.url]));
    assert!(out.contains("already exists with the same configuration, skipping"));
    let before = fs::read(&config).unwrap();
    let err = fails(rudder(
        home,
        &["repo", "add", "stable", &format!("{}/", s.url)],
    ));
    assert!(
        err.contains("repository name (stable) already exists"),
        "{err}"
    );
    assert_eq!(fs::read(&config).unwrap(), before);
    let slashed = format!("{}/", s.url);
    ok(rudder(
        home,
        &["repo", "add", "stable", &slashed, "--force-update"],
    ));
    assert!(fs::read_to_string(&config).unwrap().contains(&slashed));
    ok(rudder(
        home,
        &["repo", "add", "stable", &s.url, "--force-update"],
    ));
    ok(rudder(home, &["repo", "add", "other", &s.url]));

    let table = ok(rudder(home, &["repo", "list"]));
    assert!(table.starts_with("NAME  \tURL"), "{table}");
    assert!(table.contains(&format!("\nother \t{}", s.url)), "{table}");
    let json: serde_json::Value =
        serde_json::from_str(&ok(rudder(home, &["repo", "list", "-o", "json"]))).unwrap();
    assert_eq!(json[1]["name"], "other");
    assert_eq!(json[1]["url"], s.url.as_str());

    // helm reads rudder's repositories.yaml as its own.
    let h = helm(
        home,
        &[
            "repo",
            "list",
            "-o",
            "json",
            "--repository-config",
            config.to_str().unwrap(),
        ],
    );
    assert!(h.ok, "{}", h.stderr);
    let helm_json: serde_json::Value = serde_json::from_str(&h.stdout).unwrap();
    assert_eq!(helm_json, json);
    // …and rudder reads helm's.
    let h = helm(home, &["repo", "add", "fromhelm", &s.url]);
    assert!(h.ok, "{}", h.stderr);
    let helm_config = home.join("helm/config/repositories.yaml");
    let r = rudder_env(
        home,
        &["repo", "list", "-o", "json"],
        &[("RUDDER_REPOSITORY_CONFIG", helm_config.to_str().unwrap())],
    );
    assert!(
        r.ok && r.stdout.contains("fromhelm"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    let h = helm(
        home,
        &[
            "repo",
            "list",
            "--repository-config",
            config.to_str().unwrap(),
        ],
    );
    assert_eq!(h.stdout, table, "the table reads like helm's");

    // A new version appears after `repo update`, not before.
    package(&s.dir, "webapp", "1.1.0");
    reindex(home, &s.dir, &s.url);
    let search = |home: &Path| {
        ok(rudder(
            home,
            &["search", "repo", "stable/webapp", "-o", "json"],
        ))
    };
    assert!(search(home).contains("\"1.0.0\""));
    let out = ok(rudder(home, &["repo", "update", "stable"]));
    assert!(
        out.contains("...Successfully got an update from the \"stable\" chart repository"),
        "{out}"
    );
    assert!(search(home).contains("\"1.1.0\""));

    let out = ok(rudder(home, &["repo", "remove", "stable"]));
    assert_eq!(out, "\"stable\" has been removed from your repositories\n");
    assert!(!home.join("cache/repository/stable-index.yaml").exists());
    let err = fails(rudder(home, &["repo", "remove", "stable"]));
    assert!(err.contains("no repository named \"stable\""), "{err}");
    ok(rudder(home, &["repo", "remove", "other"]));
    let err = fails(rudder(home, &["repo", "list"]));
    assert!(err.contains("no repositories to show"), "{err}");
    drop(s.server);
}

#[test]
fn repo_update_reports_each_failure_and_keeps_the_old_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let s = serve(home, &[("webapp", "1.0.0", "")]);
    ok(rudder(home, &["repo", "add", "good", &s.url]));
    ok(rudder(home, &["repo", "add", "flaky", &s.url]));
    let flaky_cache = home.join("cache/repository/flaky-index.yaml");
    let cached = fs::read(&flaky_cache).unwrap();
    // Point "flaky" elsewhere by editing the file as a user would.
    let config = home.join("config/repositories.yaml");
    let text = fs::read_to_string(&config).unwrap();
    let moved = text.replacen(
        &format!(
            "name: flaky\n  pass_credentials_all: false\n  password: \"\"\n  url: {}",
            s.url
        ),
        &format!(
            "name: flaky\n  pass_credentials_all: false\n  password: \"\"\n  url: {}/missing",
            s.url
        ),
        1,
    );
    assert_ne!(moved, text, "{text}");
    fs::write(&config, moved).unwrap();
    let r = rudder(home, &["repo", "update"]);
    assert!(!r.ok);
    assert!(
        r.stdout
            .contains("Successfully got an update from the \"good\""),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains("Unable to get an update from the \"flaky\"")
            && r.stdout.contains("404"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("[flaky]"), "{}", r.stderr);
    assert_eq!(fs::read(&flaky_cache).unwrap(), cached);
}

#[test]
fn repo_add_refuses_bad_repositories_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let root = home.join("www");
    fs::create_dir_all(root.join("notrepo")).unwrap();
    fs::create_dir_all(root.join("broken")).unwrap();
    fs::write(
        root.join("broken/index.yaml"),
        "apiVersion: v1\nentries: [oops\n",
    )
    .unwrap();
    fs::write(root.join("notrepo/index.yaml"), "<html>hello</html>\n").unwrap();
    let server = Nginx::start(&root, "");
    let closed = format!("http://127.0.0.1:{}/charts", free_port());
    let cases = [
        (format!("{}/nothing", server.url()), "404"),
        (format!("{}/broken", server.url()), "broken/index.yaml"),
        (format!("{}/notrepo", server.url()), "notrepo/index.yaml"),
        (closed.clone(), "127.0.0.1"),
        ("ftp://127.0.0.1/x".to_string(), "ftp"),
        ("oci://127.0.0.1/charts".to_string(), "registry login"),
    ];
    for (url, expected) in &cases {
        let err = fails(rudder(home, &["repo", "add", "bad", url]));
        assert!(
            err.contains(url.as_str()) && err.contains(expected),
            "{url}: {err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "one clear line: {err}");
    }
    let err = fails(rudder(home, &["repo", "add", "a/b", &server.url()]));
    assert!(err.contains("a/b") && err.contains("'/'"), "{err}");
    assert!(!home.join("config/repositories.yaml").exists());
    assert!(!home.join("cache/repository").exists());
}

/// The versions every search/constraint case runs against.
const VERSIONS: &[&str] = &[
    "0.1.0",
    "0.9.9",
    "1.0.0-alpha.1",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.2.0",
    "1.2.3",
    "1.2.10",
    "1.3.0-beta.2",
    "1.3.0",
    "1.10.0",
    "2.0.0-rc.1",
    "2.0.0",
    "2.1.5",
    "3.0.0-alpha",
];

/// Constraints asked of both rudder and helm (`search repo --versions --version C`).
const CONSTRAINTS: &[&str] = &[
    "1.2.3",
    "=1.2.3",
    "!=1.2.3",
    ">1.2.3",
    ">=1.2.3",
    "<1.2.3",
    "<=1.2.3",
    "~1.2",
    "~1.2.0",
    "~1",
    "^1.2.3",
    "^1.2",
    "^0.1.0",
    "^0",
    "1.2.x",
    "1.x",
    "1.*",
    "*",
    ">=1.0 <2.0",
    ">=1.0, <2.0",
    "1.0.0 - 1.3.0",
    "1.2 - 2",
    "<1.0.0 || >=2.1",
    "~1.2 || ^2",
    ">=1.0.0-0",
    ">=1.0.0-rc.0 <1.0.0",
    "^1.3.0-0",
    "~2.0.0-0",
    ">0.0.0-0",
    "2.0.0-rc.1",
    "<1",
    ">3",
    "~0.9",
    "^2.1.5",
    "1.10.x",
];

fn search_pairs(json: &str) -> Vec<(String, String)> {
    let v: Vec<serde_json::Value> = serde_json::from_str(json).expect("JSON search output");
    v.iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["version"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn search_repo_answers_as_helm_does_for_keywords_flags_and_35_constraints() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let mut packages: Vec<(&str, &str, &str)> = VERSIONS.iter().map(|v| ("web", *v, "")).collect();
    packages.push(("db", "5.0.0", "keywords: [postgres, storage]\n"));
    packages.push(("db", "5.1.0-rc.1", "keywords: [postgres, storage]\n"));
    packages.push((
        "cache",
        "0.0.1",
        "description: An in-memory web accelerator\n",
    ));
    let s = serve(home, &packages);
    ok(rudder(home, &["repo", "add", "demo", &s.url]));
    let h = helm(home, &["repo", "add", "demo", &s.url]);
    assert!(h.ok, "{}", h.stderr);

    let mut cases: Vec<Vec<String>> = [
        vec![],
        vec!["web"],
        vec!["WEB"],
        vec!["postgres"],
        vec!["accelerator"],
        vec!["demo/"],
        vec!["--versions"],
        vec!["--devel"],
        vec!["--devel", "--versions"],
        vec!["db", "--devel"],
        vec!["nothing-matches"],
        vec!["--regexp", "^demo/(db|cache)$"],
        vec!["-r", "in-memory|postgres", "--devel"],
    ]
    .iter()
    .map(|c| c.iter().map(|s| s.to_string()).collect())
    .collect();
    for c in CONSTRAINTS {
        cases.push(vec![
            "demo/web".into(),
            "--versions".into(),
            "--version".into(),
            c.to_string(),
        ]);
    }
    let mut compared = 0;
    for case in &cases {
        let mut args = vec!["search", "repo"];
        args.extend(case.iter().map(String::as_str));
        args.extend(["-o", "json"]);
        let ours = rudder(home, &args);
        let theirs = helm(home, &args);
        assert_eq!(
            ours.ok, theirs.ok,
            "{case:?}: {} / {}",
            ours.stderr, theirs.stderr
        );
        assert_eq!(
            search_pairs(&ours.stdout),
            search_pairs(&theirs.stdout),
            "search repo {case:?}"
        );
        compared += 1;
    }
    assert_eq!(compared, cases.len());
    assert!(CONSTRAINTS.len() >= 30);

    // The table reads like helm's.
    let ours = ok(rudder(home, &["search", "repo", "db"]));
    let theirs = helm(home, &["search", "repo", "db"]);
    assert_eq!(ours, theirs.stdout);
    let none = ok(rudder(home, &["search", "repo", "zzz"]));
    assert_eq!(none, "No results found\n");
    let err = fails(rudder(
        home,
        &["search", "repo", "zzz", "--fail-on-no-result"],
    ));
    assert!(err.contains("no results found"), "{err}");
    // A bad constraint is one clear error.
    let err = fails(rudder(home, &["search", "repo", "--version", ">>1"]));
    assert!(err.contains(">>1"), "{err}");
}

#[test]
fn pull_saves_and_untars_verified_charts() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let s = serve(
        home,
        &[
            ("webapp", "1.2.3", ""),
            ("webapp", "1.3.0", ""),
            ("webapp", "2.0.0-rc.1", ""),
        ],
    );
    ok(rudder(home, &["repo", "add", "stable", &s.url]));
    let out = home.join("out");
    let r = ok(rudder(
        home,
        &[
            "pull",
            "stable/webapp",
            "--version",
            "~1.2",
            "-d",
            out.to_str().unwrap(),
        ],
    ));
    assert_eq!(r, "");
    assert_eq!(
        fs::read(out.join("webapp-1.2.3.tgz")).unwrap(),
        fs::read(s.dir.join("webapp-1.2.3.tgz")).unwrap()
    );
    // Newest stable by default, newest of all with --devel.
    ok(rudder(
        home,
        &["pull", "stable/webapp", "-d", out.to_str().unwrap()],
    ));
    assert!(out.join("webapp-1.3.0.tgz").exists());
    ok(rudder(
        home,
        &[
            "pull",
            "stable/webapp",
            "--devel",
            "-d",
            out.to_str().unwrap(),
        ],
    ));
    assert!(out.join("webapp-2.0.0-rc.1.tgz").exists());
    // By URL, and by name with --repo.
    let url = format!("{}/webapp-1.3.0.tgz", s.url);
    ok(rudder(
        home,
        &["pull", &url, "-d", home.join("byurl").to_str().unwrap()],
    ));
    assert!(home.join("byurl/webapp-1.3.0.tgz").exists());
    ok(rudder(
        home,
        &[
            "pull",
            "webapp",
            "--repo",
            &s.url,
            "--version",
            "1.2.3",
            "-d",
            home.join("byrepo").to_str().unwrap(),
        ],
    ));
    assert!(home.join("byrepo/webapp-1.2.3.tgz").exists());

    // --untar unpacks into -d/--untardir, and refuses to overwrite.
    let args = [
        "pull",
        "stable/webapp",
        "--untar",
        "-d",
        out.to_str().unwrap(),
        "--untardir",
        "unpacked",
    ];
    ok(rudder(home, &args));
    let chart_yaml = fs::read_to_string(out.join("unpacked/webapp/Chart.yaml")).unwrap();
    assert!(chart_yaml.contains("version: 1.3.0"), "{chart_yaml}");
    let err = fails(rudder(home, &args));
    assert!(err.contains("unpacked/webapp"), "{err}");

    // Errors: no such repository, chart, version.
    let err = fails(rudder(home, &["pull", "nope/webapp"]));
    assert!(err.contains("no repository named \"nope\""), "{err}");
    let err = fails(rudder(home, &["pull", "stable/absent"]));
    assert!(
        err.contains("chart \"absent\" not found in repository \"stable\" (try"),
        "{err}"
    );
    let err = fails(rudder(home, &["pull", "stable/webapp", "--version", ">=5"]));
    assert!(
        err.contains(">=5") && err.contains("2.0.0-rc.1, 1.3.0, 1.2.3"),
        "lists what exists: {err}"
    );
}

#[test]
fn pull_refuses_tampered_missing_and_corrupt_packages_writing_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let s = serve(
        home,
        &[
            ("tampered", "1.0.0", ""),
            ("gone", "1.0.0", ""),
            ("corrupt", "1.0.0", ""),
        ],
    );
    // After indexing: one package replaced, one deleted, one corrupt (and re-indexed so
    // its digest matches: the archive check must catch it).
    let replacement = package_with(
        &home.join("elsewhere"),
        "tampered",
        "1.0.0",
        "keywords: [evil]\n",
    );
    fs::copy(&replacement, s.dir.join("tampered-1.0.0.tgz")).unwrap();
    fs::remove_file(s.dir.join("gone-1.0.0.tgz")).unwrap();
    ok(rudder(home, &["repo", "add", "r", &s.url]));
    let index = fs::read_to_string(home.join("cache/repository/r-index.yaml")).unwrap();
    let mut corrupt = fs::read(s.dir.join("corrupt-1.0.0.tgz")).unwrap();
    corrupt.truncate(corrupt.len() / 2);
    fs::write(s.dir.join("corrupt-1.0.0.tgz"), &corrupt).unwrap();
    let old_digest = sha256_file(&home.join("www/charts/corrupt-1.0.0.tgz"));
    let fixed = index.replace(
        &rudder::repo::IndexFile::parse(index.as_bytes(), "x")
            .unwrap()
            .entries["corrupt"][0]
            .digest,
        &old_digest,
    );
    fs::write(home.join("cache/repository/r-index.yaml"), fixed).unwrap();

    let out = home.join("out");
    let err = fails(rudder(
        home,
        &["pull", "r/tampered", "-d", out.to_str().unwrap()],
    ));
    assert!(
        err.contains("digest mismatch") && err.contains("tampered-1.0.0.tgz"),
        "{err}"
    );
    let err = fails(rudder(
        home,
        &["pull", "r/gone", "-d", out.to_str().unwrap()],
    ));
    assert!(
        err.contains("gone-1.0.0.tgz") && err.contains("404"),
        "{err}"
    );
    let err = fails(rudder(
        home,
        &["pull", "r/corrupt", "--untar", "-d", out.to_str().unwrap()],
    ));
    assert!(err.contains("corrupt-1.0.0.tgz"), "{err}");
    // An archive that decompresses beyond helm's 100 MiB cap (a 100 KiB download).
    let huge = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        {
            let mut tar = tar::Builder::new(&mut gz);
            let mut header = tar::Header::new_gnu();
            header.set_size(101 * 1024 * 1024);
            header.set_mode(0o644);
            header.set_cksum();
            let data = std::io::repeat(b' ').take(101 * 1024 * 1024);
            tar.append_data(&mut header, "huge/Chart.yaml", data)
                .unwrap();
            tar.finish().unwrap();
        }
        gz.finish().unwrap()
    };
    assert!(huge.len() < 1024 * 1024);
    fs::write(s.dir.join("huge-1.0.0.tgz"), &huge).unwrap();
    // An archive with an entry climbing out of the chart directory.
    let evil = {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        {
            let mut tar = tar::Builder::new(&mut gz);
            for (name, data) in [
                (
                    "evil/Chart.yaml",
                    &b"apiVersion: v2\nname: evil\nversion: 1.0.0\n"[..],
                ),
                ("evil/../../escape.txt", &b"gotcha"[..]),
            ] {
                let mut header = tar::Header::new_old();
                header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
                header.set_size(data.len() as u64);
                header.set_mode(0o644);
                header.set_cksum();
                tar.append(&header, data).unwrap();
            }
            tar.finish().unwrap();
        }
        gz.finish().unwrap()
    };
    fs::write(s.dir.join("evil-1.0.0.tgz"), &evil).unwrap();
    let url = format!("{}/evil-1.0.0.tgz", s.url);
    let err = fails(rudder(
        home,
        &["pull", &url, "--untar", "-d", out.to_str().unwrap()],
    ));
    assert!(
        err.contains("evil-1.0.0.tgz") && err.contains(".."),
        "{err}"
    );
    assert!(!home.join("escape.txt").exists() && !out.join("escape.txt").exists());
    let url = format!("{}/huge-1.0.0.tgz", s.url);
    let err = fails(rudder(
        home,
        &["pull", &url, "--untar", "-d", out.to_str().unwrap()],
    ));
    assert!(err.contains("huge-1.0.0.tgz"), "{err}");
    assert!(!out.exists() || fs::read_dir(&out).unwrap().next().is_none());
}

#[test]
fn template_renders_a_chart_from_a_repository_by_name_and_version() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let s = serve(home, &[("webapp", "1.2.3", ""), ("webapp", "1.3.0", "")]);
    ok(rudder(home, &["repo", "add", "stable", &s.url]));
    let out = ok(rudder(
        home,
        &[
            "template",
            "demo",
            "stable/webapp",
            "--version",
            "~1.2",
            "--set",
            "greeting=hi",
        ],
    ));
    assert!(out.contains("name: demo-webapp"), "{out}");
    assert!(out.contains("version: 1.2.3"), "{out}");
    assert!(out.contains("greeting: hi"), "{out}");
    // Same with a chart URL; a second run uses the verified cached copy.
    let url = format!("{}/webapp-1.3.0.tgz", s.url);
    let out = ok(rudder(home, &["template", "demo", &url]));
    assert!(out.contains("version: 1.3.0"), "{out}");
    let cached = fs::read_dir(home.join("cache/content")).unwrap().count();
    assert!(cached >= 2, "{cached}");
    let err = fails(rudder(
        home,
        &["template", "demo", "stable/webapp", "--version", "9"],
    ));
    assert!(err.contains("matches \"9\""), "{err}");
}
