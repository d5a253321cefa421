//! systemd integration in a few lines of std: readiness notification
//! (`sd_notify`), the watchdog, and socket activation (`LISTEN_FDS`).
//!
//! Each does nothing when its environment variable is absent, so the same
//! binary runs by hand, under systemd, and in tests.

use std::os::fd::FromRawFd;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// The first file descriptor systemd passes (SD_LISTEN_FDS_START).
const LISTEN_FDS_START: i32 = 3;

/// Sends a state line (`READY=1`, `STOPPING=1`, `WATCHDOG=1`, `STATUS=...`)
/// to `$NOTIFY_SOCKET`, if systemd gave one. Failures are logged only.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else { return };
    let result = UnixDatagram::unbound().and_then(|sock| {
        let bytes = path.as_encoded_bytes();
        if let Some(name) = bytes.strip_prefix(b"@") {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(name)?;
            sock.send_to_addr(state.as_bytes(), &addr)
        } else {
            sock.send_to(state.as_bytes(), &path)
        }
    });
    if let Err(e) = result {
        log::warn!("sd_notify {state}: {e}");
    }
}

/// How often to send WATCHDOG=1: half of `$WATCHDOG_USEC`, when it is set
/// for this process.
pub fn watchdog_interval() -> Option<Duration> {
    if let Some(pid) = std::env::var("WATCHDOG_PID").ok().and_then(|p| p.parse::<u32>().ok()) {
        if pid != std::process::id() {
            return None;
        }
    }
    let usec: u64 = std::env::var("WATCHDOG_USEC").ok()?.parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec / 2))
}

/// Listening sockets passed by systemd socket activation, if they are for
/// this process. The variables are removed so children do not see them.
/// A descriptor that is not a listening stream socket is an error (a unit
/// file mistake), reported before anything takes ownership of it.
pub fn listen_fds() -> Option<Result<Vec<std::net::TcpListener>, String>> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    if pid != std::process::id() {
        return None;
    }
    let n: i32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    let fds = LISTEN_FDS_START..LISTEN_FDS_START + n.max(0);
    if let Some(bad) = fds.clone().find(|&fd| !is_listening_stream(fd)) {
        return Some(Err(format!("LISTEN_FDS passes descriptor {bad}, which is not a listening stream socket")));
    }
    let listeners = fds
        // SAFETY: systemd hands these descriptors to this process (LISTEN_PID
        // matched), each was just checked to be a listening socket, and
        // nothing else in chatd owns them.
        .map(|fd| unsafe { std::net::TcpListener::from_raw_fd(fd) })
        .collect();
    Some(Ok(listeners))
}

/// Whether `fd` is an open socket of type SOCK_STREAM that is listening.
fn is_listening_stream(fd: i32) -> bool {
    let get = |name: i32| -> Option<i32> {
        let mut v: i32 = 0;
        let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
        // SAFETY: getsockopt into an i32 we own; a bad descriptor only
        // makes it fail.
        let rc = unsafe { libc::getsockopt(fd, libc::SOL_SOCKET, name, (&mut v as *mut i32).cast(), &mut len) };
        (rc == 0).then_some(v)
    };
    get(libc::SO_TYPE) == Some(libc::SOCK_STREAM) && get(libc::SO_ACCEPTCONN) == Some(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsRawFd;

    #[test]
    fn only_a_listening_stream_socket_passes_the_check() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        assert!(is_listening_stream(listener.as_raw_fd()));
        let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        assert!(!is_listening_stream(client.as_raw_fd()), "connected, not listening");
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(!is_listening_stream(udp.as_raw_fd()), "not a stream");
        let file = std::fs::File::open("/dev/null").unwrap();
        assert!(!is_listening_stream(file.as_raw_fd()), "not a socket");
        assert!(!is_listening_stream(-1), "not a descriptor");
    }
}
