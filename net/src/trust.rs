//! What a server must present to be trusted: a certificate whose SHA-256
//! was pinned at login, or one a company CA signed.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sha2::{Digest, Sha256};

use crate::error::NetError;

/// How the laptop decides that it talks to the right server.
#[derive(Clone, PartialEq, Eq)]
pub enum Trust {
    /// Accept exactly the certificate whose DER has this SHA-256
    /// (64 lowercase hex digits, as `crm-server` prints it).
    Fingerprint(String),
    /// Verify the server's certificate chain and host name against these
    /// PEM certificates (a company CA, or the server's own certificate).
    CaCert(String),
    /// No TLS at all: only for `http://` URLs (tests).
    PlainHttp,
}

impl std::fmt::Debug for Trust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Trust::Fingerprint(fp) => f.debug_tuple("Fingerprint").field(fp).finish(),
            Trust::CaCert(pem) => f
                .debug_tuple("CaCert")
                .field(&format_args!("<{} bytes of PEM>", pem.len()))
                .finish(),
            Trust::PlainHttp => f.write_str("PlainHttp"),
        }
    }
}

impl Trust {
    /// Parses a fingerprint as typed: hex, with or without `:` (or spaces),
    /// any case. Returns it as 64 lowercase hex digits.
    pub fn fingerprint(text: &str) -> Result<Trust, NetError> {
        normalize_fingerprint(text).map(Trust::Fingerprint)
    }

    /// Reads a PEM file of certificates to trust.
    pub fn ca_file(path: &Path) -> Result<Trust, NetError> {
        let bad = |detail: String| NetError::CaFile {
            path: path.display().to_string(),
            detail,
        };
        let pem = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let certs = parse_pem_certs(&pem).map_err(bad)?;
        if certs.is_empty() {
            return Err(bad("文件中没有证书(需要 PEM 格式)".into()));
        }
        Ok(Trust::CaCert(pem))
    }

    /// A short Chinese description for status output.
    pub fn describe(&self) -> String {
        match self {
            Trust::Fingerprint(fp) => format!("证书指纹 {}", colon_hex(fp)),
            Trust::CaCert(_) => "CA 证书".into(),
            Trust::PlainHttp => "明文 HTTP(未加密,仅供测试)".into(),
        }
    }
}

/// Accepts exactly one certificate, by the SHA-256 of its DER; handshake
/// signatures are still checked with the provider's algorithms, so the
/// peer must hold that certificate's private key.
#[derive(Debug)]
pub(crate) struct PinnedCert {
    expected: [u8; 32],
    pub(crate) expected_hex: String,
    provider: Arc<CryptoProvider>,
    /// The fingerprint of the last certificate refused, for the message.
    mismatch: Mutex<Option<String>>,
}

impl PinnedCert {
    pub(crate) fn new(
        fingerprint: &str,
        provider: Arc<CryptoProvider>,
    ) -> Result<PinnedCert, NetError> {
        let hex = normalize_fingerprint(fingerprint)?;
        let mut expected = [0u8; 32];
        for (i, byte) in expected.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16)
                .map_err(|_| NetError::BadFingerprint(fingerprint.into()))?;
        }
        Ok(PinnedCert {
            expected,
            expected_hex: hex,
            provider,
            mismatch: Mutex::new(None),
        })
    }

    pub(crate) fn take_mismatch(&self) -> Option<String> {
        self.mismatch.lock().map(|mut m| m.take()).unwrap_or(None)
    }
}

impl ServerCertVerifier for PinnedCert {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The pin replaces both chain and name checks: laptops reach the
        // server by whatever IP or host name works, and the operator
        // confirmed this exact certificate.
        let actual: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if actual == self.expected {
            Ok(ServerCertVerified::assertion())
        } else {
            if let Ok(mut m) = self.mismatch.lock() {
                *m = Some(hex(&actual));
            }
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            ))
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

/// Why a certificate did not verify against the trusted CA, in Chinese.
pub(crate) fn certificate_problem(e: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match e {
        C::UnknownIssuer => "证书不是由所给的 CA 证书签发的".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "证书不属于这个服务器地址(主机名不符)".into()
        }
        C::Expired | C::ExpiredContext { .. } => "证书已过期".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "证书尚未生效(请检查本机日期时间)".into(),
        C::Revoked => "证书已被吊销".into(),
        C::BadSignature => "证书签名无效".into(),
        other => format!("{other:?}"),
    }
}

/// SHA-256 of a DER certificate as 64 lowercase hex digits (what
/// `crm-server` prints).
pub fn fingerprint_of(cert_der: &[u8]) -> String {
    hex(&Sha256::digest(cert_der))
}

/// `AB:cd:…` or `abcd…` → 64 lowercase hex digits.
pub fn normalize_fingerprint(text: &str) -> Result<String, NetError> {
    let hex: String = text
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect::<String>()
        .to_ascii_lowercase();
    if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex)
    } else {
        Err(NetError::BadFingerprint(text.trim().to_string()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `abcd…` → `AB:CD:…`, the usual way fingerprints are shown.
pub fn colon_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

pub(crate) fn parse_pem_certs(pem: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_accepted_with_colons_in_any_case() {
        let plain = "ab".repeat(32);
        let colons = vec!["AB"; 32].join(":");
        assert_eq!(normalize_fingerprint(&plain).unwrap(), plain);
        assert_eq!(normalize_fingerprint(&colons).unwrap(), plain);
        assert!(matches!(
            normalize_fingerprint("abcd"),
            Err(NetError::BadFingerprint(_))
        ));
        assert!(normalize_fingerprint(&"zz".repeat(32)).is_err());
        assert_eq!(colon_hex("abcd"), "AB:CD");
    }
}
