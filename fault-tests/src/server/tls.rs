//! Self-signed test certificates for TLS servers on loopback.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use super::ServerError;

/// The PEM files of a test CA and of a server certificate that it signed.
///
/// The server certificate is valid for `127.0.0.1` and `localhost`, and for
/// both server and client authentication, so a server can also present it
/// as a client certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    /// The CA certificate that clients should trust.
    pub ca_cert: PathBuf,
    /// The server certificate.
    pub cert: PathBuf,
    /// The server certificate's private key (PKCS#8).
    pub key: PathBuf,
}

impl TlsFiles {
    /// Generates a new CA and server certificate and writes them into `dir`
    /// as `ca.crt`, `server.crt` and `server.key`.
    ///
    /// # Errors
    ///
    /// Returns [`ServerError::Certificate`] when generating fails and
    /// [`ServerError::Io`] when a file cannot be written.
    pub fn generate(dir: &Path) -> Result<Self, ServerError> {
        let ca = generate_ca().map_err(ServerError::Certificate)?;
        let (cert_pem, key_pem) = generate_server_cert(&ca).map_err(ServerError::Certificate)?;

        let files = Self {
            ca_cert: dir.join("ca.crt"),
            cert: dir.join("server.crt"),
            key: dir.join("server.key"),
        };
        write(&files.ca_cert, &ca.pem())?;
        write(&files.cert, &cert_pem)?;
        write(&files.key, &key_pem)?;
        Ok(files)
    }
}

fn generate_ca() -> Result<CertifiedIssuer<'static, KeyPair>, rcgen::Error> {
    let mut params = CertificateParams::new(Vec::new())?;
    params
        .distinguished_name
        .push(DnType::CommonName, "fault-tests CA");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    CertifiedIssuer::self_signed(params, KeyPair::generate()?)
}

/// Returns the PEM certificate and PEM private key of a loopback server.
fn generate_server_cert(
    ca: &CertifiedIssuer<'static, KeyPair>,
) -> Result<(String, String), rcgen::Error> {
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    params
        .distinguished_name
        .push(DnType::CommonName, "fault-tests server");
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, ca)?;
    Ok((cert.pem(), key.serialize_pem()))
}

fn write(path: &Path, contents: &str) -> Result<(), ServerError> {
    std::fs::write(path, contents)
        .map_err(|source| ServerError::io(format!("write {}", path.display()), source))
}
