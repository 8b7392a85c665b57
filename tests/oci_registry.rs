//! OCI registries with a real Distribution registry (Debian's `docker-registry`) on
//! loopback: rudder pushes and helm pulls, helm pushes and rudder pulls (same media types,
//! tags are versions with `+` as `_`), version constraints over tags, `registry
//! login/logout` against a registry with basic auth, and clear errors for what is wrong.

mod repo_support;

use repo_support::*;
use std::fs;

fn digest_line(out: &str) -> &str {
    out.lines()
        .find_map(|l| l.strip_prefix("Digest: "))
        .unwrap_or_else(|| panic!("no Digest line in {out}"))
}

#[test]
fn rudder_pushes_and_helm_pulls() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let registry = Registry::start("");
    let host = registry.host();
    let pkg = package_with(
        &home.join("pkgs"),
        "webapp",
        "1.2.3",
        "home: https://example.test\n",
    );
    let remote = format!("oci://{host}/charts");
    let out = ok(rudder(
        home,
        &["push", pkg.to_str().unwrap(), &remote, "--plain-http"],
    ));
    assert!(
        out.starts_with(&format!(
            "Pushed: {host}/charts/webapp:1.2.3\nDigest: sha256:"
        )),
        "{out}"
    );

    let dest = home.join("helm-out");
    fs::create_dir_all(&dest).unwrap();
    let h = helm(
        home,
        &[
            "pull",
            &format!("{remote}/webapp"),
            "--version",
            "1.2.3",
            "--plain-http",
            "-d",
            dest.to_str().unwrap(),
        ],
    );
    assert!(h.ok, "helm pull: {}", h.stderr);
    assert_eq!(
        fs::read(dest.join("webapp-1.2.3.tgz")).unwrap(),
        fs::read(&pkg).unwrap()
    );
    // helm reports the same manifest digest rudder printed.
    let helm_says = format!("{}{}", h.stdout, h.stderr);
    assert!(helm_says.contains(digest_line(&out)), "{helm_says}");
    let h = helm(
        home,
        &[
            "show",
            "chart",
            &format!("{remote}/webapp"),
            "--version",
            "1.2.3",
            "--plain-http",
        ],
    );
    assert!(h.ok, "{}", h.stderr);
    assert!(
        h.stdout.contains("home: https://example.test"),
        "{}",
        h.stdout
    );
}

#[test]
fn helm_pushes_and_rudder_pulls_by_version_or_constraint() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let registry = Registry::start("");
    let host = registry.host();
    let remote = format!("oci://{host}/team/charts");
    let pkgs = home.join("pkgs");
    let mut pushed = Vec::new();
    for v in ["1.0.0", "1.1.0", "2.0.0-rc.1", "1.1.1+build.7"] {
        let pkg = package(&pkgs, "worker", v);
        let h = helm(
            home,
            &["push", pkg.to_str().unwrap(), &remote, "--plain-http"],
        );
        assert!(h.ok, "helm push: {}", h.stderr);
        pushed.push(pkg);
    }
    let chart = format!("{remote}/worker");
    let out_dir = home.join("out");
    let pull = |args: &[&str]| {
        let mut all = vec![
            "pull",
            chart.as_str(),
            "--plain-http",
            "-d",
            out_dir.to_str().unwrap(),
        ];
        all.extend(args);
        rudder(home, &all)
    };
    let out = ok(pull(&["--version", "1.0.0"]));
    assert!(
        out.starts_with(&format!(
            "Pulled: {host}/team/charts/worker:1.0.0\nDigest: sha256:"
        )),
        "{out}"
    );
    assert_eq!(
        fs::read(out_dir.join("worker-1.0.0.tgz")).unwrap(),
        fs::read(&pushed[0]).unwrap()
    );
    // A constraint picks the newest matching tag; no version means newest stable.
    ok(pull(&["--version", "~1.1.0"]));
    assert!(out_dir.join("worker-1.1.1+build.7.tgz").exists());
    fs::remove_file(out_dir.join("worker-1.1.1+build.7.tgz")).unwrap();
    let out = ok(pull(&[]));
    assert!(out.contains("worker:1.1.1_build.7"), "{out}");
    // --untar unpacks it.
    ok(pull(&[
        "--version",
        "2.0.0-rc.1",
        "--untar",
        "--untardir",
        "unpacked",
    ]));
    let chart_yaml = fs::read_to_string(out_dir.join("unpacked/worker/Chart.yaml")).unwrap();
    assert!(chart_yaml.contains("version: 2.0.0-rc.1"), "{chart_yaml}");

    // Nothing matches: the error lists the tags there are.
    let err = fails(pull(&["--version", ">=3"]));
    assert!(
        err.contains(">=3") && err.contains("1.1.0") && err.contains("2.0.0-rc.1"),
        "{err}"
    );
    // An exact version that is not there: the error says so and lists what is.
    let err = fails(pull(&["--version", "9.9.9"]));
    assert!(
        err.contains(&format!("{remote}/worker has no version 9.9.9"))
            && err.contains("1.1.0")
            && err.contains("2.0.0-rc.1"),
        "{err}"
    );
}

