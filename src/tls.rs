//! TLS: the certificate chain and key every TLS listener presents (loaded
//! at start, again on SIGHUP), and the byte stream of one TLS connection,
//! which `conn.rs` carries as `Transport::Stream(Socket::Tls)`.
//!
//! rustls does the protocol and never touches the socket: [`TlsStream`]
//! moves records between it and the non-blocking TCP socket as the loop
//! reads and writes, so a TLS connection is read, decoded, flood-limited
//! and written exactly as a plain one. Its buffers are bounded (rustls's
//! `set_buffer_limit`, and chatd hands it at most one flush's worth), and a
//! stored message counts as delivered only once its encrypted bytes are
//! acknowledged by the peer's TCP (see [`TlsStream::unacked`]).

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};
use std::io::{self, IoSlice, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most bytes rustls holds for one connection, in each direction: a
/// flush's worth (`conn::WRITE_CAP`) and a little more.
const BUFFER_LIMIT: usize = 80 * 1024;

/// Where the certificate and key are read from, and the configuration
/// built from them that new connections get.
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    config: Arc<ServerConfig>,
}

impl Tls {
    /// Reads the PEM files (`tls_cert`: the chain, leaf first; `tls_key`:
    /// its private key); an error names the file and what is wrong.
    pub fn load(cert: &Path, key: &Path) -> Result<Tls, String> {
        Ok(Tls { cert: cert.to_path_buf(), key: key.to_path_buf(), config: server_config(cert, key)? })
    }

    /// SIGHUP: reads the files again. New connections get the new
    /// certificate; open ones keep theirs. If the files are not usable the
    /// old configuration stays and the error is returned (for the log).
    pub fn reload(&mut self) -> Result<(), String> {
        self.config = server_config(&self.cert, &self.key)?;
        Ok(())
    }

    /// The TLS side of a new connection.
    pub fn accept(&self, tcp: mio::net::TcpStream) -> io::Result<TlsStream> {
        let mut tls = ServerConnection::new(Arc::clone(&self.config)).map_err(io::Error::other)?;
        tls.set_buffer_limit(Some(BUFFER_LIMIT));
        Ok(TlsStream { tcp, tls, pending_plain: 0, plain_peer: false })
    }
}

fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, String> {
    let shown = |p: &Path| p.display().to_string();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect())
        .map_err(|e| format!("tls_cert {}: {}", shown(cert), pem_error(e)))?;
    if chain.is_empty() {
        return Err(format!("tls_cert {}: no certificate in it (expected PEM \"BEGIN CERTIFICATE\")", shown(cert)));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("tls_key {}: {}", shown(key), pem_error(e)))?;
    // ring, for a light build (Cargo.toml says why). rustls 0.23.48 marks
    // it deprecated because it offers no post-quantum key exchange; the
    // classical suites it offers are the ones every client here speaks.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| format!("tls_cert {} and tls_key {}: {e}", shown(cert), shown(key)))?;
    Ok(Arc::new(config))
}

/// A PEM error in words.
fn pem_error(e: rustls::pki_types::pem::Error) -> String {
    match e {
        rustls::pki_types::pem::Error::Io(e) => e.to_string(),
        rustls::pki_types::pem::Error::NoItemsFound => "no PEM item of the expected kind in it".to_string(),
        other => format!("not usable PEM: {other:?}"),
    }
}

/// One TLS connection: the socket and rustls's state for it.
#[derive(Debug)]
pub struct TlsStream {
    pub tcp: mio::net::TcpStream,
    tls: ServerConnection,
    /// Plaintext handed to rustls since its output was last all written
    /// to the socket: not acknowledged, whatever the socket says.
    pending_plain: usize,
    /// The peer does not speak TLS: nothing more in TLS goes to it.
    plain_peer: bool,
}

