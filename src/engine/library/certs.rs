//! Certificates and keys with sprig's semantics, behind `genCA`, `genSelfSignedCert`,
//! `genSignedCert` (and their `…WithKey` forms), `genPrivateKey` and `buildCustomCert`.
//!
//! Like sprig's, every call makes fresh keys and serial numbers, so each render gives new
//! certificates; charts keep an existing Secret with `lookup`. Keys are RSA 2048 (helm's
//! default) unless a `…WithKey` form is given another; key PEM is written in Go's forms
//! (`RSA PRIVATE KEY` = PKCS#1, `EC PRIVATE KEY` = SEC1, `PRIVATE KEY` = PKCS#8 for Ed25519).
//! Nothing here touches files, the environment or the network.

use std::net::IpAddr;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use base64::Engine as _;
use rand::RngCore as _;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PublicKeyData as _, SanType, SerialNumber,
};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};

/// A certificate function's result: the value, or why it failed (naming the function).
type CertResult<T> = Result<T, String>;

/// The longest validity accepted: certificates must end before the year 9999.
const MAX_DAYS: i64 = 2_500_000;

/// A private key in the PEM form Go's `x509` writes it, plus the key pair that signs.
struct PrivateKey {
    pem: String,
    pair: KeyPair,
}

/// Wraps DER in PEM armour the way Go's `pem.Encode` does (64 columns, final newline).
fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// Splits one DER element off `input`: (tag, contents, rest).
fn der_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// The PKCS#1 `RSAPrivateKey` inside a PKCS#8 `PrivateKeyInfo`.
fn pkcs8_to_pkcs1(pkcs8: &[u8]) -> Option<Vec<u8>> {
    let (0x30, info, _) = der_element(pkcs8)? else {
        return None;
    };
    let (0x02, _version, rest) = der_element(info)? else {
        return None;
    };
    let (0x30, _algorithm, rest) = der_element(rest)? else {
        return None;
    };
    let (0x04, key, _) = der_element(rest)? else {
        return None;
    };
    Some(key.to_vec())
}

fn key_error(func: &str, e: impl std::fmt::Display) -> String {
    format!("{func}: could not generate a key: {e}")
}

/// A fresh RSA key of `bits` bits, PEM as PKCS#1.
fn generate_rsa(func: &str, bits: aws_lc_rs::rsa::KeySize) -> CertResult<PrivateKey> {
    let pair = aws_lc_rs::rsa::KeyPair::generate(bits).map_err(|e| key_error(func, e))?;
    let pkcs8: Pkcs8V1Der = pair.as_der().map_err(|e| key_error(func, e))?;
    let pkcs1 = pkcs8_to_pkcs1(pkcs8.as_ref())
        .ok_or_else(|| key_error(func, "unexpected PKCS#8 layout"))?;
    generated(
        func,
        "RSA PRIVATE KEY",
        PrivatePkcs1KeyDer::from(pkcs1).into(),
    )
}

/// A fresh ECDSA P-256 key, PEM as SEC1 with the curve named (Go's `MarshalECPrivateKey`).
fn generate_ecdsa(func: &str) -> CertResult<PrivateKey> {
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
    let pair =
        EcdsaKeyPair::generate(&ECDSA_P256_SHA256_ASN1_SIGNING).map_err(|e| key_error(func, e))?;
    let sec1 = pair
        .private_key()
        .as_der()
        .map_err(|e| key_error(func, e))?;
    let sec1 = sec1.as_ref().to_vec();
    generated(func, "EC PRIVATE KEY", PrivateSec1KeyDer::from(sec1).into())
}

/// A fresh Ed25519 key, PEM as PKCS#8 v1 (Go's `MarshalPKCS8PrivateKey`).
fn generate_ed25519(func: &str) -> CertResult<PrivateKey> {
    let pair = aws_lc_rs::signature::Ed25519KeyPair::generate().map_err(|e| key_error(func, e))?;
    let pkcs8: Pkcs8V1Der = pair.as_der().map_err(|e| key_error(func, e))?;
    let pkcs8 = pkcs8.as_ref().to_vec();
    generated(func, "PRIVATE KEY", PrivatePkcs8KeyDer::from(pkcs8).into())
}

/// A freshly generated key `der`, PEM-encoded under `label`.
fn generated(func: &str, label: &str, der: PrivateKeyDer<'static>) -> CertResult<PrivateKey> {
    let pair = KeyPair::try_from(&der).map_err(|e| key_error(func, e))?;
    Ok(PrivateKey {
        pem: pem_encode(label, der.secret_der()),
        pair,
    })
}

/// Parses a PEM private key (PKCS#1, SEC1 or PKCS#8; RSA, ECDSA or Ed25519).
fn parse_key(func: &str, what: &str, pem: &str) -> CertResult<PrivateKey> {
    let der = PrivateKeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| {
        format!(
            "{func}: {what} is not a PEM private key (expected an RSA, ECDSA or Ed25519 key \
             as `RSA PRIVATE KEY`, `EC PRIVATE KEY` or `PRIVATE KEY`)"
        )
    })?;
    let pair =
        KeyPair::try_from(&der).map_err(|e| format!("{func}: {what} cannot be used: {e}"))?;
    Ok(PrivateKey {
        pem: pem.to_string(),
        pair,
    })
}