#[test]
fn registry_mistakes_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let pkg = package(&home.join("pkgs"), "webapp", "1.0.0");
    let closed = format!("127.0.0.1:{}", free_port());
    let err = fails(rudder(
        home,
        &[
            "push",
            pkg.to_str().unwrap(),
            &format!("oci://{closed}/charts"),
            "--plain-http",
        ],
    ));
    assert!(err.contains(&closed), "{err}");
    let err = fails(rudder(
        home,
        &["push", pkg.to_str().unwrap(), "127.0.0.1:5000/charts"],
    ));
    assert!(err.contains("oci://"), "{err}");
    let err = fails(rudder(
        home,
        &[
            "push",
            pkg.parent().unwrap().to_str().unwrap(),
            "oci://127.0.0.1:1/c",
        ],
    ));
    assert!(err.contains("directory"), "{err}");
    let corrupt = home.join("corrupt.tgz");
    fs::write(&corrupt, b"\x1f\x8bnot really").unwrap();
    let err = fails(rudder(
        home,
        &[
            "push",
            corrupt.to_str().unwrap(),
            "oci://127.0.0.1:1/c",
            "--plain-http",
        ],
    ));
    assert!(err.contains("corrupt.tgz"), "{err}");
    let err = fails(rudder(home, &["pull", "oci://127.0.0.1:1/Bad/Name"]));
    assert!(err.contains("oci://127.0.0.1:1/Bad/Name"), "{err}");
}

#[test]
fn registry_login_stores_checked_credentials_and_logout_forgets_them() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let registry = Registry::with_basic_auth(home);
    let host = registry.host();
    let pkg = package(&home.join("pkgs"), "webapp", "1.0.0");
    let remote = format!("oci://{host}/charts");

    let err = fails(rudder(
        home,
        &["push", pkg.to_str().unwrap(), &remote, "--plain-http"],
    ));
    assert!(
        err.contains("401") && err.contains("registry login"),
        "{err}"
    );
    let err = fails(rudder(
        home,
        &[
            "registry",
            "login",
            &host,
            "-u",
            "alice",
            "-p",
            "wrong",
            "--plain-http",
        ],
    ));
    assert!(err.contains("401") && err.contains(&host), "{err}");
    assert!(!home.join("config/registry/config.json").exists());

    let out = rudder_stdin(
        home,
        &[
            "registry",
            "login",
            &host,
            "-u",
            "alice",
            "--password-stdin",
            "--plain-http",
        ],
        "s3cret\n",
    );
    assert!(out.ok, "{}", out.stderr);
    assert_eq!(out.stdout, "Login Succeeded\n");
    let config = fs::read_to_string(home.join("config/registry/config.json")).unwrap();
    assert!(
        config.contains(&host) && !config.contains("s3cret"),
        "{config}"
    );

    ok(rudder(
        home,
        &["push", pkg.to_str().unwrap(), &remote, "--plain-http"],
    ));
    ok(rudder(
        home,
        &[
            "pull",
            &format!("{remote}/webapp"),
            "--version",
            "1.0.0",
            "--plain-http",
            "-d",
            home.join("out").to_str().unwrap(),
        ],
    ));
    assert!(home.join("out/webapp-1.0.0.tgz").exists());

    // helm, logged in to the same registry, pulls what rudder pushed.
    let h = helm(
        home,
        &[
            "registry",
            "login",
            &host,
            "-u",
            "alice",
            "-p",
            "s3cret",
            "--plain-http",
        ],
    );
    assert!(h.ok, "{}", h.stderr);
    let dest = home.join("helm-out");
    fs::create_dir_all(&dest).unwrap();
    let h = helm(
        home,
        &[
            "pull",
            &format!("{remote}/webapp"),
            "--version",
            "1.0.0",
            "--plain-http",
            "-d",
            dest.to_str().unwrap(),
        ],
    );
    assert!(h.ok, "{}", h.stderr);

    let out = ok(rudder(home, &["registry", "logout", &host]));
    assert_eq!(out, format!("Removing login credentials for {host}\n"));
    let err = fails(rudder(
        home,
        &[
            "pull",
            &format!("{remote}/webapp"),
            "--version",
            "1.0.0",
            "--plain-http",
            "-d",
            home.join("out2").to_str().unwrap(),
        ],
    ));
    assert!(err.contains("401"), "{err}");
    let err = fails(rudder(home, &["registry", "logout", &host]));
    assert!(err.contains("not logged in"), "{err}");

    // Credentials `docker login` stored are used too, as helm does.
    let docker = home.join("docker");
    fs::create_dir_all(&docker).unwrap();
    fs::write(
        docker.join("config.json"),
        r#"{"auths": {"HOST": {"auth": "YWxpY2U6czNjcmV0"}}}"#.replace("HOST", &host),
    )
    .unwrap();
    let r = rudder_env(
        home,
        &[
            "pull",
            &format!("{remote}/webapp"),
            "--version",
            "1.0.0",
            "--plain-http",
            "-d",
            home.join("out3").to_str().unwrap(),
        ],
        &[("DOCKER_CONFIG", docker.to_str().unwrap())],
    );
    assert!(r.ok, "{}", r.stderr);
    assert!(home.join("out3/webapp-1.0.0.tgz").exists());
}

