//! SIGTERM, SIGINT and SIGHUP as events of the loop (Linux signalfd).
//!
//! The signals are blocked in every thread (the mask is set before any
//! thread starts and is inherited), so they are only ever read from the
//! signalfd, which the loop polls like a socket. SIGHUP reloads the TLS
//! certificate; the first SIGTERM or SIGINT starts a
//! graceful shutdown; a second one during shutdown exits at once.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// A signalfd for SIGTERM, SIGINT and SIGHUP (which reloads the TLS
/// certificate).
pub struct Signals {
    fd: OwnedFd,
}

impl Signals {
    /// Blocks SIGTERM, SIGINT and SIGHUP for this thread (and threads started after)
    /// and opens a non-blocking signalfd for them. Call before any thread.
    pub fn open() -> io::Result<Signals> {
        // SAFETY: plain libc calls on a sigset_t we own; the fd returned by
        // signalfd is checked and then owned by OwnedFd.
        unsafe {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGHUP);
            if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
                return Err(io::Error::last_os_error());
            }
            let fd = libc::signalfd(-1, &set, libc::SFD_NONBLOCK | libc::SFD_CLOEXEC);
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(Signals { fd: OwnedFd::from_raw_fd(fd) })
        }
    }

    /// The signals received since the last call.
    pub fn read(&self) -> Vec<i32> {
        let mut got = Vec::new();
        loop {
            // SAFETY: signalfd_siginfo is plain data; read writes at most its size.
            let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
            let size = std::mem::size_of::<libc::signalfd_siginfo>();
            // SAFETY: reads at most `size` bytes into `info`, which we own,
            // from the signalfd this value owns.
            let n = unsafe { libc::read(self.fd.as_raw_fd(), (&mut info as *mut libc::signalfd_siginfo).cast(), size) };
            if n != size as isize {
                break; // EAGAIN: drained
            }
            got.push(info.ssi_signo as i32);
        }
        got
    }
}

impl AsRawFd for Signals {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// A signal's name for log lines.
pub fn name(signo: i32) -> &'static str {
    match signo {
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        _ => "signal",
    }
}
