//! `rudder repo index` writes helm's `index.yaml` format, and both tools read each other's:
//! rudder reads helm's index, and helm (`repo add`, `search repo`, `pull`) consumes a
//! repository indexed by rudder and served by a real nginx. Malformed indexes fail with an
//! error naming the file.

mod repo_support;

use repo_support::*;
use rudder::repo::IndexFile;
use std::fs;
use std::path::Path;

/// Index YAML with the volatile timestamps blanked, for comparing two tools' output.
fn without_timestamps(text: &str) -> String {
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("created:") || t.starts_with("generated:") {
                format!("{}<time>", &l[..l.len() - t.len()])
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn charts_dir(root: &Path) -> std::path::PathBuf {
    let dir = root.join("charts");
    fs::create_dir_all(dir.join("old")).unwrap();
    package_with(&dir, "alpha", "1.0.0", "keywords:\n- web\n- demo\n");
    package(&dir, "alpha", "1.10.0");
    package(&dir, "alpha", "2.0.0-rc.1");
    package(&dir, "beta", "0.1.0");
    package(&dir.join("old"), "alpha", "0.9.0");
    fs::write(dir.join("not-a-chart.tgz"), b"garbage").unwrap();
    dir
}

#[test]
fn index_is_byte_for_byte_what_helm_writes_apart_from_timestamps() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = charts_dir(tmp.path());
    let r = rudder(
        tmp.path(),
        &[
            "repo",
            "index",
            dir.to_str().unwrap(),
            "--url",
            "http://charts.example.test/stable/",
        ],
    );
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stderr.contains("not-a-chart.tgz"),
        "skipped files are reported: {}",
        r.stderr
    );
    let ours = fs::read_to_string(dir.join("index.yaml")).unwrap();
    let h = helm(
        tmp.path(),
        &[
            "repo",
            "index",
            dir.to_str().unwrap(),
            "--url",
            "http://charts.example.test/stable/",
        ],
    );
    assert!(h.ok, "{}", h.stderr);
    let helms = fs::read_to_string(dir.join("index.yaml")).unwrap();
    assert_eq!(without_timestamps(&ours), without_timestamps(&helms));

    // And the content is what a user expects: newest first, digests of the files, URLs.
    let index = IndexFile::parse(ours.as_bytes(), "ours").unwrap();
    assert_eq!(index.api_version, "v1");
    let alpha: Vec<&str> = index.entries["alpha"].iter().map(|v| v.version()).collect();
    assert_eq!(alpha, ["2.0.0-rc.1", "1.10.0", "1.0.0", "0.9.0"]);
    let old = &index.entries["alpha"][3];
    assert_eq!(
        old.urls,
        ["http://charts.example.test/stable/old/alpha-0.9.0.tgz"]
    );
    assert_eq!(old.digest, sha256_file(&dir.join("old/alpha-0.9.0.tgz")));
    assert_eq!(index.entries["alpha"][2].metadata.keywords, ["web", "demo"]);
    assert_eq!(
        index.entries["beta"][0].metadata.app_version.as_deref(),
        Some("0.1.0-app")
    );
    assert!(!index.entries["beta"][0].created.is_empty());
}

#[test]
fn without_url_the_index_holds_relative_urls() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = charts_dir(tmp.path());
    let r = rudder(tmp.path(), &["repo", "index", dir.to_str().unwrap()]);
    assert!(r.ok, "{}", r.stderr);
    let index = IndexFile::load(&dir.join("index.yaml")).unwrap();
    assert_eq!(index.entries["beta"][0].urls, ["beta-0.1.0.tgz"]);
    assert_eq!(index.entries["alpha"][3].urls, ["old/alpha-0.9.0.tgz"]);
}