#[test]
fn registries_are_reached_over_verified_tls_unless_told_otherwise() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let pki = pki(home);
    let registry = Registry::start_with("", Some(&pki.server));
    let host = registry.host();
    let remote = format!("oci://{host}/charts");
    let pkg = package(&home.join("pkgs"), "webapp", "1.0.0");
    let push = |extra: &[&str]| {
        let mut args = vec!["push", pkg.to_str().unwrap(), remote.as_str()];
        args.extend(extra);
        rudder(home, &args)
    };
    let err = fails(push(&[]));
    assert!(
        err.contains(&host) && err.to_lowercase().contains("certificate"),
        "{err}"
    );
    ok(push(&["--ca-file", pki.ca.to_str().unwrap()]));
    ok(push(&["--insecure-skip-tls-verify"]));
    let dest = home.join("out");
    let chart = format!("{remote}/webapp");
    let err = fails(rudder(
        home,
        &[
            "pull",
            &chart,
            "--version",
            "1.0.0",
            "-d",
            dest.to_str().unwrap(),
        ],
    ));
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    ok(rudder(
        home,
        &[
            "pull",
            &chart,
            "--version",
            "1.0.0",
            "--ca-file",
            pki.ca.to_str().unwrap(),
            "-d",
            dest.to_str().unwrap(),
        ],
    ));
    assert_eq!(
        fs::read(dest.join("webapp-1.0.0.tgz")).unwrap(),
        fs::read(&pkg).unwrap()
    );
    // `template` renders straight from the registry, trusting the CA the system is told of.
    let out = rudder_env(
        home,
        &["template", "rel", &chart, "--version", "1.0.0"],
        &[("SSL_CERT_FILE", pki.ca.to_str().unwrap())],
    );
    assert!(out.ok, "{}", out.stderr);
    assert!(out.stdout.contains("name: rel-webapp"), "{}", out.stdout);
    // …or the CA given with --ca-file, or no verification with --insecure-skip-tls-verify.
    let template = |extra: &[&str]| {
        let mut args = vec!["template", "rel", &chart, "--version", "1.0.0"];
        args.extend(extra);
        rudder(home, &args)
    };
    let err = fails(template(&[]));
    assert!(
        err.contains(&host) && err.to_lowercase().contains("certificate"),
        "{err}"
    );
    let out = ok(template(&["--ca-file", pki.ca.to_str().unwrap()]));
    assert!(out.contains("name: rel-webapp"), "{out}");
    ok(template(&["--insecure-skip-tls-verify"]));

    // A dependency on the TLS registry resolves with --ca-file.
    let umbrella = make_chart(
        home,
        "umbrella",
        "1.0.0",
        &format!("dependencies:\n- name: webapp\n  version: ^1.0.0\n  repository: {remote}\n"),
    );
    let err = fails(rudder(
        home,
        &["dependency", "update", umbrella.to_str().unwrap()],
    ));
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    ok(rudder(
        home,
        &[
            "dependency",
            "update",
            umbrella.to_str().unwrap(),
            "--ca-file",
            pki.ca.to_str().unwrap(),
        ],
    ));
    assert!(umbrella.join("charts/webapp-1.0.0.tgz").exists());
}

