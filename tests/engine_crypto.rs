//! The certificate functions (`genCA`, `genSelfSignedCert`, `genSignedCert`, their `WithKey`
//! forms, `genPrivateKey`, `buildCustomCert`) make real certificates: parsed with
//! x509-parser, chains verified with rustls's WebPKI verifier, and exchanged both ways with
//! the real helm (v4.1.4, `scripts/install-peers`).

mod peers;

use std::sync::Arc;

use base64::Engine as _;
use rudder::engine::{LookupFn, RenderOptions, render};
use rustls::client::danger::ServerCertVerifier as _;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use serde_json::{Value, json};
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::public_key::PublicKey;

const DAY: i64 = 24 * 60 * 60;

fn try_render(template: &str, values: Value, lookup: Option<LookupFn>) -> Result<String, String> {
    let values = values.as_object().cloned().unwrap_or_default();
    let options = RenderOptions {
        lookup,
        ..Default::default()
    };
    render(&peers::chart(template), &values, &options)
        .map(|r| r.templates[0].content.clone())
        .map_err(|e| e.to_string())
}

fn render_ok(template: &str) -> String {
    try_render(template, json!({}), None).unwrap_or_else(|e| panic!("render failed: {e}"))
}

fn render_err(template: &str) -> String {
    match try_render(template, json!({}), None) {
        Ok(out) => panic!("expected an error, rendered {out}"),
        Err(e) => e,
    }
}

/// Renders a template that prints a `{Cert, Key}` object with `toJson`.
fn render_pair(template: &str) -> (String, String) {
    let out: Value = serde_json::from_str(&render_ok(template)).expect("the template prints JSON");
    (
        out["Cert"].as_str().expect("Cert").to_string(),
        out["Key"].as_str().expect("Key").to_string(),
    )
}

fn cert_der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).expect("a PEM certificate")
}

fn parse<'a>(der: &'a CertificateDer<'_>) -> X509Certificate<'a> {
    x509_parser::parse_x509_certificate(der)
        .expect("a valid X.509 certificate")
        .1
}

fn common_name(cert: &X509Certificate<'_>) -> String {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn is_ca(cert: &X509Certificate<'_>) -> bool {
    cert.basic_constraints()
        .unwrap()
        .expect("a basicConstraints extension")
        .value
        .ca
}

fn valid_days(cert: &X509Certificate<'_>) -> i64 {
    let v = cert.validity();
    let span = v.not_after.timestamp() - v.not_before.timestamp();
    assert_eq!(span % DAY, 0, "validity is a whole number of days");
    let age = time_now() - v.not_before.timestamp();
    assert!((0..120).contains(&age), "notBefore is now (age {age}s)");
    span / DAY
}

fn time_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// (DNS names, IP addresses) of the subjectAltName extension.
fn sans(cert: &X509Certificate<'_>) -> (Vec<String>, Vec<String>) {
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    if let Some(ext) = cert.subject_alternative_name().unwrap() {
        for name in &ext.value.general_names {
            match name {
                GeneralName::DNSName(n) => dns.push(n.to_string()),
                GeneralName::IPAddress(b) => ips.push(match b.len() {
                    4 => std::net::IpAddr::from(<[u8; 4]>::try_from(*b).unwrap()).to_string(),
                    _ => std::net::IpAddr::from(<[u8; 16]>::try_from(*b).unwrap()).to_string(),
                }),
                other => panic!("unexpected SAN {other:?}"),
            }
        }
    }
    (dns, ips)
}

fn rsa_bits(cert: &X509Certificate<'_>) -> usize {
    match cert.public_key().parsed().unwrap() {
        PublicKey::RSA(rsa) => rsa.key_size(),
        other => panic!("expected an RSA key, got {other:?}"),
    }
}

/// Verifies `leaf` as a TLS server certificate for `name` against the trust anchor `ca`.
fn verify_chain(ca_pem: &str, leaf_pem: &str, name: &str) -> Result<(), rustls::Error> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(cert_der(ca_pem))
        .expect("the CA is a usable trust anchor");
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::new(rustls::crypto::ring::default_provider()),
    )
    .build()
    .unwrap();
    verifier
        .verify_server_cert(
            &cert_der(leaf_pem),
            &[],
            &ServerName::try_from(name.to_string()).unwrap(),
            &[],
            UnixTime::now(),
        )
        .map(|_| ())
}