/// Parses the first `CERTIFICATE` block of a PEM text.
fn parse_cert(func: &str, what: &str, pem: &str) -> CertResult<CertificateDer<'static>> {
    let der = cert_der(func, what, pem)?;
    parse_x509(func, what, &der)?;
    Ok(der)
}

/// The DER bytes of the PEM certificate `pem`, not yet parsed.
fn cert_der(func: &str, what: &str, pem: &str) -> CertResult<CertificateDer<'static>> {
    CertificateDer::from_pem_slice(pem.as_bytes())
        .map_err(|_| format!("{func}: {what} is not a PEM certificate (no `CERTIFICATE` block)"))
}

/// The certificate in `der`, parsed (`what` names it in errors).
fn parse_x509<'a>(
    func: &str,
    what: &str,
    der: &'a [u8],
) -> CertResult<x509_parser::certificate::X509Certificate<'a>> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|e| format!("{func}: {what} is not a valid certificate: {e}"))
}

/// What the certificate says about its subject, from the keyword arguments.
struct Subject {
    cn: String,
    sans: Vec<SanType>,
    days: i64,
}

/// The subject from plain values: IP addresses and DNS names checked.
fn subject_from(
    func: &str,
    cn: String,
    days: i64,
    ips: &[String],
    names: &[String],
) -> CertResult<Subject> {
    let mut sans = Vec::new();
    {
        for ip in ips {
            let addr: IpAddr = ip
                .trim()
                .parse()
                .map_err(|_| format!("{func}: `ips` entry `{ip}` is not an IP address"))?;
            sans.push(SanType::IpAddress(addr));
        }
        for name in names {
            let dns = name.as_str().try_into().map_err(|_| {
                format!("{func}: `alternateNames` entry `{name}` is not a DNS name (ASCII only)")
            })?;
            sans.push(SanType::DnsName(dns));
        }
    }
    Ok(Subject { cn, sans, days })
}

/// sprig's certificate template: CN only, now → now + days, a random 128-bit serial, server
/// and client auth; CAs may sign certificates, leaves say explicitly that they are no CA.
fn cert_params(subject: Subject, is_ca: bool) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, subject.cn);
    params.distinguished_name = dn;
    let now = ::time::OffsetDateTime::now_utc();
    params.not_before = now;
    params.not_after = now + ::time::Duration::days(subject.days);
    let mut serial = [0u8; 16];
    rand::rng().fill_bytes(&mut serial);
    serial[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from_slice(&serial));
    params.subject_alt_names = subject.sans;
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    if is_ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyCertSign,
        ];
    } else {
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::KeyEncipherment,
            KeyUsagePurpose::DigitalSignature,
        ];
    }
    params
}

fn cert_error(func: &str, e: rcgen::Error) -> String {
    format!("{func}: could not make the certificate: {e}")
}

/// A self-signed certificate for `subject` with `key`: (certificate PEM, key PEM).
fn self_signed_pem(
    func: &str,
    subject: Subject,
    key: PrivateKey,
    is_ca: bool,
) -> CertResult<(String, String)> {
    let cert = cert_params(subject, is_ca)
        .self_signed(&key.pair)
        .map_err(|e| cert_error(func, e))?;
    Ok((pem_encode("CERTIFICATE", cert.der()), key.pem))
}

/// A certificate signed by the CA `ca_cert_pem`/`ca_key_pem`, for the subject and key the
/// closures give (asked for after the CA is checked): (certificate PEM, key PEM).
fn signed_pem(
    func: &str,
    ca_cert_pem: &str,
    ca_key_pem: &str,
    subject: impl FnOnce() -> CertResult<Subject>,
    key_for: impl FnOnce() -> CertResult<PrivateKey>,
) -> CertResult<(String, String)> {
    let ca_cert = cert_der(func, "the CA's `Cert`", ca_cert_pem)?;
    let parsed = parse_x509(func, "the CA's `Cert`", &ca_cert)?;
    let ca_key = parse_key(func, "the CA's `Key`", ca_key_pem)?;
    if parsed.public_key().subject_public_key.data.as_ref() != ca_key.pair.der_bytes() {
        return Err(format!(
            "{func}: the CA's `Key` does not belong to its `Cert`"
        ));
    }
    let subject = subject()?;
    let key = key_for()?;
    let issuer = Issuer::from_ca_cert_der(&ca_cert, &ca_key.pair)
        .map_err(|e| format!("{func}: the CA's `Cert` cannot sign: {e}"))?;
    // Like Go, name the CA's key identifier only when the CA certificate has one.
    let ca_has_key_id = parsed.iter_extensions().any(|ext| {
        matches!(
            ext.parsed_extension(),
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(_)
        )
    });
    let mut params = cert_params(subject, false);
    params.use_authority_key_identifier_extension = ca_has_key_id;
    let cert = params
        .signed_by(&key.pair, &issuer)
        .map_err(|e| cert_error(func, e))?;
    Ok((pem_encode("CERTIFICATE", cert.der()), key.pem))
}