/// What the fake registry answers for one path.
#[derive(Clone)]
enum Answer {
    /// These bytes, with their Content-Length.
    Bytes(Vec<u8>),
    /// A Content-Length of this many bytes, and then nothing (the connection is closed).
    LyingLength(u64),
    /// A chunked body of this many zero bytes, generated as it is sent.
    Stream(u64),
}

/// A registry that answers GETs from a table of paths, without auth, and counts the body
/// bytes it managed to send (a client that gives up on a download stops them).
struct FakeRegistry {
    port: u16,
    sent: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl FakeRegistry {
    fn start(answers: Vec<(String, Answer)>) -> FakeRegistry {
        use std::io::{BufRead as _, BufReader, Write as _};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let sent = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = sent.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                reader.read_line(&mut request).unwrap_or(0);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or("");
                let answer = answers.iter().find(|(p, _)| p == path).map(|(_, a)| a);
                let head = |length: &str| {
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n{length}Connection: close\r\n\r\n"
                    )
                };
                let _ = match answer {
                    None => stream.write_all(
                        b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    ),
                    Some(Answer::Bytes(b)) => stream
                        .write_all(head(&format!("Content-Length: {}\r\n", b.len())).as_bytes())
                        .and_then(|()| stream.write_all(b)),
                    Some(Answer::LyingLength(n)) => {
                        stream.write_all(head(&format!("Content-Length: {n}\r\n")).as_bytes())
                    }
                    Some(Answer::Stream(total)) => (|| {
                        stream.write_all(head("Transfer-Encoding: chunked\r\n").as_bytes())?;
                        let chunk = vec![0u8; 64 * 1024];
                        let mut left = *total;
                        while left > 0 {
                            let n = left.min(chunk.len() as u64) as usize;
                            stream.write_all(format!("{n:x}\r\n").as_bytes())?;
                            stream.write_all(&chunk[..n])?;
                            stream.write_all(b"\r\n")?;
                            counter.fetch_add(n as u64, Ordering::SeqCst);
                            left -= n as u64;
                        }
                        stream.write_all(b"0\r\n\r\n")
                    })(),
                };
            }
        });
        FakeRegistry { port, sent }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The manifest of a chart whose layer descriptor says `digest` and `size`.
fn chart_manifest(digest: &str, size: u64) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": rudder::registry::MANIFEST_MEDIA_TYPE,
        "config": {"mediaType": rudder::registry::CONFIG_MEDIA_TYPE,
            "digest": format!("sha256:{}", "0".repeat(64)), "size": 2},
        "layers": [{"mediaType": rudder::registry::CHART_LAYER_MEDIA_TYPE,
            "digest": digest, "size": size}],
    }))
    .unwrap()
}

const MIB: u64 = 1024 * 1024;