fn key_identifiers(cert: &X509Certificate<'_>) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
    let mut ski = None;
    let mut aki = None;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(k) => ski = Some(k.0.to_vec()),
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                aki = a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => {}
        }
    }
    (ski, aki)
}

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

#[test]
fn gen_ca_makes_an_rsa_2048_ca_valid_for_the_given_days() {
    let (cert, key) = render_pair(r#"{{ genCA(cn="my-ca", days=365) | toJson }}"#);
    assert!(cert.starts_with("-----BEGIN CERTIFICATE-----\n"), "{cert}");
    assert!(cert.ends_with("-----END CERTIFICATE-----\n"));
    assert!(
        key.starts_with("-----BEGIN RSA PRIVATE KEY-----\n"),
        "helm writes PKCS#1 RSA keys: {key}"
    );
    let der = cert_der(&cert);
    let x = parse(&der);
    assert_eq!(common_name(&x), "my-ca");
    assert_eq!(x.subject(), x.issuer(), "self-signed");
    assert!(is_ca(&x));
    assert!(x.key_usage().unwrap().unwrap().value.key_cert_sign());
    assert_eq!(valid_days(&x), 365);
    assert_eq!(rsa_bits(&x), 2048);
    assert!(x.verify_signature(None).is_ok(), "signed by its own key");
    // The key in `Key` is the certificate's key.
    let pair =
        rcgen::KeyPair::try_from(&PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap()).unwrap();
    use rcgen::PublicKeyData as _;
    assert_eq!(
        pair.der_bytes(),
        x.public_key().subject_public_key.data.as_ref()
    );
}

#[test]
fn gen_self_signed_cert_carries_the_names_and_is_not_a_ca() {
    let template = r#"{{ genSelfSignedCert(cn="web.example.com", ips=["10.0.0.1", "::1"], alternateNames=["web.example.com", "*.web.example.com"], days=30) | toJson }}"#;
    let (cert, key) = render_pair(template);
    assert!(key.starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let der = cert_der(&cert);
    let x = parse(&der);
    assert_eq!(common_name(&x), "web.example.com");
    assert!(!is_ca(&x), "a leaf says CA:FALSE, as sprig's");
    assert_eq!(valid_days(&x), 30);
    assert_eq!(rsa_bits(&x), 2048);
    assert_eq!(
        sans(&x),
        (
            vec![
                "web.example.com".to_string(),
                "*.web.example.com".to_string()
            ],
            vec!["10.0.0.1".to_string(), "::1".to_string()]
        )
    );
    // A self-signed server certificate is its own trust anchor.
    verify_chain(&cert, &cert, "web.example.com").unwrap_or_else(|e| panic!("{e}"));

    // Every render makes new keys and serials (helm does the same).
    let (again, again_key) = render_pair(template);
    assert_ne!(again, cert);
    assert_ne!(again_key, key);
    let again_der = cert_der(&again);
    assert_ne!(parse(&again_der).raw_serial(), x.raw_serial());

    // ips and alternateNames may be left out or null.
    let (bare, _) = render_pair(r#"{{ genSelfSignedCert(cn="bare", ips=none, days=1) | toJson }}"#);
    let bare_der = cert_der(&bare);
    assert_eq!(sans(&parse(&bare_der)), (vec![], vec![]));
}

#[test]
fn gen_signed_cert_chains_to_its_ca() {
    let out = render_ok(
        r#"{% set ca = genCA(cn="webhook-ca", days=3650) -%}
{% set leaf = genSignedCert(cn="webhook.ns.svc", ips=["192.168.1.10"], alternateNames=["webhook", "webhook.ns.svc"], days=365, ca=ca) -%}
{{ {"ca": ca, "leaf": leaf} | toJson }}"#,
    );
    let out: Value = serde_json::from_str(&out).unwrap();
    let ca = out["ca"]["Cert"].as_str().unwrap();
    let leaf = out["leaf"]["Cert"].as_str().unwrap();
    assert!(
        out["leaf"]["Key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    let ca_der = cert_der(ca);
    let leaf_der = cert_der(leaf);
    let (ca_x, leaf_x) = (parse(&ca_der), parse(&leaf_der));
    assert_eq!(common_name(&leaf_x), "webhook.ns.svc");
    assert_eq!(leaf_x.issuer(), ca_x.subject());
    assert!(!is_ca(&leaf_x));
    assert_eq!(valid_days(&leaf_x), 365);
    assert_eq!(valid_days(&ca_x), 3650);
    assert!(
        leaf_x.verify_signature(Some(ca_x.public_key())).is_ok(),
        "signed by the CA's key"
    );
    let (ca_ski, _) = key_identifiers(&ca_x);
    let (_, leaf_aki) = key_identifiers(&leaf_x);
    assert!(ca_ski.is_some());
    assert_eq!(leaf_aki, ca_ski, "authorityKeyIdentifier names the CA");

    // A real TLS verifier accepts the chain for every name in the certificate…
    for name in ["webhook", "webhook.ns.svc", "192.168.1.10"] {
        verify_chain(ca, leaf, name).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    // …and not for other names, nor against another CA.
    assert!(verify_chain(ca, leaf, "other.ns.svc").is_err());
    let (other_ca, _) = render_pair(r#"{{ genCA(cn="webhook-ca", days=1) | toJson }}"#);
    assert!(verify_chain(&other_ca, leaf, "webhook").is_err());
}

#[test]
fn gen_private_key_makes_each_type_and_with_key_forms_use_it() {
    let out = render_ok(
        r#"{% set rsa = genPrivateKey(type="rsa") -%}
{% set ec = genPrivateKey(type="ecdsa") -%}
{% set ed = genPrivateKey(type="ed25519") -%}
{% set ca = genCAWithKey(cn="ec-ca", days=10, key=ec) -%}
{{ {"rsa": rsa, "ec": ec, "ed": ed, "ca": ca,
    "rsaCert": genSelfSignedCertWithKey(cn="r", ips=[], alternateNames=["r"], days=1, key=rsa),
    "edCert": genSelfSignedCertWithKey(cn="e", alternateNames=["e"], days=1, key=ed),
    "leaf": genSignedCertWithKey(cn="leaf", alternateNames=["leaf"], days=2, ca=ca, key=ed)} | toJson }}"#,
    );
    let out: Value = serde_json::from_str(&out).unwrap();
    let text = |path: &str| {
        out.pointer(path)
            .and_then(Value::as_str)
            .unwrap()
            .to_string()
    };
    // Go's PEM forms: PKCS#1 for RSA, SEC1 for ECDSA, PKCS#8 for Ed25519.
    assert!(text("/rsa").starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(text("/ec").starts_with("-----BEGIN EC PRIVATE KEY-----"));
    assert!(text("/ed").starts_with("-----BEGIN PRIVATE KEY-----"));

    // genPrivateKey's RSA keys are 4096 bits, as sprig's.
    let rsa_cert = cert_der(&text("/rsaCert/Cert"));
    assert_eq!(rsa_bits(&parse(&rsa_cert)), 4096);
    assert_eq!(
        text("/rsaCert/Key"),
        text("/rsa"),
        "the given key is returned"
    );

    // The ECDSA key is P-256 and signs with ecdsa-with-SHA256.
    let ca_der = cert_der(&text("/ca/Cert"));
    let ca = parse(&ca_der);
    assert_eq!(text("/ca/Key"), text("/ec"));
    assert!(is_ca(&ca));
    match ca.public_key().parsed().unwrap() {
        PublicKey::EC(point) => assert_eq!(point.key_size(), 256),
        other => panic!("expected an EC key, got {other:?}"),
    }
    assert_eq!(
        ca.signature_algorithm.algorithm,
        x509_parser::oid_registry::OID_SIG_ECDSA_WITH_SHA256
    );
    let ed_der = cert_der(&text("/edCert/Cert"));
    assert_eq!(
        parse(&ed_der).signature_algorithm.algorithm,
        x509_parser::oid_registry::OID_SIG_ED25519
    );
    // An Ed25519 leaf signed by the ECDSA CA verifies.
    verify_chain(&text("/ca/Cert"), &text("/leaf/Cert"), "leaf").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(text("/leaf/Key"), text("/ed"));

    // Each call is a new key.
    assert_ne!(
        render_ok(r#"{{ genPrivateKey(type="ecdsa") }}"#),
        render_ok(r#"{{ genPrivateKey(type="ecdsa") }}"#)
    );
}

#[test]
fn build_custom_cert_reads_base64_pem_and_keeps_it() {
    let (cert, key) = render_pair(r#"{{ genCA(cn="kept", days=5) | toJson }}"#);
    let values = json!({"tls": {"crt": b64(&cert), "key": b64(&key)}});
    let out = try_render(
        r#"{% set c = buildCustomCert(cert=Values.tls.crt, key=Values.tls.key) -%}
{% set leaf = genSignedCert(cn="svc", alternateNames=["svc"], days=1, ca=c) -%}
{{ {"c": c, "leaf": leaf} | toJson }}"#,
        values,
        None,
    )
    .unwrap();
    let out: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(out["c"]["Cert"], cert.as_str());
    assert_eq!(out["c"]["Key"], key.as_str());
    verify_chain(&cert, out["leaf"]["Cert"].as_str().unwrap(), "svc").unwrap();
}

#[test]
fn the_lookup_pattern_keeps_an_existing_certificate() {
    // The usual chart pattern: reuse the Secret already in the cluster, generate otherwise.
    let template = r#"{% set existing = lookup(apiVersion="v1", kind="Secret", namespace="ns", name="webhook-tls") -%}
{% if existing.data is defined -%}
{% set tls = buildCustomCert(cert=existing.data["tls.crt"], key=existing.data["tls.key"]) -%}
{% else -%}
{% set tls = genSelfSignedCert(cn="webhook", alternateNames=["webhook"], days=365) -%}
{% endif -%}
tls.crt: {{ tls.Cert | b64enc }}
tls.key: {{ tls.Key | b64enc }}"#;
    let fresh = try_render(template, json!({}), None).unwrap();
    let crt = fresh
        .lines()
        .next()
        .unwrap()
        .strip_prefix("tls.crt: ")
        .unwrap()
        .to_string();
    let key = fresh
        .lines()
        .nth(1)
        .unwrap()
        .strip_prefix("tls.key: ")
        .unwrap()
        .to_string();
    let secret = json!({"data": {"tls.crt": crt, "tls.key": key}});
    let lookup: LookupFn = Arc::new(move |_: &str, _: &str, _: &str, name: &str| {
        assert_eq!(name, "webhook-tls");
        Ok(secret.clone())
    });
    let kept = try_render(template, json!({}), Some(lookup)).unwrap();
    assert_eq!(kept, fresh, "the existing certificate is rendered again");
    // Offline, every render is new.
    assert_ne!(try_render(template, json!({}), None).unwrap(), fresh);
}

#[test]
fn bad_arguments_are_errors_naming_the_template_and_the_problem() {
    let cases = [
        (
            r#"{{ genCA(cn="x") }}"#,
            "genCA: missing keyword argument `days`",
        ),
        (
            r#"{{ genCA(cn="x", days=0) }}"#,
            "genCA: `days` must be between 1 and",
        ),
        (
            r#"{{ genCA(cn="x", days="soon") }}"#,
            "genCA: wrong type for value; expected int; got string",
        ),
        (
            r#"{{ genCA(days=1) }}"#,
            "genCA: missing keyword argument `cn`",
        ),
        (
            r#"{{ genSelfSignedCert(cn="x", ips=["10.0.0.300"], days=1) }}"#,
            "genSelfSignedCert: error parsing ip: 10.0.0.300",
        ),
        (
            r#"{{ genSelfSignedCert(cn="x", alternateNames="a.example", days=1) }}"#,
            "genSelfSignedCert: wrong type for value; expected []interface {}; got string",
        ),
        (
            r#"{{ genSelfSignedCert(cn="x", alternateNames=["é.example"], days=1) }}"#,
            "genSelfSignedCert: `alternateNames` entry `é.example` is not a DNS name (ASCII only)",
        ),
        (
            r#"{{ genSignedCert(cn="x", days=1, ca="not-a-ca") }}"#,
            "genSignedCert: wrong type for value; expected sprig.certificate; got string",
        ),
        (
            r#"{{ genSignedCert(cn="x", days=1, ca={"Cert": "junk", "Key": "junk"}) }}"#,
            "genSignedCert: the CA's `Cert` is not a PEM certificate",
        ),
        (
            r#"{% set a = genCA(cn="a", days=1) %}{% set b = genCA(cn="b", days=1) %}{{ genSignedCert(cn="x", days=1, ca={"Cert": a.Cert, "Key": b.Key}) }}"#,
            "genSignedCert: the CA's `Key` does not belong to its `Cert`",
        ),
        (
            r#"{{ genPrivateKey(type="dsa") }}"#,
            "genPrivateKey: DSA keys are not supported",
        ),
        (
            r#"{{ genPrivateKey(type="x448") }}"#,
            "genPrivateKey: unknown key type `x448`",
        ),
        (
            r#"{{ genCAWithKey(cn="x", days=1, key="nope") }}"#,
            "genCAWithKey: `key` is not a PEM private key",
        ),
        (
            r#"{{ buildCustomCert(cert="%%%", key="") }}"#,
            "buildCustomCert: `cert` is not valid base64",
        ),
        (
            r#"{{ buildCustomCert(cert="aGVsbG8=", key="aGVsbG8=") }}"#,
            "buildCustomCert: `cert` is not a PEM certificate",
        ),
    ];
    let mismatches: Vec<String> = cases
        .iter()
        .map(|(template, expected)| (template, expected, render_err(template)))
        .filter(|(_, expected, e)| {
            !e.contains("mychart/templates/t.yaml") || !e.contains(*expected)
        })
        .map(|(template, expected, e)| format!("{template}:\n  {e}\nshould contain\n  {expected}"))
        .collect();
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// `key: value` lines of a rendered document.
fn field(rendered: &str, key: &str) -> String {
    rendered
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no {key} in {rendered}"))
        .trim()
        .to_string()
}

fn unb64(text: &str) -> String {
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
    )
    .unwrap()
}

#[test]
fn certificates_are_exchanged_with_helm_both_ways() {
    let tmp = tempfile::tempdir().unwrap();

    // helm's CA signs in rudder: its key form (PKCS#1) and its subject encoding are read.
    let dir = tmp.path().join("helm-ca");
    let helm_ca = peers::helm_template(
        &dir,
        &dir.join("home"),
        "{{- $ca := genCA \"helm-ca\" 30 }}\ncrt: {{ $ca.Cert | b64enc }}\nkey: {{ $ca.Key | b64enc }}\n",
        &[],
    );
    let (ca_crt, ca_key) = (field(&helm_ca, "crt"), field(&helm_ca, "key"));
    assert!(unb64(&ca_key).starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    let ours = try_render(
        r#"{% set ca = buildCustomCert(cert=Values.crt, key=Values.key) -%}
{% set leaf = genSignedCert(cn="svc", alternateNames=["svc.ns.svc"], days=7, ca=ca) -%}
{{ leaf.Cert }}"#,
        json!({"crt": ca_crt, "key": ca_key}),
        None,
    )
    .unwrap();
    verify_chain(&unb64(&ca_crt), &ours, "svc.ns.svc")
        .unwrap_or_else(|e| panic!("rudder's leaf under helm's CA: {e}"));

    // rudder's CA signs in helm: helm parses our certificate and PKCS#1 key.
    let (cert, key) = render_pair(r#"{{ genCA(cn="rudder-ca", days=30) | toJson }}"#);
    let dir = tmp.path().join("rudder-ca");
    let from_helm = peers::helm_template(
        &dir,
        &dir.join("home"),
        "{{- $ca := buildCustomCert .Values.crt .Values.key }}\n{{- $leaf := genSignedCert \"svc\" nil (list \"svc.ns.svc\") 7 $ca }}\nleaf: {{ $leaf.Cert | b64enc }}\n",
        &[("crt", &b64(&cert)), ("key", &b64(&key))],
    );
    let helm_leaf = unb64(&field(&from_helm, "leaf"));
    verify_chain(&cert, &helm_leaf, "svc.ns.svc")
        .unwrap_or_else(|e| panic!("helm's leaf under rudder's CA: {e}"));

    // Same certificate shape as helm's: a 2048-bit RSA CA, CN only, CA flag, whole days.
    let helm_der = cert_der(&unb64(&ca_crt));
    let helm_x = parse(&helm_der);
    let our_der = cert_der(&cert);
    let our_x = parse(&our_der);
    assert_eq!(rsa_bits(&helm_x), rsa_bits(&our_x));
    assert_eq!(is_ca(&helm_x), is_ca(&our_x));
    assert_eq!(valid_days(&helm_x), valid_days(&our_x));
    assert_eq!(
        helm_x.key_usage().unwrap().unwrap().value.flags,
        our_x.key_usage().unwrap().unwrap().value.flags
    );
}