impl TlsStream {
    /// Writes the records rustls holds (handshake, alerts, encrypted
    /// output) to the socket; `WouldBlock` if some are left.
    pub fn send_pending(&mut self) -> io::Result<()> {
        while self.tls.wants_write() {
            if self.tls.write_tls(&mut self.tcp)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        self.pending_plain = 0;
        Ok(())
    }

    /// Output not yet on the socket: plaintext rustls holds (a lower
    /// bound when only records of its own wait, so never zero then).
    pub fn pending(&self) -> usize {
        if self.tls.wants_write() {
            self.pending_plain.max(1)
        } else {
            self.pending_plain
        }
    }

    /// Payload bytes written that the peer has not acknowledged: what
    /// rustls still holds, plus what the socket has not had acknowledged.
    /// The socket counts encrypted bytes, a few more than the plaintext
    /// they carry, so this errs towards "not yet".
    pub fn unacked(&self) -> io::Result<usize> {
        Ok(self.pending_plain + crate::os::unacked_bytes(&self.tcp)?)
    }

    /// The handshake is done.
    pub fn is_handshaking(&self) -> bool {
        self.tls.is_handshaking()
    }

    /// Tells the peer the connection ends (best effort).
    pub fn close_notify(&mut self) {
        if !self.plain_peer {
            self.tls.send_close_notify();
            let _ = self.send_pending();
        }
    }

    /// The records rustls received, decrypted; `Err(WouldBlock)` when
    /// none wait. Sends what processing them produced (handshake
    /// messages, alerts), as far as the socket takes it.
    fn read_records(&mut self) -> io::Result<usize> {
        let n = self.tls.read_tls(&mut self.tcp)?;
        match self.tls.process_new_packets() {
            Ok(_) => match self.send_pending() {
                Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
                _ => Ok(n),
            },
            Err(e) => {
                if self.tls.is_handshaking() && is_not_tls(&e) {
                    // Someone typing at a TLS port (nc, telnet): a line they
                    // can read, not an alert they cannot.
                    let _ = self.tcp.write_all(PLAIN_TEXT_HINT.as_bytes());
                    self.plain_peer = true;
                } else {
                    let _ = self.send_pending(); // the alert saying what failed
                }
                Err(io::Error::new(io::ErrorKind::InvalidData, format!("TLS: {e}")))
            }
        }
    }
}

/// What a client that does not speak TLS reads on a TLS port.
const PLAIN_TEXT_HINT: &str =
    "ERR TLS this port speaks TLS; connect with a TLS client (openssl s_client -connect HOST:PORT -quiet)\r\n";

/// The first bytes were no TLS record at all.
fn is_not_tls(e: &rustls::Error) -> bool {
    matches!(e, rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType))
}

impl Read for TlsStream {
    /// Plaintext: what rustls has decrypted, else more records from the
    /// socket. `Ok(0)` at the end (close_notify, or the socket's end of
    /// file, with or without close_notify: many clients just close).
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.tls.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            if self.read_records()? == 0 {
                // The socket's end: what rustls still holds, then the end.
                return match self.tls.reader().read(buf) {
                    Ok(n) => Ok(n),
                    Err(e) if matches!(e.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::WouldBlock) => Ok(0),
                    Err(e) => Err(e),
                };
            }
        }
    }
}

impl Write for TlsStream {
    /// Hands plaintext to rustls (which encrypts it, or keeps it until the
    /// handshake is done) once what it held before is on the socket, and
    /// sends what it can.
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_vectored(&[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        self.send_pending()?;
        let n = self.tls.writer().write_vectored(bufs)?;
        if n == 0 && bufs.iter().any(|b| !b.is_empty()) {
            return Err(io::ErrorKind::WouldBlock.into()); // rustls's buffer is full
        }
        self.pending_plain += n;
        match self.send_pending() {
            Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
            _ => Ok(n),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A byte stream to a peer, plain or TLS: what the browser client's HTTP
/// connections and WebSockets run over (`http_listen`, `https_listen`).
#[derive(Debug)]
pub enum Socket {
    Tcp(mio::net::TcpStream),
    Tls(Box<TlsStream>),
}

impl Socket {
    /// The TCP socket under it (for the poll, options and shutdown).
    pub fn tcp(&mut self) -> &mut mio::net::TcpStream {
        match self {
            Socket::Tcp(s) => s,
            Socket::Tls(t) => &mut t.tcp,
        }
    }

    /// Payload bytes written that the peer has not acknowledged.
    pub fn unacked(&self) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => crate::os::unacked_bytes(s),
            Socket::Tls(t) => t.unacked(),
        }
    }

    /// Output held above the socket (TLS records).
    pub fn pending(&self) -> usize {
        match self {
            Socket::Tcp(_) => 0,
            Socket::Tls(t) => t.pending(),
        }
    }

    /// Writes what is held above the socket; `WouldBlock` if some is left.
    pub fn send_pending(&mut self) -> io::Result<()> {
        match self {
            Socket::Tcp(_) => Ok(()),
            Socket::Tls(t) => t.send_pending(),
        }
    }

    /// Speaks TLS.
    pub fn is_tls(&self) -> bool {
        matches!(self, Socket::Tls(_))
    }

    /// Ends it: TLS says goodbye first (best effort), then both ways shut.
    pub fn shutdown(&mut self) {
        if let Socket::Tls(t) = self {
            t.close_notify();
        }
        let _ = self.tcp().shutdown(std::net::Shutdown::Both);
    }
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.read(buf),
            Socket::Tls(t) => t.read(buf),
        }
    }
}

impl Write for Socket {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write(buf),
            Socket::Tls(t) => t.write(buf),
        }
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Socket::Tcp(s) => s.write_vectored(bufs),
            Socket::Tls(t) => t.write_vectored(bufs),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