#[test]
fn a_blob_larger_than_its_manifest_declares_is_refused_without_downloading_it() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let pkg = fs::read(package(&home.join("pkgs"), "webapp", "1.0.0")).unwrap();
    let digest = format!(
        "sha256:{}",
        sha256_file(&home.join("pkgs/webapp-1.0.0.tgz"))
    );
    let declared = pkg.len() as u64;
    let manifest = chart_manifest(&digest, declared);
    let blob = format!("/v2/charts/webapp/blobs/{digest}");
    let manifest_path = "/v2/charts/webapp/manifests/1.0.0".to_string();
    let pull = |registry: &FakeRegistry| {
        rudder(
            home,
            &[
                "pull",
                &format!("oci://{}/charts/webapp", registry.host()),
                "--version",
                "1.0.0",
                "--plain-http",
                "-d",
                home.join("out").to_str().unwrap(),
            ],
        )
    };

    // The honest registry: the chart arrives.
    let honest = FakeRegistry::start(vec![
        (manifest_path.clone(), Answer::Bytes(manifest.clone())),
        (blob.clone(), Answer::Bytes(pkg.clone())),
    ]);
    ok(pull(&honest));
    assert_eq!(fs::read(home.join("out/webapp-1.0.0.tgz")).unwrap(), pkg);

    // A blob that says (Content-Length) it is bigger than the descriptor: refused, naming
    // the reference and both sizes.
    let mut bigger = pkg.clone();
    bigger.extend(vec![0u8; 1500]);
    let registry = FakeRegistry::start(vec![
        (manifest_path.clone(), Answer::Bytes(manifest.clone())),
        (blob.clone(), Answer::Bytes(bigger)),
    ]);
    let err = fails(pull(&registry));
    let reference = format!("oci://{}/charts/webapp:1.0.0", registry.host());
    assert!(
        err.contains(&reference)
            && err.contains(&format!("the manifest says {declared} bytes"))
            && err.contains(&format!("the registry sent {} bytes", declared + 1500)),
        "{err}"
    );

    // A 700 MiB blob streamed without a length: the download stops just past the declared
    // size, instead of holding 700 MiB (it used 1.44 GB of memory before).
    let registry = FakeRegistry::start(vec![
        (manifest_path.clone(), Answer::Bytes(manifest.clone())),
        (blob.clone(), Answer::Stream(700 * MIB)),
    ]);
    let err = fails(pull(&registry));
    assert!(
        err.contains(&format!("oci://{}/charts/webapp:1.0.0", registry.host()))
            && err.contains(&format!("the manifest says {declared} bytes"))
            && err.contains(&format!("the registry sent more than {declared} bytes")),
        "{err}"
    );
    assert!(
        registry.sent() < 64 * MIB,
        "rudder kept reading: {} MiB sent",
        registry.sent() / MIB
    );
}

#[test]
fn registry_downloads_are_bounded_like_repository_downloads() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let limit = 256 * MIB;
    let digest = format!("sha256:{}", "a".repeat(64));
    let pull = |registry: &FakeRegistry| {
        rudder(
            home,
            &[
                "pull",
                &format!("oci://{}/charts/webapp", registry.host()),
                "--version",
                "1.0.0",
                "--plain-http",
                "-d",
                home.join("out").to_str().unwrap(),
            ],
        )
    };
    let manifest_path = "/v2/charts/webapp/manifests/1.0.0".to_string();
    let too_large = format!("is larger than the {limit}-byte limit");

    // A manifest announcing 300 MiB is refused by its Content-Length.
    let registry = FakeRegistry::start(vec![(
        manifest_path.clone(),
        Answer::LyingLength(300 * MIB),
    )]);
    let err = fails(pull(&registry));
    assert!(
        err.contains(&format!("oci://{}/charts/webapp:1.0.0", registry.host()))
            && err.contains(&too_large),
        "{err}"
    );

    // One streamed without a length stops at the limit.
    let registry = FakeRegistry::start(vec![(manifest_path.clone(), Answer::Stream(1024 * MIB))]);
    let err = fails(pull(&registry));
    assert!(err.contains(&too_large), "{err}");
    assert!(
        registry.sent() < limit + 64 * MIB,
        "rudder read past the limit: {} MiB sent",
        registry.sent() / MIB
    );

    // A layer whose descriptor declares more than the limit is not downloaded at all.
    let registry = FakeRegistry::start(vec![
        (
            manifest_path.clone(),
            Answer::Bytes(chart_manifest(&digest, 300 * MIB)),
        ),
        (
            format!("/v2/charts/webapp/blobs/{digest}"),
            Answer::Stream(300 * MIB),
        ),
    ]);
    let err = fails(pull(&registry));
    assert!(
        err.contains(&format!("chart layer {digest}")) && err.contains(&too_large),
        "{err}"
    );
    assert!(
        registry.sent() < 64 * MIB,
        "{} MiB sent",
        registry.sent() / MIB
    );
}

#[cfg(unix)]
#[test]
fn registry_login_keeps_credentials_in_a_private_directory() {
    use std::os::unix::fs::PermissionsExt as _;
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let registry = FakeRegistry::start(vec![("/v2/".to_string(), Answer::Bytes(b"{}".to_vec()))]);
    let r = rudder_umask(
        home,
        "022",
        &[
            "registry",
            "login",
            &registry.host(),
            "-u",
            "alice",
            "-p",
            "s3cret",
            "--plain-http",
        ],
    );
    assert!(r.ok, "{}", r.stderr);
    let mode = |p: &str| fs::metadata(home.join(p)).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode("config"), 0o700);
    assert_eq!(mode("config/registry"), 0o700);
    assert_eq!(mode("config/registry/config.json"), 0o600);
}
