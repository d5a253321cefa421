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
pub fn listen_fds() -> Option<Vec<std::net::TcpListener>> {
    let pid: u32 = std::env::var("LISTEN_PID").ok()?.parse().ok()?;
    if pid != std::process::id() {
        return None;
    }
    let n: i32 = std::env::var("LISTEN_FDS").ok()?.parse().ok()?;
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    let listeners = (LISTEN_FDS_START..LISTEN_FDS_START + n.max(0))
        // SAFETY: systemd hands these descriptors to this process (LISTEN_PID
        // matched); nothing else in chatd owns them.
        .map(|fd| unsafe { std::net::TcpListener::from_raw_fd(fd) })
        .collect();
    Some(listeners)
}
