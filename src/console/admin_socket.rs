//! The console's second source: the admin Unix socket (mode 0600), whose
//! connections live in the loop beside the clients (`server.rs` accepts
//! them and runs their lines, see `console/mod.rs`).

use super::CONSOLE_MAX_LINE;
use mio::net::{UnixListener, UnixStream};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Longest admin socket line; a longer one closes that admin connection.
const ADMIN_MAX_LINE: usize = CONSOLE_MAX_LINE;

/// One admin socket connection.
pub struct AdminConn {
    pub stream: UnixStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    pub want_write: bool,
    pub closed: bool,
}

impl AdminConn {
    pub fn new(stream: UnixStream) -> AdminConn {
        AdminConn { stream, inbuf: Vec::new(), out: Vec::new(), want_write: false, closed: false }
    }

    /// Reads what is there (to `WouldBlock`) and returns the complete lines.
    pub fn read_lines(&mut self) -> Vec<String> {
        let mut chunk = [0u8; 4096];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => {
                    self.closed = true;
                    break;
                }
                Ok(n) => self.inbuf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.closed = true;
                    break;
                }
            }
            if self.inbuf.len() > ADMIN_MAX_LINE && !self.inbuf.contains(&b'\n') {
                self.closed = true;
                break;
            }
        }
        let mut lines = Vec::new();
        while let Some(i) = self.inbuf.iter().position(|&b| b == b'\n') {
            let raw: Vec<u8> = self.inbuf.drain(..=i).collect();
            let line = String::from_utf8_lossy(&raw).trim_end_matches(['\r', '\n']).to_string();
            if !line.trim().is_empty() {
                lines.push(line);
            }
        }
        lines
    }

    /// Queues a console reply line (`reply::console`), ended with CRLF as
    /// the admin socket's lines are.
    pub fn queue_line(&mut self, line: &str) {
        self.out.extend_from_slice(line.as_bytes());
        self.out.extend_from_slice(b"\r\n");
    }

    /// Writes what it can; true when everything is out.
    pub fn flush(&mut self) -> bool {
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(0) => {
                    self.closed = true;
                    return true;
                }
                Ok(n) => {
                    self.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.closed = true;
                    return true;
                }
            }
        }
        true
    }
}

/// The admin socket: a listener bound with mode 0600, replacing a stale
/// socket file, and removed again when dropped.
pub struct AdminSocket {
    pub listener: UnixListener,
    path: PathBuf,
}

impl AdminSocket {
    pub fn bind(path: &Path) -> Result<AdminSocket, String> {
        use std::os::unix::fs::{FileTypeExt, PermissionsExt};
        let shown = path.display();
        if let Ok(meta) = std::fs::symlink_metadata(path) {
            if !meta.file_type().is_socket() {
                return Err(format!("admin socket {shown} exists and is not a socket"));
            }
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                return Err(format!("admin socket {shown} is in use by a running server"));
            }
            std::fs::remove_file(path).map_err(|e| format!("cannot remove stale admin socket {shown}: {e}"))?;
        }
        // Bind under a umask that leaves no window with a wider mode.
        let listener = with_umask(0o177, || UnixListener::bind(path))
            .map_err(|e| format!("cannot create admin socket {shown}: {e}"))?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("cannot set mode of admin socket {shown}: {e}"))?;
        Ok(AdminSocket { listener, path: path.to_path_buf() })
    }
}

impl Drop for AdminSocket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn with_umask<T>(mask: libc::mode_t, f: impl FnOnce() -> T) -> T {
    // SAFETY: umask only swaps the process file-creation mask; no memory is
    // involved. The mask is process-wide, so a file another thread created
    // meanwhile would get mode 0600 at most, never a wider one. This runs at
    // start-up (`Server::bind`), before the password worker and the stdin
    // reader exist; the store's checkpoint thread is already running, but it
    // only checkpoints the WAL, into files that exist already.
    let old = unsafe { libc::umask(mask) };
    let result = f();
    // SAFETY: as above, restoring the previous mask.
    unsafe { libc::umask(old) };
    result
}
