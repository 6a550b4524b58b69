//! The harness's TLS server: Debian's `redis-server` with generated
//! certificates, reached through rustls with the ring provider.

use std::path::Path;
use std::sync::Arc;

use fault_tests::{ServerBuilder, TlsFiles};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// Returns a connector that trusts only the CA in `ca_cert`.
fn connector_trusting(ca_cert: &Path) -> TlsConnector {
    let mut roots = RootCertStore::empty();
    let ca = CertificateDer::from_pem_file(ca_cert).unwrap();
    roots.add(ca).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

async fn handshake(
    connector: &TlsConnector,
    addr: std::net::SocketAddr,
    name: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from(name.to_owned()).unwrap();
    connector.connect(name, tcp).await
}

#[tokio::test]
async fn tls_server_completes_handshake_and_ping() {
    let server = ServerBuilder::redis_tls().start().unwrap();
    let files = server
        .tls_files()
        .expect("a TLS server has certificate files");
    let connector = connector_trusting(&files.ca_cert);

    for name in ["127.0.0.1", "localhost"] {
        let mut stream = handshake(&connector, server.addr(), name).await.unwrap();
        stream.write_all(b"*1\r\n$4\r\nPING\r\n").await.unwrap();
        let mut reply = [0; 7];
        stream.read_exact(&mut reply).await.unwrap();
        assert_eq!(&reply, b"+PONG\r\n", "server name {name}");
    }
    assert_eq!(
        server.url(),
        format!("rediss://127.0.0.1:{}", server.port())
    );
    assert!(files.cert.starts_with(server.dir()));
}

#[tokio::test]
async fn certificate_from_another_ca_is_rejected() {
    let server = ServerBuilder::redis_tls().start().unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = TlsFiles::generate(other_dir.path()).unwrap();
    let connector = connector_trusting(&other.ca_cert);

    let error = handshake(&connector, server.addr(), "127.0.0.1")
        .await
        .unwrap_err();

    let message = error.to_string();
    assert!(message.contains("invalid peer certificate"), "{message}");
}

#[test]
fn tls_server_has_no_plain_text_port() {
    let server = ServerBuilder::redis_tls().start().unwrap();

    let port = server.command(&["CONFIG", "GET", "port"]);

    assert!(port.is_err(), "a plain-text command got {port:?}");
}