#[test]
fn rudder_reads_the_index_helm_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = charts_dir(tmp.path());
    let h = helm(
        tmp.path(),
        &[
            "repo",
            "index",
            dir.to_str().unwrap(),
            "--url",
            "https://x.test/c",
        ],
    );
    assert!(h.ok, "{}", h.stderr);
    let index = IndexFile::load(&dir.join("index.yaml")).unwrap();
    assert!(index.warnings.is_empty(), "{:?}", index.warnings);
    assert_eq!(index.entries.len(), 2);
    let newest_stable = index.get("alpha", None, false, "helm's index").unwrap();
    assert_eq!(newest_stable.version(), "1.10.0");
    assert_eq!(newest_stable.urls, ["https://x.test/c/alpha-1.10.0.tgz"]);
    assert_eq!(
        newest_stable.digest,
        sha256_file(&dir.join("alpha-1.10.0.tgz"))
    );
    let devel = index.get("alpha", None, true, "helm's index").unwrap();
    assert_eq!(devel.version(), "2.0.0-rc.1");
    assert_eq!(
        index
            .get("alpha", Some("<1.0.0"), false, "x")
            .unwrap()
            .version(),
        "0.9.0"
    );
    // Writing it back gives helm's text again (timestamps are kept as read).
    assert_eq!(
        index.to_yaml(),
        fs::read_to_string(dir.join("index.yaml")).unwrap()
    );
}

#[test]
fn merge_keeps_entries_of_the_old_index_and_new_packages_win() {
    let tmp = tempfile::tempdir().unwrap();
    let old_dir = tmp.path().join("old");
    fs::create_dir_all(&old_dir).unwrap();
    package(&old_dir, "gamma", "1.0.0");
    package(&old_dir, "alpha", "1.0.0");
    let r = rudder(
        tmp.path(),
        &[
            "repo",
            "index",
            old_dir.to_str().unwrap(),
            "--url",
            "https://old.test",
        ],
    );
    assert!(r.ok, "{}", r.stderr);
    let new_dir = tmp.path().join("new");
    fs::create_dir_all(&new_dir).unwrap();
    package_with(&new_dir, "alpha", "1.0.0", "keywords: [rebuilt]\n");
    package(&new_dir, "alpha", "1.1.0");
    let merge = old_dir.join("index.yaml");
    let r = rudder(
        tmp.path(),
        &[
            "repo",
            "index",
            new_dir.to_str().unwrap(),
            "--url",
            "https://new.test",
            "--merge",
            merge.to_str().unwrap(),
        ],
    );
    assert!(r.ok, "{}", r.stderr);
    let index = IndexFile::load(&new_dir.join("index.yaml")).unwrap();
    assert_eq!(
        index.entries["gamma"][0].urls,
        ["https://old.test/gamma-1.0.0.tgz"]
    );
    let alpha = &index.entries["alpha"];
    assert_eq!(alpha.len(), 2);
    assert_eq!(alpha[0].version(), "1.1.0");
    assert_eq!(alpha[1].urls, ["https://new.test/alpha-1.0.0.tgz"]);
    assert_eq!(alpha[1].metadata.keywords, ["rebuilt"]);

    // helm merges the same way.
    let h = helm(
        tmp.path(),
        &[
            "repo",
            "index",
            new_dir.to_str().unwrap(),
            "--url",
            "https://new.test",
            "--merge",
            merge.to_str().unwrap(),
        ],
    );
    assert!(h.ok, "{}", h.stderr);
    let helms = IndexFile::load(&new_dir.join("index.yaml")).unwrap();
    let urls = |i: &IndexFile| -> Vec<Vec<String>> {
        i.entries
            .values()
            .flatten()
            .map(|v| v.urls.clone())
            .collect()
    };
    assert_eq!(urls(&helms), urls(&index));
}

