//! How the sql driver secures its connection: libpq's `sslmode` (`disable`, `prefer` — the
//! default —, `require`, `verify-ca`, `verify-full`) and `sslrootcert` over rustls, so the
//! connection strings helm users already have (managed PostgreSQL services included) work
//! unchanged. tokio-postgres itself knows only `disable`/`prefer`/`require` and no
//! certificate options: those are taken out of the string here and enforced by the
//! verifier.

use std::path::PathBuf;
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// The TLS options of a connection string, and the string left for tokio-postgres.
#[derive(Debug, PartialEq)]
pub struct TlsOptions {
    pub mode: SslMode,
    /// `sslrootcert`: the CA certificates to trust (PEM).
    pub root_cert: Option<PathBuf>,
    /// The connection string with `sslmode` as tokio-postgres understands it and without
    /// `sslrootcert`.
    pub connection: String,
}

/// Splits the TLS options out of a libpq connection string (`key=value …` or a
/// `postgres://` / `postgresql://` URL).
pub fn split(connection: &str) -> Result<TlsOptions, String> {
    let is_url = connection.starts_with("postgres://") || connection.starts_with("postgresql://");
    let (mut mode, mut root_cert) = (None, None);
    let mut take = |key: &str, value: String| -> Result<bool, String> {
        match key {
            "sslmode" => {
                mode = Some(match value.as_str() {
                    "disable" | "allow" => SslMode::Disable,
                    "prefer" => SslMode::Prefer,
                    "require" => SslMode::Require,
                    "verify-ca" => SslMode::VerifyCa,
                    "verify-full" => SslMode::VerifyFull,
                    other => {
                        return Err(format!(
                            "invalid sslmode {other:?}: expected disable, allow, prefer, require, verify-ca or verify-full"
                        ));
                    }
                })
            }
            "sslrootcert" => root_cert = Some(PathBuf::from(value)),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let mut kept = Vec::new();
    let base = if is_url {
        let (base, query) = connection.split_once('?').unwrap_or((connection, ""));
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(k, percent_decode(v))? {
                kept.push(pair.to_string());
            }
        }
        base.to_string()
    } else {
        for (k, v, raw) in key_values(connection)? {
            if !take(&k, v)? {
                kept.push(raw);
            }
        }
        String::new()
    };
    let mode = mode.unwrap_or(SslMode::Prefer);
    let tokio_mode = match mode {
        SslMode::Disable => "disable",
        SslMode::Prefer => "prefer",
        _ => "require",
    };
    let connection = if is_url {
        kept.push(format!("sslmode={tokio_mode}"));
        format!("{base}?{}", kept.join("&"))
    } else {
        kept.push(format!("sslmode={tokio_mode}"));
        kept.join(" ")
    };
    Ok(TlsOptions {
        mode,
        root_cert,
        connection,
    })
}

/// The `key=value` pairs of a libpq keyword string, values unquoted, with each pair's text.
fn key_values(text: &str) -> Result<Vec<(String, String, String)>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    loop {
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some(&(start, _)) = chars.peek() else {
            return Ok(out);
        };
        let mut key = String::new();
        while let Some((_, c)) = chars.next_if(|(_, c)| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        if chars.next_if(|(_, c)| *c == '=').is_none() {
            return Err(format!(
                "missing \"=\" after {key:?} in the connection string"
            ));
        }
        while chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if(|(_, c)| *c == '\'').is_some() {
            loop {
                match chars.next() {
                    Some((_, '\\')) => value.extend(chars.next().map(|(_, c)| c)),
                    Some((_, '\'')) => break,
                    Some((_, c)) => value.push(c),
                    None => return Err(format!("unterminated quoted value of {key:?}")),
                }
            }
        } else {
            while let Some((_, c)) = chars.next_if(|(_, c)| !c.is_whitespace()) {
                value.push(c);
            }
        }
        let end = chars.peek().map_or(text.len(), |&(i, _)| i);
        out.push((key, value, text[start..end].trim_end().to_string()));
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The rustls configuration for `options` (not used for [`SslMode::Disable`]). As libpq:
/// `prefer` and `require` encrypt without checking the server's certificate unless a root
/// certificate is given (then `require` checks it as `verify-ca`); `verify-ca` checks the
/// chain, `verify-full` the chain and the host name. Trusted roots: `sslrootcert`, else
/// `~/.postgresql/root.crt`, else the system's store.
pub fn client_config(options: &TlsOptions) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?;
    let verify = match options.mode {
        SslMode::VerifyCa | SslMode::VerifyFull => true,
        SslMode::Require => options.root_cert.is_some(),
        _ => false,
    };
    let verifier: Arc<dyn ServerCertVerifier> = if verify {
        let roots = Arc::new(roots(options)?);
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
            .build()
            .map_err(|e| format!("TLS setup: {e}"))?;
        Arc::new(Verifier {
            webpki: Some(webpki),
            check_name: options.mode == SslMode::VerifyFull,
            provider,
        })
    } else {
        Arc::new(Verifier {
            webpki: None,
            check_name: false,
            provider,
        })
    };
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn roots(options: &TlsOptions) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    let home_root = std::env::var_os("HOME")
        .map(|h| PathBuf::from(h).join(".postgresql/root.crt"))
        .filter(|p| p.exists());
    match options.root_cert.clone().or(home_root) {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(&path)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| format!("cannot read sslrootcert {}: {e}", path.display()))?;
            if certs.is_empty() {
                return Err(format!(
                    "sslrootcert {} holds no certificate",
                    path.display()
                ));
            }
            for cert in certs {
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: {e}", path.display()))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
            if store.is_empty() {
                return Err(
                    "no trusted certificates to verify the database server with (give sslrootcert)"
                        .into(),
                );
            }
        }
    }
    Ok(store)
}

/// Checks the server's certificate as the sslmode asks (or not at all); handshake
/// signatures are always checked.
#[derive(Debug)]
struct Verifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_options_leave_the_connection_string_as_tokio_postgres_reads_it() {
        let o = split("host=db user=u sslmode=verify-full sslrootcert='/etc/my ca.pem'").unwrap();
        assert_eq!(o.mode, SslMode::VerifyFull);
        assert_eq!(o.root_cert, Some(PathBuf::from("/etc/my ca.pem")));
        assert_eq!(o.connection, "host=db user=u sslmode=require");

        let o = split("host=db password='a b' dbname=x").unwrap();
        assert_eq!(o.mode, SslMode::Prefer, "libpq's default");
        assert_eq!(
            o.connection,
            "host=db password='a b' dbname=x sslmode=prefer"
        );

        let o = split("postgresql://u:p@db:5432/x?sslmode=verify-ca&sslrootcert=%2Ftmp%2Fca.pem&connect_timeout=5")
            .unwrap();
        assert_eq!(o.mode, SslMode::VerifyCa);
        assert_eq!(o.root_cert, Some(PathBuf::from("/tmp/ca.pem")));
        assert_eq!(
            o.connection,
            "postgresql://u:p@db:5432/x?connect_timeout=5&sslmode=require"
        );

        let o = split("postgres://db/x").unwrap();
        assert_eq!(o.connection, "postgres://db/x?sslmode=prefer");
        assert_eq!(
            split("host=db sslmode=disable").unwrap().mode,
            SslMode::Disable
        );

        assert!(
            split("host=db sslmode=maybe")
                .unwrap_err()
                .contains("invalid sslmode \"maybe\"")
        );
        assert!(
            split("host=db sslrootcert='x")
                .unwrap_err()
                .contains("unterminated")
        );
    }
}