/// A fresh PEM private key of `kind` ("rsa" 4096 bits, "ecdsa" P-256, "ed25519").
fn private_key_pem(kind: &str) -> CertResult<String> {
    const FUNC: &str = "genPrivateKey";
    let key = match kind {
        "rsa" => generate_rsa(FUNC, aws_lc_rs::rsa::KeySize::Rsa4096)?,
        "ecdsa" => generate_ecdsa(FUNC)?,
        "ed25519" => generate_ed25519(FUNC)?,
        "dsa" => {
            return Err(String::from(
                "genPrivateKey: DSA keys are not supported (DSA is deprecated); use \"rsa\", \
                 \"ecdsa\" or \"ed25519\"",
            ));
        }
        other => {
            return Err(format!(
                "genPrivateKey: unknown key type `{other}` (expected \"rsa\", \"ecdsa\" or \
                 \"ed25519\")"
            ));
        }
    };
    Ok(key.pem)
}

fn decode_b64(func: &str, what: &str, text: &str) -> CertResult<String> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| format!("{func}: `{what}` is not valid base64: {e}"))?;
    String::from_utf8(bytes).map_err(|_| format!("{func}: `{what}` does not decode to PEM text"))
}

/// `buildCustomCert`'s check: the base64 PEM texts decoded and parsed.
fn custom_cert_pem(cert_b64: &str, key_b64: &str) -> CertResult<(String, String)> {
    const FUNC: &str = "buildCustomCert";
    let cert = decode_b64(FUNC, "cert", cert_b64)?;
    let key = decode_b64(FUNC, "key", key_b64)?;
    parse_cert(FUNC, "`cert`", &cert)?;
    parse_key(FUNC, "`key`", &key)?;
    Ok((cert, key))
}

/// What a certificate is made for: its common name, SANs and validity in days.
pub struct CertRequest<'a> {
    pub cn: &'a str,
    pub ips: &'a [String],
    pub names: &'a [String],
    pub days: i64,
}

fn plain_subject(func: &str, req: &CertRequest<'_>) -> CertResult<Subject> {
    if !(1..=MAX_DAYS).contains(&req.days) {
        return Err(format!(
            "{func}: `days` must be between 1 and {MAX_DAYS}, got {}",
            req.days
        ));
    }
    subject_from(func, req.cn.to_string(), req.days, req.ips, req.names)
}

fn plain_key(func: &str, key_pem: Option<&str>) -> CertResult<PrivateKey> {
    match key_pem {
        Some(pem) => parse_key(func, "`key`", pem),
        None => generate_rsa(func, aws_lc_rs::rsa::KeySize::Rsa2048),
    }
}

/// A self-signed certificate (a CA when `is_ca`), with `key_pem` or a fresh RSA 2048 key:
/// (certificate PEM, key PEM).
pub fn self_signed_cert(
    func: &str,
    req: &CertRequest<'_>,
    key_pem: Option<&str>,
    is_ca: bool,
) -> Result<(String, String), String> {
    let subject = plain_subject(func, req)?;
    let key = plain_key(func, key_pem)?;
    self_signed_pem(func, subject, key, is_ca)
}

/// A certificate signed by the CA (`ca_cert`, `ca_key` PEM), with `key_pem` or a fresh key.
pub fn signed_cert(
    func: &str,
    req: &CertRequest<'_>,
    ca_cert: &str,
    ca_key: &str,
    key_pem: Option<&str>,
) -> Result<(String, String), String> {
    signed_pem(
        func,
        ca_cert,
        ca_key,
        || plain_subject(func, req),
        || plain_key(func, key_pem),
    )
}

/// A fresh PEM private key: "rsa" (4096 bits), "ecdsa" (P-256) or "ed25519".
pub fn private_key(kind: &str) -> Result<String, String> {
    private_key_pem(kind)
}

/// `buildCustomCert` from base64 PEM texts: (certificate PEM, key PEM).
pub fn custom_cert(cert_b64: &str, key_b64: &str) -> Result<(String, String), String> {
    custom_cert_pem(cert_b64, key_b64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypto_pem_is_wrapped_like_go() {
        let pem = pem_encode("CERTIFICATE", &[0u8; 60]);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines[2].len(), 16);
        assert_eq!(lines[3], "-----END CERTIFICATE-----");
        assert!(pem.ends_with("-----\n"));
    }

    #[test]
    fn crypto_der_reader_rejects_truncated_input() {
        assert_eq!(der_element(&[0x30, 0x05, 1, 2]), None);
        assert_eq!(der_element(&[0x30, 0x82, 0x01]), None);
        assert_eq!(
            der_element(&[0x04, 0x02, 7, 8, 9]),
            Some((0x04, &[7u8, 8][..], &[9u8][..]))
        );
        assert_eq!(pkcs8_to_pkcs1(&[0x30, 0x00]), None);
    }
}