#[test]
fn malformed_indexes_are_refused_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        ("broken.yaml", "apiVersion: v1\nentries:\n  a: [\n"),
        ("noversion.yaml", "entries: {}\n"),
        ("empty.yaml", "\n"),
        ("list.yaml", "- a\n- b\n"),
        ("entries.yaml", "apiVersion: v1\nentries: 3\n"),
    ];
    for (name, text) in cases {
        let path = tmp.path().join(name);
        fs::write(&path, text).unwrap();
        let err = IndexFile::load(&path).unwrap_err().to_string();
        assert!(
            err.contains(&path.display().to_string())
                && err.contains("not a valid chart repository index"),
            "{name}: {err}"
        );
    }
    // An invalid entry is skipped with a warning naming it; the rest is usable.
    let path = tmp.path().join("partial.yaml");
    fs::write(
        &path,
        "apiVersion: v1\nentries:\n  ok:\n  - name: ok\n    version: 1.0.0\n    urls: [ok-1.0.0.tgz]\n  - name: ok\n    version: not-a-version\n  bad:\n  - maintainers: 7\n",
    )
    .unwrap();
    let index = IndexFile::load(&path).unwrap();
    assert_eq!(index.entries["ok"].len(), 1);
    assert_eq!(index.warnings.len(), 2, "{:?}", index.warnings);
    assert!(index.warnings.iter().any(|w| w.contains("not-a-version")));
}

#[test]
fn repo_index_refuses_a_missing_directory_and_a_bad_merge_file_writing_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let r = rudder(tmp.path(), &["repo", "index", "/nonexistent/charts"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("/nonexistent/charts"), "{}", r.stderr);

    let dir = tmp.path().join("d");
    fs::create_dir_all(&dir).unwrap();
    package(&dir, "alpha", "1.0.0");
    let bad = tmp.path().join("bad-index.yaml");
    fs::write(&bad, "apiVersion: [\n").unwrap();
    let r = rudder(
        tmp.path(),
        &[
            "repo",
            "index",
            dir.to_str().unwrap(),
            "--merge",
            bad.to_str().unwrap(),
        ],
    );
    assert!(!r.ok);
    assert!(r.stderr.contains("bad-index.yaml"), "{}", r.stderr);
    assert!(!dir.join("index.yaml").exists());
}

#[test]
fn helm_consumes_a_repository_indexed_by_rudder_and_served_by_nginx() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("www");
    let dir = root.join("stable");
    fs::create_dir_all(&dir).unwrap();
    package_with(&dir, "webapp", "1.2.3", "keywords: [frontend]\n");
    package(&dir, "webapp", "1.3.0");
    package(&dir, "webapp", "2.0.0-beta.1");
    package(&dir, "worker", "0.4.0");
    let server = Nginx::start(&root, "");
    let url = format!("{}/stable", server.url());
    let r = rudder(
        tmp.path(),
        &["repo", "index", dir.to_str().unwrap(), "--url", &url],
    );
    assert!(r.ok, "{}", r.stderr);

    let h = helm(tmp.path(), &["repo", "add", "ours", &url]);
    assert!(h.ok, "helm repo add: {}", h.stderr);
    let h = helm(
        tmp.path(),
        &["search", "repo", "ours/", "--versions", "-o", "json"],
    );
    assert!(h.ok, "{}", h.stderr);
    let found: Vec<serde_json::Value> = serde_json::from_str(&h.stdout).unwrap();
    let pairs: Vec<(String, String)> = found
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap().to_string(),
                v["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("ours/webapp".to_string(), "1.3.0".to_string()),
            ("ours/webapp".to_string(), "1.2.3".to_string()),
            ("ours/worker".to_string(), "0.4.0".to_string()),
        ]
    );
    assert_eq!(found[0]["app_version"], "1.3.0-app");
    assert_eq!(found[0]["description"], "The webapp chart");

    let out = tmp.path().join("pulled");
    fs::create_dir_all(&out).unwrap();
    let h = helm(
        tmp.path(),
        &[
            "pull",
            "ours/webapp",
            "--version",
            "~1.2",
            "-d",
            out.to_str().unwrap(),
        ],
    );
    assert!(h.ok, "helm pull: {}", h.stderr);
    assert_eq!(
        fs::read(out.join("webapp-1.2.3.tgz")).unwrap(),
        fs::read(dir.join("webapp-1.2.3.tgz")).unwrap()
    );
}
