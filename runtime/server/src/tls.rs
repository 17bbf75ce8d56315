//! TLS for the server's own accept loop: a certificate chain and its private key from PEM
//! files, served with rustls on the `ring` provider (the one the whole workspace uses; never
//! aws-lc). HTTP/1.1 only, as the plain listener.
//!
//! The handshake happens on the connection's own task, bounded by the same timeout as the
//! request head ([`crate::serve`]): a client that opens a connection and never finishes the
//! handshake holds nothing for long.

use std::path::Path;
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The TLS setup of a server: what [`crate::Config::tls`] holds.
#[derive(Clone)]
pub struct Tls {
    /// The rustls server configuration (certificate, key, ALPN `http/1.1`).
    pub config: Arc<ServerConfig>,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tls { .. }")
    }
}

/// A certificate or key that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("TLS {what} {file}: {message}")]
pub struct TlsError {
    /// `certificate` or `key`.
    pub what: &'static str,
    /// The file.
    pub file: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl Tls {
    /// Load the certificate chain (`cert`, PEM, leaf first) and its private key (`key`, PEM:
    /// PKCS#8, PKCS#1 or SEC1).
    ///
    /// # Errors
    /// A file cannot be read, holds no certificate or key, or the key does not fit the
    /// certificate.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<Tls, TlsError> {
        let cert_err = |message: String| TlsError {
            what: "certificate",
            file: cert.display().to_string(),
            message,
        };
        let key_err = |message: String| TlsError {
            what: "key",
            file: key.display().to_string(),
            message,
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
            .map_err(|e| cert_err(format!("cannot be read: {e}")))?
            .collect::<Result<_, _>>()
            .map_err(|e| cert_err(format!("is not PEM: {e}")))?;
        if certs.is_empty() {
            return Err(cert_err(
                "holds no `BEGIN CERTIFICATE` block; give the certificate chain in PEM, leaf first"
                    .into(),
            ));
        }
        let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| {
            key_err(format!(
                "holds no usable private key ({e}); give the key in PEM (PKCS#8, PKCS#1 or SEC1)"
            ))
        })?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| cert_err(format!("no TLS version can be offered: {e}")))?
            .with_no_client_auth()
            .with_single_cert(certs, key_der)
            .map_err(|e| key_err(format!("does not fit the certificate: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Tls {
            config: Arc::new(config),
        })
    }
}
