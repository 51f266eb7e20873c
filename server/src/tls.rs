//! HTTPS without a certificate authority.
//!
//! A company running this server often has no domain name or CA, so by
//! default the server makes its own certificate on first start, keeps it in
//! the data directory (the same one on every later start), and prints the
//! SHA-256 fingerprint of it; laptops pin that fingerprint at `crm login`.
//! An operator with a real certificate passes it with `--tls-cert/--tls-key`.
//!
//! rustls with the *ring* provider: no OpenSSL, no system trust store.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};

use crate::config::DataDir;

/// Names in the generated certificate. Laptops on other machines reach the
/// server by IP or host name; they trust it by fingerprint, not by name.
const SELF_SIGNED_NAMES: &[&str] = &["localhost", "127.0.0.1", "::1"];

/// A loaded certificate and key, ready to accept TLS connections.
#[derive(Clone)]
pub struct TlsConfig {
    server: Arc<rustls::ServerConfig>,
    fingerprint: String,
}

impl std::fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsConfig")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// Why a certificate could not be made or loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Reading or writing a file failed.
    #[error("{path}:{source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A PEM file holds no usable certificate or key.
    #[error("{path}:{message}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Only one of the generated certificate and key exists. Regenerating
    /// would break every laptop that pinned the old one, so we stop.
    #[error("数据目录中只有证书或私钥之一({0}),请恢复缺少的文件,或删除两者以生成新证书(之后所有笔记本须重新登录)")]
    Incomplete(PathBuf),
    /// Generating the certificate failed.
    #[error("无法生成自签名证书:{0}")]
    Generate(#[from] rcgen::Error),
    /// rustls refused the certificate or key.
    #[error("证书或私钥无效:{0}")]
    Rustls(#[from] rustls::Error),
}

impl TlsConfig {
    /// Loads the self-signed certificate from the data directory, generating
    /// it first if the directory has none.
    pub fn self_signed(data_dir: &DataDir) -> Result<TlsConfig, TlsError> {
        let (cert, key) = (data_dir.tls_cert_path(), data_dir.tls_key_path());
        match (cert.exists(), key.exists()) {
            (true, true) => {}
            (false, false) => generate(&cert, &key)?,
            (true, false) => return Err(TlsError::Incomplete(key)),
            (false, true) => return Err(TlsError::Incomplete(cert)),
        }
        TlsConfig::from_pem_files(&cert, &key)
    }

    /// Loads a certificate chain (leaf first) and its private key from PEM files.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsConfig, TlsError> {
        let chain = read_certs(cert)?;
        let key_der = read_key(key)?;
        let fingerprint = fingerprint(&chain[0]);
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut server = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key_der)?;
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(TlsConfig {
            server: Arc::new(server),
            fingerprint,
        })
    }

    /// SHA-256 of the leaf certificate's DER, lowercase hex (64 characters).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    pub(crate) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.server.clone())
    }
}

/// SHA-256 of a DER certificate, lowercase hex: what laptops pin.
pub fn fingerprint(cert_der: &[u8]) -> String {
    Sha256::digest(cert_der)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn generate(cert_path: &Path, key_path: &Path) -> Result<(), TlsError> {
    let names: Vec<String> = SELF_SIGNED_NAMES.iter().map(|s| s.to_string()).collect();
    let mut params = rcgen::CertificateParams::new(names)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "crm-server");
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "客户档案同步服务器");
    let key = rcgen::KeyPair::generate()?;
    let cert = params.self_signed(&key)?;

    let dir = cert_path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    // Key first, so a crash in between leaves `Incomplete`, never a cert
    // without its key being silently replaced.
    write_new(key_path, key.serialize_pem().as_bytes(), true)?;
    write_new(cert_path, cert.pem().as_bytes(), false)?;
    tracing::info!(path = %cert_path.display(), "已生成自签名证书");
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames
/// it into place; `private` makes it readable by the owner only.
fn write_new(path: &Path, bytes: &[u8], private: bool) -> Result<(), TlsError> {
    let tmp = path.with_extension("tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options.open(&tmp).map_err(io_at(&tmp))?;
    file.write_all(bytes).map_err(io_at(&tmp))?;
    file.sync_all().map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(io_at(path))
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem_err = |message: String| TlsError::Pem {
        path: path.to_path_buf(),
        message,
    };
    let bytes = fs::read(path).map_err(io_at(path))?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(pem_err("文件中没有证书(需要 PEM 格式)".into()));
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bytes = fs::read(path).map_err(io_at(path))?;
    PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Pem {
        path: path.to_path_buf(),
        message: format!("无法读取私钥(需要 PEM 格式):{e}"),
    })
}

fn io_at(path: &Path) -> impl FnOnce(std::io::Error) -> TlsError + '_ {
    move |source| TlsError::Io {
        path: path.to_path_buf(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_certificate_is_kept_across_starts() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        let first = TlsConfig::self_signed(&data).unwrap();
        let second = TlsConfig::self_signed(&data).unwrap();
        assert_eq!(first.fingerprint(), second.fingerprint());
        assert_eq!(first.fingerprint().len(), 64);

        let pem = fs::read(data.tls_cert_path()).unwrap();
        let der = CertificateDer::from_pem_slice(&pem).unwrap();
        assert_eq!(fingerprint(&der), first.fingerprint());

        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(data.tls_key_path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "key must be private");
        }
    }

    #[test]
    fn a_lost_key_is_not_silently_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::new(dir.path());
        TlsConfig::self_signed(&data).unwrap();
        fs::remove_file(data.tls_key_path()).unwrap();
        assert!(matches!(
            TlsConfig::self_signed(&data),
            Err(TlsError::Incomplete(_))
        ));
    }
}
