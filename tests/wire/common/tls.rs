//! TLS in the tests: a self-signed certificate made by `scripts/dev-cert.sh`
//! (so the script the README points to is tested too), the address of a
//! server's TLS listener, and a user over TLS (`TlsClient`, rustls) that
//! reads and writes lines as `Client` does.

use super::client::{read_crlf_line, wait_closed};
use super::{Server, TempDir, WAIT};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use rustls::{ClientConfig, ClientConnection, RootCertStore, StreamOwned};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// A certificate and key for localhost/127.0.0.1 in `dir/<name>/`.
pub fn dev_cert(dir: &TempDir, name: &str) -> (PathBuf, PathBuf) {
    let out = dir.path(name);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/dev-cert.sh");
    let status = std::process::Command::new("bash")
        .arg(script)
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run scripts/dev-cert.sh");
    assert!(status.success(), "scripts/dev-cert.sh failed (is openssl installed?)");
    (out.join("cert.pem"), out.join("key.pem"))
}

impl Server {
    /// The address of the first TLS listener, from its log line.
    pub fn tls_addr(&self) -> SocketAddr {
        let line = self.wait_log("TLS listener on ");
        let rest = line.split("TLS listener on ").nth(1).expect("address");
        rest.split(' ').next().expect("address").parse().expect("TLS listen address")
    }
}

/// A user over TLS, trusting only `ca` (the test's self-signed certificate).
pub struct TlsClient {
    pub stream: StreamOwned<ClientConnection, TcpStream>,
    buf: Vec<u8>,
}

impl TlsClient {
    /// Connects and completes the handshake, without reading anything.
    pub fn connect_raw(addr: SocketAddr, ca: &PathBuf) -> TlsClient {
        TlsClient { stream: tls_stream(addr, ca), buf: Vec::new() }
    }

    /// Connects and reads the HELLO line.
    pub fn connect(addr: SocketAddr, ca: &PathBuf) -> TlsClient {
        let mut c = TlsClient::connect_raw(addr, ca);
        let hello = c.line();
        assert!(hello.starts_with("HELLO chatd "), "{hello}");
        c
    }

    /// The certificate the server presented (its DER bytes).
    pub fn server_cert(&self) -> Vec<u8> {
        self.stream.conn.peer_certificates().expect("a certificate")[0].to_vec()
    }

    pub fn send(&mut self, line: &str) {
        use std::io::Write;
        self.stream.write_all(format!("{line}\n").as_bytes()).expect("send");
        self.stream.flush().expect("flush");
    }

    pub fn try_line(&mut self, wait: Duration) -> Option<String> {
        read_crlf_line(&mut self.stream, &mut self.buf, wait)
    }

    pub fn line(&mut self) -> String {
        self.try_line(WAIT).expect("no line from the server")
    }

    pub fn ask(&mut self, line: &str) -> String {
        self.send(line);
        self.line()
    }

    pub fn closed_within(&mut self, wait: Duration) -> bool {
        wait_closed(&mut self.stream, &mut self.buf, wait)
    }
}

/// A TLS connection to `addr` as `localhost`, trusting only `ca`, with
/// its handshake done (a 100 ms read timeout, as `Client`'s).
pub fn tls_stream(addr: SocketAddr, ca: &PathBuf) -> StreamOwned<ClientConnection, TcpStream> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).expect("read ca").map(|c| c.expect("pem")) {
        roots.add(cert).expect("trust the test certificate");
    }
    #[allow(deprecated)] // as in the server: ring, for a light build
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let conn = ClientConnection::new(Arc::new(config), "localhost".try_into().expect("name")).expect("client");
    let tcp = TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_millis(100))).expect("timeout");
    let mut stream = StreamOwned::new(conn, tcp);
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).expect("TLS handshake");
    }
    stream
}

/// The DER bytes of a PEM certificate file's first certificate.
pub fn cert_der(path: &PathBuf) -> Vec<u8> {
    CertificateDer::pem_file_iter(path).expect("read").next().expect("a certificate").expect("pem").to_vec()
}
