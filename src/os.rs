//! Small operating-system settings std does not offer: the descriptor limit,
//! TCP keepalive, and how much of a socket's output its peer has not yet
//! acknowledged.

use std::io;
use std::os::fd::AsRawFd;
use std::time::Duration;

/// Raises the soft limit on open descriptors to the hard limit; returns the
/// limit now in force.
pub fn raise_nofile_limit() -> io::Result<u64> {
    // SAFETY: getrlimit/setrlimit on a struct we own.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(io::Error::last_os_error());
        }
        if lim.rlim_cur < lim.rlim_max {
            let wanted = libc::rlimit { rlim_cur: lim.rlim_max, rlim_max: lim.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) == 0 {
                lim = wanted;
            }
        }
        Ok(lim.rlim_cur as u64)
    }
}

/// When keepalive probes start, how often they repeat, and how many may go
/// unanswered: a dead peer is noticed within about 4 minutes.
pub const KEEPALIVE_IDLE: Duration = Duration::from_secs(120);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
const KEEPALIVE_PROBES: i32 = 4;

/// Turns on TCP keepalive with chatd's timings.
pub fn set_keepalive(sock: &impl AsRawFd) -> io::Result<()> {
    let fd = sock.as_raw_fd();
    let set = |level: i32, name: i32, value: i32| -> io::Result<()> {
        // SAFETY: setsockopt with a pointer to an i32 and its size.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (&value as *const i32).cast(),
                std::mem::size_of::<i32>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, KEEPALIVE_IDLE.as_secs() as i32)?;
    set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, KEEPALIVE_INTERVAL.as_secs() as i32)?;
    set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, KEEPALIVE_PROBES)
}

/// Listen backlog: std and mio use 128, too few for a join storm of
/// thousands of clients (overflowing connects wait a second for a SYN
/// retry). The kernel caps it at net.core.somaxconn.
pub const LISTEN_BACKLOG: i32 = 4096;

/// Raises a listening socket's backlog (calling listen again is how).
pub fn set_backlog(listener: &impl AsRawFd, backlog: i32) -> io::Result<()> {
    // SAFETY: listen on a descriptor the caller owns.
    if unsafe { libc::listen(listener.as_raw_fd(), backlog) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Gives memory that is free inside the heap back to the system. After a
/// burst (a join storm, a flood of broadcasts) the allocator keeps the pages
/// it used; the loop calls this when it goes idle so the server shrinks back.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Bytes written into a TCP socket that the peer has not acknowledged yet
/// (Linux `SIOCOUTQ`: unsent plus unacknowledged). Offline delivery counts a
/// stored message as delivered only once this has fallen below its end:
/// bytes still in our send buffer die with the process, bytes the peer's
/// TCP acknowledged do not. Where the kernel cannot tell, 0: written is
/// taken as delivered.
pub fn unacked_bytes(sock: &impl AsRawFd) -> io::Result<usize> {
    #[cfg(target_os = "linux")]
    {
        let mut n: libc::c_int = 0;
        // SAFETY: SIOCOUTQ (= TIOCOUTQ) writes one int into `n`, which we own.
        let rc = unsafe { libc::ioctl(sock.as_raw_fd(), libc::TIOCOUTQ, &mut n as *mut libc::c_int) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(usize::try_from(n).unwrap_or(0))
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = sock;
        Ok(0)
    }
}

/// Whether an accept error means "out of descriptors or memory": wait for
/// some to be freed rather than retry at once.
pub fn is_resource_exhaustion(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))
}

/// Whether a bind error means "this machine has no IPv6".
pub fn is_no_ipv6(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::EAFNOSUPPORT | libc::EADDRNOTAVAIL))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_is_set_on_a_real_socket() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        set_keepalive(&s).unwrap();
        let mut v: i32 = 0;
        let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
        // SAFETY: getsockopt into an i32 we own.
        let rc = unsafe {
            libc::getsockopt(s.as_raw_fd(), libc::SOL_SOCKET, libc::SO_KEEPALIVE, (&mut v as *mut i32).cast(), &mut len)
        };
        assert_eq!((rc, v), (0, 1));
    }

    #[test]
    fn unacked_bytes_falls_to_zero_once_the_peer_has_the_bytes() {
        use std::io::{Read, Write};
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut s = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut peer, _) = l.accept().unwrap();
        s.write_all(&[7u8; 1000]).unwrap();
        let mut got = [0u8; 1000];
        peer.read_exact(&mut got).unwrap();
        // The peer has read them, so its TCP has acknowledged them (soon).
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while unacked_bytes(&s).unwrap() > 0 {
            assert!(std::time::Instant::now() < deadline, "never acknowledged");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn nofile_limit_is_positive() {
        assert!(raise_nofile_limit().unwrap() > 0);
    }
}
