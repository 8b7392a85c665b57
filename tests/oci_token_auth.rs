//! The bearer-token flow against a real Distribution registry configured for token auth:
//! the registry answers `401` with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`,
//! rudder asks the realm (a token server this test runs, checking basic credentials and
//! signing ES256 JWTs with a test certificate the registry trusts) and retries with the
//! token. helm, logged in the same way, pulls what rudder pushed; `template --username
//! --password` gets its token with nothing stored.

mod repo_support;

use repo_support::*;
use std::fs;

#[test]
fn the_bearer_token_flow_pushes_pulls_and_logs_in() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let (registry, tokens) = Registry::with_token_auth(home);
    let host = registry.host();
    let remote = format!("oci://{host}/team/charts");
    let pkg = package(&home.join("pkgs"), "webapp", "3.1.4");

    // Anonymous: the token server refuses, and the error says so.
    let r = rudder(
        home,
        &["push", pkg.to_str().unwrap(), &remote, "--plain-http"],
    );
    assert!(!r.ok);
    assert!(
        r.stderr.contains("token service") && r.stderr.contains("401"),
        "{}",
        r.stderr
    );

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
    let out = ok(rudder(
        home,
        &["push", pkg.to_str().unwrap(), &remote, "--plain-http"],
    ));
    assert!(out.contains("team/charts/webapp:3.1.4"), "{out}");
    {
        let seen = tokens.requests.lock().unwrap();
        assert!(
            // The registry's challenge lists the actions in no fixed order.
            seen.iter().any(|(user, scope)| user == "alice"
                && (scope.contains("repository:team/charts/webapp:pull,push")
                    || scope.contains("repository:team/charts/webapp:push,pull"))),
            "push asked for a push token: {seen:?}"
        );
    }
    let dest = home.join("out");
    ok(rudder(
        home,
        &[
            "pull",
            &format!("{remote}/webapp"),
            "--version",
            "^3",
            "--plain-http",
            "-d",
            dest.to_str().unwrap(),
        ],
    ));
    assert_eq!(
        fs::read(dest.join("webapp-3.1.4.tgz")).unwrap(),
        fs::read(&pkg).unwrap()
    );

    // helm goes through the same token server and pulls rudder's push.
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
    assert!(h.ok, "helm registry login: {}", h.stderr);
    let helm_dest = home.join("helm-out");
    fs::create_dir_all(&helm_dest).unwrap();
    let h = helm(
        home,
        &[
            "pull",
            &format!("{remote}/webapp"),
            "--version",
            "3.1.4",
            "--plain-http",
            "-d",
            helm_dest.to_str().unwrap(),
        ],
    );
    assert!(h.ok, "helm pull: {}", h.stderr);
    assert_eq!(
        fs::read(helm_dest.join("webapp-3.1.4.tgz")).unwrap(),
        fs::read(&pkg).unwrap()
    );

    // With nothing stored, credentials on the command line get the token: `template`
    // renders straight from the registry and nothing is written to the config.
    let fresh = tempfile::tempdir().unwrap();
    let chart = format!("{remote}/webapp");
    let template = |extra: &[&str]| {
        let mut args = vec![
            "template",
            "rel",
            &chart,
            "--version",
            "3.1.4",
            "--plain-http",
        ];
        args.extend(extra);
        rudder(fresh.path(), &args)
    };
    // The token server, not the registry, refuses: the error names it.
    let err = fails(template(&[]));
    let realm = format!("http://127.0.0.1:{}/token", tokens.port);
    assert!(
        err.contains("401") && err.contains(&format!("token service {realm}")),
        "{err}"
    );
    let out = ok(template(&["--username", USER, "--password", PASSWORD]));
    assert!(
        out.contains("name: rel-webapp") && out.contains("version: 3.1.4"),
        "{out}"
    );
    assert!(!fresh.path().join("config/registry/config.json").exists());
}
