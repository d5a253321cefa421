//! chatd-bench: a load generator for chatd (and, for comparison, IRC servers).
//!
//! One mio thread drives every simulated client, so the generator is not the
//! bottleneck. Each message carries its sender, a sequence number and the
//! send time, so receivers measure one-way latency and detect loss,
//! duplicates and reordering. Every run prints one summary line.
//!
//! Workloads (see `-h`):
//! - `broadcast` (W1): N clients each send M broadcasts with at most K in flight;
//! - `latency` (W2): N clients, S of them send R messages/s for T seconds;
//! - `idle` (W3): N joined clients sit idle; server RSS per connection (with
//!   `--irc`, "joined" is registered, in no channel: chatd's JOIN is a login);
//! - `joinstorm`: N clients join at once, every join announced to all;
//! - `scale`: N joined clients, S of them send R broadcasts/s for T seconds
//!   once the joins are over: the server's CPU time per delivery in that
//!   steady phase (utime+stime from /proc/PID/stat), p50/p99 latency, and a
//!   check per receiver that every message arrived once and in order.
//!
//! `--sources K` spreads the connections over the source addresses
//! 127.0.0.2 .. 127.0.0.(K+1) (bound before connect): loopback has about
//! 28 000 ephemeral ports per source address, so 50 000 clients need 2 or more.
//!
//! With `--ws`, `--addr` is chatd's `http_listen` address and every client
//! speaks chatd's protocol over a WebSocket (`/ws`, one line per text
//! message), as the browser page does: W1 and W3 then compare the
//! WebSocket transport with plain TCP.
//!
//! With `--tls --tls-ca FILE`, every client connection is TLS (rustls, the
//! server's certificate checked against FILE, e.g. the one
//! `scripts/dev-cert.sh` made, for the name `localhost`): `--addr` is then
//! chatd's `tls_listen` (or, with `--irc`, `irc_tls_listen` or an IRC
//! server's TLS port). Ciphertext is read a socketful at a time into one
//! shared buffer and decrypted from there; what a client queues is
//! encrypted and written in one go per flush.
//!
//! `relay` is not a workload but a server: a bare mio relay (no parsing
//! beyond the commands the workloads use, no storage) on `--addr`, to show
//! the load generator's own ceiling (see relay.rs).
//!
//! Network use is loopback only by design: `--addr` must be a loopback address.

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

mod parse;
mod relay;

/// Connections being set up at once: more would overflow the server's listen
/// backlog (chatd's is 4096), and dropped connections are retried only after
/// 1, 3, 7.. s. ngIRCd listens with a backlog of 10, hence the IRC batch.
const CONNECT_BATCH: usize = 256;
const IRC_CONNECT_BATCH: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Proto {
    Chatd,
    Irc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    Broadcast,
    Latency,
    Idle,
    JoinStorm,
    Scale,
    /// Not a workload: serve as a bare relay.
    Relay,
}

#[derive(Debug, Clone)]
struct Options {
    addr: SocketAddr,
    proto: Proto,
    workload: Workload,
    clients: usize,
    messages: usize,
    size: usize,
    window: usize,
    senders: usize,
    rate: u32,
    seconds: f64,
    pid: Option<u32>,
    timeout: Duration,
    /// Source addresses to spread the connections over (0: the kernel's choice).
    sources: usize,
    /// Over a WebSocket (`--ws`).
    ws: bool,
    /// Over TLS (`--tls`), trusting the certificates in this file (`--tls-ca`).
    tls_ca: Option<PathBuf>,
}

fn usage() -> String {
    let brief = "Usage: chatd-bench [options] broadcast|latency|idle|joinstorm|scale|relay\n\n\
        Load generator for chatd (or an IRC server with --irc). Loopback only.\n\
        relay: serve on --addr as a bare relay (JOIN, ALL, PING; no storage)\n\
        for --timeout seconds, to measure the load generator's own ceiling.";
    options().usage(brief)
}

fn options() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.optopt("a", "addr", "server address (loopback; relay: listen there), default 127.0.0.1:5000", "ADDR");
    o.optflag("", "irc", "speak IRC (NICK/USER, JOIN #bench but not when idle, PRIVMSG #bench) instead of chatd");
    o.optflag(
        "",
        "ws",
        "connect over WebSocket: --addr is chatd's http_listen address (the browser client's transport)",
    );
    o.optflag("", "tls", "connect over TLS (needs --tls-ca): --addr is a TLS listener");
    o.optopt(
        "",
        "tls-ca",
        "with --tls: trust the certificates in this PEM file (e.g. scripts/dev-cert.sh's cert.pem); \
         the server must present one for the name localhost",
        "FILE",
    );
    o.optopt("c", "clients", "connections (default 100)", "N");
    o.optopt("m", "messages", "broadcast: messages per sender (default 200)", "N");
    o.optopt("s", "size", "message text size in bytes (default 64)", "BYTES");
    o.optopt("w", "window", "broadcast: messages in flight per sender (default 8)", "N");
    o.optopt("", "senders", "latency, scale: how many clients send (default 20)", "N");
    o.optopt("", "rate", "latency, scale: messages per second per sender (default 50)", "N");
    o.optopt("", "seconds", "latency, scale: how long to send; idle: how long to hold (default 10)", "SECS");
    o.optopt("", "pid", "server process id, to read its memory (idle, joinstorm) or CPU time (scale)", "PID");
    o.optopt(
        "",
        "sources",
        "spread the connections over source addresses 127.0.0.2..127.0.0.(K+1) (default: 0, one address, \
         the kernel's choice; about 28 000 connections fit one)",
        "K",
    );
    o.optopt("t", "timeout", "give up after this many seconds (relay: serve this long; default 300)", "SECS");
    o.optflag("h", "help", "print this help");
    o
}

fn parse_args(args: &[String]) -> Result<Option<Options>, String> {
    let m = options().parse(args).map_err(|e| e.to_string())?;
    if m.opt_present("h") {
        return Ok(None);
    }
    fn num<T: std::str::FromStr>(m: &getopts::Matches, name: &str, default: T) -> Result<T, String> {
        match m.opt_str(name) {
            Some(v) => v.parse().map_err(|_| format!("--{name}: not a number: {v}")),
            None => Ok(default),
        }
    }
    let addr: SocketAddr =
        m.opt_str("addr").unwrap_or_else(|| "127.0.0.1:5000".into()).parse().map_err(|e| format!("--addr: {e}"))?;
    if !addr.ip().is_loopback() {
        return Err("--addr must be a loopback address (127.0.0.0/8 or ::1)".into());
    }
    let workload = match m.free.first().map(String::as_str) {
        Some("broadcast") => Workload::Broadcast,
        Some("latency") => Workload::Latency,
        Some("idle") => Workload::Idle,
        Some("joinstorm") => Workload::JoinStorm,
        Some("scale") => Workload::Scale,
        Some("relay") => Workload::Relay,
        Some(other) => return Err(format!("unknown workload {other}")),
        None => return Err("name a workload (broadcast, latency, idle, joinstorm or scale) or relay".into()),
    };
    let opts = Options {
        addr,
        proto: if m.opt_present("irc") { Proto::Irc } else { Proto::Chatd },
        workload,
        clients: num(&m, "clients", 100)?,
        messages: num(&m, "messages", 200)?,
        size: num(&m, "size", 64)?,
        window: num(&m, "window", 8)?,
        senders: num(&m, "senders", 20)?,
        rate: num(&m, "rate", 50)?,
        seconds: num(&m, "seconds", 10.0)?,
        pid: m.opt_str("pid").map(|p| p.parse()).transpose().map_err(|_| "--pid: not a number".to_string())?,
        timeout: Duration::from_secs_f64(num(&m, "timeout", 300.0)?),
        sources: num(&m, "sources", 0)?,
        ws: m.opt_present("ws"),
        tls_ca: match (m.opt_present("tls"), m.opt_str("tls-ca")) {
            (true, Some(ca)) => Some(PathBuf::from(ca)),
            (true, None) => return Err("--tls needs --tls-ca FILE (the certificate to trust)".into()),
            (false, Some(_)) => return Err("--tls-ca is for --tls".into()),
            (false, None) => None,
        },
    };
    if opts.sources > 250 {
        return Err("--sources must be 0..250".into());
    }
    if opts.sources > 0 && !opts.addr.is_ipv4() {
        return Err("--sources needs an IPv4 --addr (the sources are 127.0.0.2 and on)".into());
    }
    if opts.ws && opts.tls_ca.is_some() {
        return Err("--ws and --tls together are not supported".into());
    }
    if opts.ws && opts.proto == Proto::Irc {
        return Err("--ws speaks chatd's protocol, not IRC".into());
    }
    if opts.clients == 0 || opts.clients > 60_000 {
        return Err("--clients must be 1..60000".into());
    }
    if opts.window == 0 || opts.size < 40 || opts.size > 900 {
        return Err("--window must be at least 1 and --size 40..900".into());
    }
    Ok(Some(opts))
}

/// One simulated client.
struct Client {
    sock: TcpStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    want_write: bool,
    joined: bool,
    closed: bool,
    /// Messages sent, and acknowledged (OK ALL / PONG).
    sent: usize,
    acked: usize,
    /// Last sequence number seen from each sender (index = sender).
    last_seq: Vec<i64>,
    /// Bench messages received (from any sender), duplicates included.
    received: u64,
    /// JOINED events seen (join storm).
    joins_seen: usize,
    /// Next send time (latency workload).
    next_send: Instant,
    /// `--ws`: the upgrade is answered; frame bytes read and not yet
    /// decoded; bytes to write (lines from `out`, framed).
    handshaken: bool,
    raw: Vec<u8>,
    wire: Vec<u8>,
    /// `--tls`: the TLS session (what `out` holds is encrypted into it).
    tls: Option<Box<rustls::ClientConnection>>,
}

/// Counters of a run.
#[derive(Default)]
struct Tally {
    deliveries: u64,
    duplicates: u64,
    reordered: u64,
    latencies_us: Vec<u32>,
    joins_seen: u64,
    errors: u64,
}

struct Bench {
    opts: Options,
    poll: Poll,
    clients: Vec<Client>,
    tally: Tally,
    epoch: Instant,
    padding: String,
    /// The read buffer, shared by every client.
    rbuf: Vec<u8>,
    /// When a client last read anything: the server has gone quiet since.
    last_read: Instant,
    /// `--tls`: the client configuration, and the shared buffer ciphertext
    /// is read into.
    tls_config: Option<Arc<rustls::ClientConfig>>,
    cbuf: Vec<u8>,
}

/// The shared read buffer's size: a read takes all a socket holds, mostly.
const READ_BUF: usize = 256 << 10;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = match parse_args(&args) {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{}", usage());
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("chatd-bench: {e} (try chatd-bench -h)");
            return ExitCode::from(2);
        }
    };
    match run(opts) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("chatd-bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(opts: Options) -> io::Result<String> {
    // Thousands of connections need thousands of descriptors.
    let limit = chatd::os::raise_nofile_limit()?;
    if (opts.clients as u64) + 16 > limit {
        return Err(io::Error::other(format!("{} clients need more descriptors than the limit {limit}", opts.clients)));
    }
    if opts.workload == Workload::Relay {
        return relay::serve(opts.addr, opts.timeout);
    }
    let mut bench = Bench {
        padding: "x".repeat(opts.size),
        poll: Poll::new()?,
        clients: Vec::new(),
        tally: Tally::default(),
        epoch: Instant::now(),
        rbuf: vec![0; READ_BUF],
        last_read: Instant::now(),
        tls_config: match &opts.tls_ca {
            Some(ca) => Some(tls_config(ca)?),
            None => None,
        },
        cbuf: if opts.tls_ca.is_some() { vec![0; READ_BUF] } else { Vec::new() },
        opts,
    };
    let rss_before = bench.opts.pid.and_then(rss_kib);
    let start = Instant::now();
    bench.connect_and_join()?;
    let joined_at = start.elapsed();
    let o = bench.opts.clone();
    let line = match o.workload {
        Workload::JoinStorm => {
            // Every client sees the join of each client that joined after it
            // (IRC also echoes a client's own JOIN to it).
            let expected = match o.proto {
                Proto::Chatd => o.clients * (o.clients - 1) / 2,
                Proto::Irc => o.clients * (o.clients + 1) / 2,
            } as u64;
            bench.pump_until(|b| b.tally.joins_seen >= expected)?;
            let secs = start.elapsed().as_secs_f64();
            let rss = bench.opts.pid.and_then(rss_kib);
            // Is the memory of the storm given back once it is over?
            bench.pump_for(Duration::from_secs(2))?;
            let rss_idle = bench.opts.pid.and_then(rss_kib);
            let mib = |r: Option<u64>| r.map(|r| format!("{:.1}", r as f64 / 1024.0)).unwrap_or_else(|| "-".into());
            format!(
                "joinstorm clients={} secs={:.2} joined_secs={:.2} announcements={} server_rss_mib={} server_rss_2s_later_mib={} errors={}",
                o.clients,
                secs,
                joined_at.as_secs_f64(),
                bench.tally.joins_seen,
                mib(rss),
                mib(rss_idle),
                bench.tally.errors
            )
        }
        Workload::Idle => {
            // The announcements of the joins first, then the hold: RSS is
            // measured with the join storm's output written out.
            let joins_secs = bench.settle_joins()?;
            bench.pump_for(Duration::from_secs_f64(o.seconds.min(5.0)))?;
            let rss_after = bench.opts.pid.and_then(rss_kib);
            let per_conn = match (rss_before, rss_after) {
                (Some(a), Some(b)) => format!("{:.2}", (b.saturating_sub(a)) as f64 / o.clients as f64),
                _ => "-".into(),
            };
            // Then one broadcast from the first client: does it reach all?
            // (Not with IRC: the clients are in no channel.)
            let others = (o.clients - 1) as u64;
            let broadcast = if o.proto == Proto::Chatd {
                bench.send_payload(0);
                bench.flush(0)?;
                let sent = Instant::now();
                let _ = bench.pump_until_or(|b| b.tally.deliveries >= others, Duration::from_secs(30));
                let secs = sent.elapsed().as_secs_f64();
                // What the delivery left behind in the server, once written.
                bench.pump_for(Duration::from_secs_f64(o.seconds.min(2.0)))?;
                let rss = bench.opts.pid.and_then(rss_kib).map(|v| v.to_string()).unwrap_or_else(|| "-".into());
                format!(
                    "{}/{others} broadcast_secs={secs:.2} server_rss_after_broadcast_kib={rss}",
                    bench.tally.deliveries
                )
            } else {
                "- broadcast_secs=- server_rss_after_broadcast_kib=-".into()
            };
            format!(
                "idle clients={} joined={} closed={} source_addrs={} joined_secs={:.2} announced_secs={joins_secs:.2} server_rss_before_kib={} server_rss_after_kib={} rss_per_conn_kib={per_conn} broadcast_reached={broadcast}",
                o.clients,
                bench.clients.iter().filter(|c| c.joined).count(),
                bench.clients.iter().filter(|c| c.closed).count(),
                bench.source_addrs(),
                joined_at.as_secs_f64(),
                rss_before.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
                rss_after.map(|v| v.to_string()).unwrap_or_else(|| "-".into()),
            )
        }
        Workload::Broadcast => bench.broadcast()?,
        Workload::Latency => bench.latency()?,
        Workload::Scale => bench.scale()?,
        Workload::Relay => unreachable!("the relay is served above"),
    };
    Ok(line)
}

/// The CPU time (user + system, all threads) a process has used, in µs,
/// from /proc/PID/stat (clock ticks: 10 ms each, mostly).
fn cpu_us(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the command name (which may hold spaces): field 3 (state) on.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf takes no pointer.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| ticks * 1_000_000 / hz as u64)
}

/// `--tls`: a client configuration trusting only the certificates in `ca`.
fn tls_config(ca: &std::path::Path) -> io::Result<Arc<rustls::ClientConfig>> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let bad = |e: String| io::Error::other(format!("--tls-ca {}: {e}", ca.display()));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| bad(e.to_string()))? {
        roots.add(cert.map_err(|e| bad(e.to_string()))?).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("no certificate in it".into()));
    }
    // ring, as chatd's own TLS (src/tls.rs says why it is allowed here).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The `k`th source address: 127.0.0.2, 127.0.0.3, ...
fn source_addr(k: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + k as u8))
}

/// A non-blocking connect to `addr`, from `source` when given (bound
/// before connect, the port the kernel's choice).
fn connect_from(addr: SocketAddr, source: Option<IpAddr>) -> io::Result<TcpStream> {
    let Some(source) = source else { return TcpStream::connect(addr) };
    use socket2::{Domain, Protocol, Socket, Type};
    let sock = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    sock.set_nonblocking(true)?;
    sock.bind(&SocketAddr::new(source, 0).into())
        .map_err(|e| io::Error::new(e.kind(), format!("bind to {source}: {e}")))?;
    match sock.connect(&addr.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(sock.into()))
}

/// The resident memory of a process, from /proc.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Client `c` got message `p`, read at `now_us` (looked at in W2 only).
#[inline(always)]
fn deliver(workload: Workload, c: &mut Client, tally: &mut Tally, p: parse::Payload, now_us: u64) {
    tally.deliveries += 1;
    c.received += 1;
    if matches!(workload, Workload::Latency | Workload::Scale) {
        tally.latencies_us.push(now_us.saturating_sub(p.sent_us).min(u64::from(u32::MAX)) as u32);
    }
    // Past the senders (idle, joinstorm): counted, not checked.
    let Some(last) = c.last_seq.get_mut(p.sender) else { return };
    if p.seq <= *last {
        tally.duplicates += 1;
    } else if p.seq != *last + 1 {
        tally.reordered += 1;
    }
    *last = (*last).max(p.seq);
}

/// One server line (without its line end) for client `c`.
#[inline(always)]
fn one_line(opts: &Options, c: &mut Client, tally: &mut Tally, line: &[u8], ascii: bool, now_us: u64) {
    if !parse::readable(line, ascii) {
        return;
    }
    // The hot case, a bench message in chatd's usual form, straight to
    // its delivery (handing it through `Line` would cost a store and
    // a reload of the payload a line).
    if opts.proto == Proto::Chatd {
        if let Some(p) = parse::chatd_delivery(line) {
            deliver(opts.workload, c, tally, p, now_us);
            return;
        }
    }
    let event = match opts.proto {
        Proto::Chatd => parse::chatd(line),
        Proto::Irc => parse::irc(line),
    };
    on_line(opts.workload, c, tally, event, now_us);
}

/// What client `c` makes of one server line.
fn on_line(workload: Workload, c: &mut Client, tally: &mut Tally, line: parse::Line, now_us: u64) {
    use parse::Line;
    match line {
        Line::Delivery(p) => deliver(workload, c, tally, p, now_us),
        Line::Malformed | Line::Other => {}
        Line::Ack => c.acked += 1,
        Line::JoinOk | Line::InChannel => c.joined = true,
        Line::Joined => {
            c.joins_seen += 1;
            tally.joins_seen += 1;
        }
        Line::Err => tally.errors += 1,
        Line::Ping(token) => {
            c.out.extend_from_slice(b"PONG ");
            c.out.extend_from_slice(token);
            c.out.extend_from_slice(b"\r\n");
        }
        // End of MOTD: registered. Idle clients stop there (chatd's JOIN is
        // a login, as registration is); others join the channel.
        Line::Registered if workload == Workload::Idle => c.joined = true,
        Line::Registered => c.out.extend_from_slice(b"JOIN #bench\r\n"),
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

impl Bench {
    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// Connects every client (a batch at a time) and joins it.
    fn connect_and_join(&mut self) -> io::Result<()> {
        let n = self.opts.clients;
        let senders = match self.opts.workload {
            Workload::Broadcast => n,
            Workload::Latency | Workload::Scale => self.opts.senders.min(n),
            _ => 0,
        };
        let deadline = Instant::now() + self.opts.timeout;
        while self.clients.len() < n {
            let batch = if self.opts.proto == Proto::Irc { IRC_CONNECT_BATCH } else { CONNECT_BATCH };
            let batch_end = (self.clients.len() + batch).min(n);
            for i in self.clients.len()..batch_end {
                let source = (self.opts.sources > 0).then(|| source_addr(i % self.opts.sources));
                let mut sock = connect_from(self.opts.addr, source)?;
                self.poll.registry().register(&mut sock, Token(i), Interest::READABLE | Interest::WRITABLE)?;
                let name = format!("b{i}");
                let mut c = Client {
                    sock,
                    inbuf: Vec::new(),
                    out: Vec::new(),
                    want_write: true,
                    joined: false,
                    closed: false,
                    sent: 0,
                    acked: 0,
                    last_seq: vec![-1; senders],
                    received: 0,
                    joins_seen: 0,
                    next_send: Instant::now(),
                    handshaken: false,
                    raw: Vec::new(),
                    wire: Vec::new(),
                    tls: None,
                };
                if let Some(config) = &self.tls_config {
                    let name = rustls::pki_types::ServerName::try_from("localhost").expect("a valid name");
                    let mut tls = rustls::ClientConnection::new(Arc::clone(config), name).map_err(io::Error::other)?;
                    // What a client queues is bounded by the workload (its
                    // window); rustls holds it until the handshake is done.
                    tls.set_buffer_limit(None);
                    c.tls = Some(Box::new(tls));
                }
                if self.opts.ws {
                    let addr = self.opts.addr;
                    c.wire.extend_from_slice(
                        format!(
                            "GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
                        )
                        .as_bytes(),
                    );
                }
                match self.opts.proto {
                    Proto::Chatd => c.out.extend_from_slice(format!("JOIN {name}\r\n").as_bytes()),
                    Proto::Irc => {
                        c.out.extend_from_slice(format!("NICK {name}\r\nUSER {name} 0 * :{name}\r\n").as_bytes())
                    }
                }
                self.clients.push(c);
            }
            let upto = self.clients.len();
            self.pump_until(|b| b.clients[..upto].iter().all(|c| c.joined || c.closed))?;
            if Instant::now() > deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "joining took too long"));
            }
        }
        Ok(())
    }

    /// Runs the event loop until `done` holds (or the timeout).
    fn pump_until(&mut self, done: impl Fn(&Bench) -> bool) -> io::Result<()> {
        let deadline = Instant::now() + self.opts.timeout;
        let mut events = Events::with_capacity(4096);
        while !done(self) {
            if Instant::now() > deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "timed out waiting for the server"));
            }
            self.poll.poll(&mut events, Some(Duration::from_millis(5)))?;
            for e in events.iter() {
                self.service(e.token().0, e.is_readable(), e.is_writable())?;
            }
        }
        Ok(())
    }

    fn pump_for(&mut self, d: Duration) -> io::Result<()> {
        let until = Instant::now() + d;
        self.pump_until(|_| Instant::now() >= until)
    }

    fn service(&mut self, i: usize, readable: bool, writable: bool) -> io::Result<()> {
        if readable {
            self.read(i);
        }
        let c = &self.clients[i];
        if writable || !c.out.is_empty() || c.tls.as_ref().is_some_and(|t| t.wants_write()) {
            self.flush(i)?;
        }
        Ok(())
    }

    /// Reads what client `i` was sent, into the shared read buffer, and
    /// handles each complete line; a partial line waits in the client's
    /// `inbuf`. One clock reading per read (W2's latency), none in W1.
    fn read(&mut self, i: usize) {
        if self.opts.ws {
            return self.read_ws(i);
        }
        if self.clients[i].tls.is_some() {
            return self.read_tls(i);
        }
        let mut buf = std::mem::take(&mut self.rbuf);
        let carry = std::mem::take(&mut self.clients[i].inbuf);
        let mut filled = carry.len();
        if filled >= buf.len() {
            buf.resize(2 * filled, 0); // a line longer than the buffer
        }
        buf[..filled].copy_from_slice(&carry);
        let timed = matches!(self.opts.workload, Workload::Latency | Workload::Scale);
        loop {
            let room = buf.len() - filled;
            let c = &mut self.clients[i];
            match c.sock.read(&mut buf[filled..]) {
                Ok(0) => {
                    c.closed = true;
                    break;
                }
                Ok(n) => {
                    filled += n;
                    self.last_read = Instant::now();
                    let now = if timed { self.now_us() } else { 0 };
                    let used = self.lines(i, &buf[..filled], now);
                    buf.copy_within(used..filled, 0);
                    filled -= used;
                    if filled == buf.len() {
                        buf.resize(2 * filled, 0);
                    }
                    // Less than asked for: the socket is drained for now.
                    // (Edge-triggered readiness comes again with new data.)
                    if n < room {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    c.closed = true;
                    break;
                }
            }
        }
        let mut carry = carry;
        carry.clear();
        carry.extend_from_slice(&buf[..filled]);
        self.clients[i].inbuf = carry;
        self.rbuf = buf;
    }

    /// Handles the complete lines in `buf` for client `i`; returns how many
    /// bytes they took.
    fn lines(&mut self, i: usize, buf: &[u8], now_us: u64) -> usize {
        let Bench { opts, clients, tally, .. } = self;
        let c = &mut clients[i];
        let mut start = 0;
        while let Some((len, ascii)) = parse::line_end(&buf[start..]) {
            let line = &buf[start..start + len];
            start += len + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            one_line(opts, c, tally, line, ascii, now_us);
        }
        start
    }

    fn flush(&mut self, i: usize) -> io::Result<()> {
        if self.clients[i].tls.is_some() {
            return self.flush_tls(i);
        }
        let ws = self.opts.ws;
        let c = &mut self.clients[i];
        if ws {
            ws_frame_lines(&c.out, &mut c.wire);
            c.out.clear();
        }
        let Client { out, wire, sock, closed, .. } = c;
        let pending = if ws { wire } else { out };
        while !pending.is_empty() {
            match sock.write(pending) {
                Ok(n) => {
                    pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => break, // still connecting
                Err(_) => {
                    *closed = true;
                    pending.clear();
                }
            }
        }
        let want = !pending.is_empty();
        if want != c.want_write {
            let interest = if want { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
            self.poll.registry().reregister(&mut c.sock, Token(i), interest)?;
            c.want_write = want;
        }
        Ok(())
    }

    /// `--tls`: reads what client `i` was sent, a socketful of ciphertext
    /// at a time into the shared `cbuf`, hands it all to rustls, takes the
    /// plaintext into the shared read buffer and handles its complete lines
    /// (a partial line waits in `inbuf`, as in `read`).
    fn read_tls(&mut self, i: usize) {
        if self.clients[i].closed {
            return; // a failed session is read no more (its error counted once)
        }
        let mut buf = std::mem::take(&mut self.rbuf);
        let mut cbuf = std::mem::take(&mut self.cbuf);
        let carry = std::mem::take(&mut self.clients[i].inbuf);
        let mut filled = carry.len();
        if filled >= buf.len() {
            buf.resize(2 * filled, 0);
        }
        buf[..filled].copy_from_slice(&carry);
        let timed = matches!(self.opts.workload, Workload::Latency | Workload::Scale);
        'socket: loop {
            let c = &mut self.clients[i];
            let n = match c.sock.read(&mut cbuf) {
                Ok(0) => {
                    c.closed = true;
                    break;
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    c.closed = true;
                    break;
                }
            };
            self.last_read = Instant::now();
            let mut wire = &cbuf[..n];
            while !wire.is_empty() {
                // rustls takes a record buffer's worth at a time; each is
                // decrypted and its plaintext taken before the next.
                let c = &mut self.clients[i];
                let tls = c.tls.as_mut().expect("a TLS client");
                if tls.read_tls(&mut wire).is_err() || tls.process_new_packets().is_err() {
                    c.closed = true;
                    self.tally.errors += 1;
                    break 'socket;
                }
                let mut peer_closed = false;
                loop {
                    if filled == buf.len() {
                        buf.resize(2 * filled, 0);
                    }
                    match tls.reader().read(&mut buf[filled..]) {
                        Ok(0) => {
                            peer_closed = true; // close_notify
                            break;
                        }
                        Ok(k) => filled += k,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => {
                            peer_closed = true; // closed without close_notify
                            break;
                        }
                    }
                }
                let now = if timed { self.now_us() } else { 0 };
                let used = self.lines(i, &buf[..filled], now);
                buf.copy_within(used..filled, 0);
                filled -= used;
                if peer_closed {
                    self.clients[i].closed = true;
                    break 'socket;
                }
            }
            // Less than asked for: the socket is drained for now.
            if n < cbuf.len() {
                break;
            }
        }
        let mut carry = carry;
        carry.clear();
        carry.extend_from_slice(&buf[..filled]);
        self.clients[i].inbuf = carry;
        self.rbuf = buf;
        self.cbuf = cbuf;
        // Handshake messages, or PONGs to the server's PINGs.
        let c = &self.clients[i];
        if !c.closed && (c.tls.as_ref().is_some_and(|t| t.wants_write()) || !c.out.is_empty()) {
            let _ = self.flush(i);
        }
    }

    /// `--tls`: encrypts what client `i` queued (every line in one go) and
    /// writes the records out, as many as the socket takes.
    fn flush_tls(&mut self, i: usize) -> io::Result<()> {
        let c = &mut self.clients[i];
        let Client { out, sock, closed, tls, .. } = c;
        let tls = tls.as_mut().expect("a TLS client");
        if !out.is_empty() {
            // No buffer limit (set at connect): the whole of it is taken.
            let _ = tls.writer().write_all(out);
            out.clear();
        }
        while tls.wants_write() {
            match tls.write_tls(sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::NotConnected => break, // still connecting
                Err(_) => {
                    *closed = true;
                    break;
                }
            }
        }
        let want = tls.wants_write() && !*closed;
        if want != c.want_write {
            let interest = if want { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
            self.poll.registry().reregister(&mut c.sock, Token(i), interest)?;
            c.want_write = want;
        }
        Ok(())
    }

    /// `--ws`: reads what client `i` was sent, answers the upgrade,
    /// decodes the frames (one line each) and handles the lines.
    fn read_ws(&mut self, i: usize) {
        let mut buf = std::mem::take(&mut self.rbuf);
        let c = &mut self.clients[i];
        loop {
            match c.sock.read(&mut buf) {
                Ok(0) => {
                    c.closed = true;
                    break;
                }
                Ok(n) => {
                    c.raw.extend_from_slice(&buf[..n]);
                    if n < buf.len() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    c.closed = true;
                    break;
                }
            }
        }
        self.rbuf = buf;
        if !c.handshaken {
            let Some(end) = c.raw.windows(4).position(|w| w == b"\r\n\r\n") else { return };
            if !c.raw.starts_with(b"HTTP/1.1 101 ") {
                c.closed = true;
                self.tally.errors += 1;
                return;
            }
            c.raw.drain(..end + 4);
            c.handshaken = true;
        }
        // Server frames: unmasked, one text frame per line, each handled
        // where it lies.
        let now = if self.opts.workload == Workload::Latency { self.now_us() } else { 0 };
        let Bench { opts, clients, tally, .. } = self;
        let c = &mut clients[i];
        let mut raw = std::mem::take(&mut c.raw);
        let mut pos = 0;
        while let Some((opcode, start, end)) = ws_frame_at(&raw[pos..]) {
            let payload = &raw[pos + start..pos + end];
            match opcode {
                1 => one_line(opts, c, tally, payload, payload.is_ascii(), now),
                8 => c.closed = true,
                9 => ws_frame(0xA, payload, &mut c.wire),
                _ => {}
            }
            pos += end;
        }
        raw.drain(..pos);
        c.raw = raw;
        if !self.clients[i].wire.is_empty() {
            let _ = self.flush(i);
        }
    }

    /// Queues client `i`'s next message: `<i> <seq> <now-us> ` padded with
    /// x to `size` bytes (with IRC, and a PING to acknowledge it).
    fn send_payload(&mut self, i: usize) {
        let now = self.now_us();
        let c = &mut self.clients[i];
        let seq = c.sent;
        let out = &mut c.out;
        out.extend_from_slice(match self.opts.proto {
            Proto::Chatd => b"ALL ",
            Proto::Irc => b"PRIVMSG #bench :",
        });
        let text = out.len();
        write!(out, "{i} {seq} {now} ").expect("a Vec takes it");
        let pad = self.opts.size.saturating_sub(out.len() - text);
        out.extend_from_slice(&self.padding.as_bytes()[..pad]);
        out.extend_from_slice(b"\r\n");
        if self.opts.proto == Proto::Irc {
            write!(out, "PING :a{seq}\r\n").expect("a Vec takes it");
        }
        c.sent += 1;
    }

    /// W1: every client sends `messages` broadcasts, `window` in flight.
    fn broadcast(&mut self) -> io::Result<String> {
        let (n, m, w) = (self.clients.len(), self.opts.messages, self.opts.window);
        let expected = (n * (n - 1) * m) as u64;
        let start = Instant::now();
        let deadline = start + self.opts.timeout;
        let mut events = Events::with_capacity(4096);
        while self.tally.deliveries < expected {
            if Instant::now() > deadline {
                break;
            }
            for i in 0..n {
                let c = &self.clients[i];
                if c.closed {
                    continue;
                }
                let room = w.saturating_sub(c.sent - c.acked).min(m - c.sent);
                for _ in 0..room {
                    self.send_payload(i);
                }
                if room > 0 {
                    self.flush(i)?;
                }
            }
            self.poll.poll(&mut events, Some(Duration::from_millis(5)))?;
            for e in events.iter() {
                self.service(e.token().0, e.is_readable(), e.is_writable())?;
            }
            if self.clients.iter().all(|c| c.closed) {
                break;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let lost = expected.saturating_sub(self.tally.deliveries - self.tally.duplicates);
        Ok(format!(
            "broadcast clients={n} messages={m} size={} window={w} deliveries={} secs={secs:.2} deliveries_per_s={:.0} lost={lost} dup={} reordered={} errors={}",
            self.opts.size,
            self.tally.deliveries,
            self.tally.deliveries as f64 / secs,
            self.tally.duplicates,
            self.tally.reordered,
            self.tally.errors
        ))
    }

    /// W2: `senders` clients each send `rate` broadcasts per second for
    /// `seconds`; every delivery's one-way latency is recorded.
    fn latency(&mut self) -> io::Result<String> {
        let n = self.clients.len();
        let senders = self.opts.senders.min(n);
        let sent = self.send_steadily(senders)?;
        let expected = sent * (n as u64 - 1);
        let _ = self.pump_until_or(|b| b.tally.deliveries >= expected, Duration::from_secs(10));
        let mut l = std::mem::take(&mut self.tally.latencies_us);
        l.sort_unstable();
        let lost = expected.saturating_sub(self.tally.deliveries - self.tally.duplicates);
        Ok(format!(
            "latency clients={n} senders={senders} rate={} secs={} sent={sent} deliveries={} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} lost={lost} dup={} reordered={} errors={}",
            self.opts.rate,
            self.opts.seconds,
            self.tally.deliveries,
            percentile(&l, 0.50),
            percentile(&l, 0.99),
            percentile(&l, 1.0),
            self.tally.duplicates,
            self.tally.reordered,
            self.tally.errors
        ))
    }

    /// The first `senders` clients each send `rate` broadcasts per second
    /// for `seconds`, spread over one interval; returns how many were sent.
    fn send_steadily(&mut self, senders: usize) -> io::Result<u64> {
        let interval = Duration::from_secs_f64(1.0 / f64::from(self.opts.rate.max(1)));
        let start = Instant::now();
        let stop_sending = start + Duration::from_secs_f64(self.opts.seconds);
        for (k, c) in self.clients.iter_mut().take(senders).enumerate() {
            c.next_send = start + interval.mul_f64(k as f64 / senders as f64);
        }
        let mut events = Events::with_capacity(4096);
        loop {
            let now = Instant::now();
            if now >= stop_sending {
                break;
            }
            for i in 0..senders {
                if self.clients[i].closed {
                    continue;
                }
                while self.clients[i].next_send <= now {
                    self.send_payload(i);
                    self.clients[i].next_send += interval;
                }
                if !self.clients[i].out.is_empty() {
                    self.flush(i)?;
                }
            }
            let next = self.clients[..senders].iter().map(|c| c.next_send).min().unwrap_or(stop_sending);
            let wait = next.saturating_duration_since(Instant::now()).min(Duration::from_millis(5));
            self.poll.poll(&mut events, Some(wait))?;
            for e in events.iter() {
                self.service(e.token().0, e.is_readable(), e.is_writable())?;
            }
        }
        Ok(self.clients[..senders].iter().map(|c| c.sent as u64).sum())
    }

    /// Waits (within the timeout) until every join has been announced to
    /// every client joined before it, or the server has sent nothing for a
    /// second (a server that does not announce joins, as the bare relay);
    /// returns how long that took.
    fn settle_joins(&mut self) -> io::Result<f64> {
        let n = self.clients.len() as u64;
        let expected = match self.opts.proto {
            Proto::Chatd => n * (n - 1) / 2,
            Proto::Irc => n * (n + 1) / 2, // IRC echoes a client's own JOIN
        };
        let start = Instant::now();
        self.last_read = start;
        self.pump_until(|b| b.tally.joins_seen >= expected || b.last_read.elapsed() >= Duration::from_secs(1))?;
        Ok(start.elapsed().as_secs_f64())
    }

    /// The distinct local addresses the clients connected from.
    fn source_addrs(&self) -> usize {
        let mut ips: Vec<IpAddr> =
            self.clients.iter().filter_map(|c| c.sock.local_addr().ok()).map(|a| a.ip()).collect();
        ips.sort_unstable();
        ips.dedup();
        ips.len()
    }

    /// The scale workload: once every join is announced, `senders` clients
    /// send `rate` broadcasts/s for `seconds`. The server's CPU time is
    /// read at the start and at the end of that steady phase (when the last
    /// delivery arrived, or 30 s after the last send); every receiver must
    /// have got every message of every other sender once, in order.
    fn scale(&mut self) -> io::Result<String> {
        let n = self.clients.len();
        let senders = self.opts.senders.min(n);
        let joins_secs = self.settle_joins()?;
        self.pump_for(Duration::from_millis(200))?;
        let joins_errors = self.tally.errors;
        self.tally = Tally::default();
        let pid = self.opts.pid;
        let cpu_before = pid.and_then(cpu_us);
        let start = Instant::now();
        let sent = self.send_steadily(senders)?;
        let expected = sent * (n as u64 - 1);
        let _ = self.pump_until_or(|b| b.tally.deliveries >= expected, Duration::from_secs(30));
        let cpu_after = pid.and_then(cpu_us);
        let steady_secs = start.elapsed().as_secs_f64();
        let mut l = std::mem::take(&mut self.tally.latencies_us);
        l.sort_unstable();

        // Per receiver: as many messages as the other senders sent, the last
        // one of each sender its last sequence number.
        let sent_by: Vec<u64> = self.clients[..senders].iter().map(|c| c.sent as u64).collect();
        let mut complete = 0;
        for (r, c) in self.clients.iter().enumerate() {
            let want: u64 = sent_by.iter().enumerate().filter(|&(s, _)| s != r).map(|(_, k)| k).sum();
            let last_ok = c.last_seq.iter().enumerate().all(|(s, &last)| s == r || last == sent_by[s] as i64 - 1);
            if c.received == want && last_ok {
                complete += 1;
            }
        }
        let t = &self.tally;
        let lost = expected.saturating_sub(t.deliveries - t.duplicates);
        let ok = complete == n && lost == 0 && t.duplicates == 0 && t.reordered == 0 && t.deliveries == expected;
        let (cpu_ms, per_delivery) = match (cpu_before, cpu_after) {
            (Some(a), Some(b)) if t.deliveries > 0 => {
                (format!("{:.0}", (b - a) as f64 / 1000.0), format!("{:.3}", (b - a) as f64 / t.deliveries as f64))
            }
            _ => ("-".into(), "-".into()),
        };
        Ok(format!(
            "scale clients={n} source_addrs={} senders={senders} rate={} secs={} joins_announced_secs={joins_secs:.2} \
             sent={sent} expected={expected} deliveries={} steady_secs={steady_secs:.2} server_cpu_ms={cpu_ms} \
             cpu_us_per_delivery={per_delivery} p50_ms={:.2} p99_ms={:.2} max_ms={:.2} receivers_complete={complete}/{n} \
             lost={lost} dup={} reordered={} errors={} check={}",
            self.source_addrs(),
            self.opts.rate,
            self.opts.seconds,
            t.deliveries,
            percentile(&l, 0.50),
            percentile(&l, 0.99),
            percentile(&l, 1.0),
            t.duplicates,
            t.reordered,
            t.errors + joins_errors,
            if ok { "ok" } else { "FAILED" }
        ))
    }

    fn pump_until_or(&mut self, done: impl Fn(&Bench) -> bool, limit: Duration) -> io::Result<()> {
        let until = Instant::now() + limit;
        self.pump_until(|b| done(b) || Instant::now() >= until)
    }
}

/// A client frame (masked with a zero key, so the payload is as is).
fn ws_frame(opcode: u8, payload: &[u8], out: &mut Vec<u8>) {
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(payload);
}

/// Each CRLF-terminated line of `lines` as one text frame, appended to `out`.
fn ws_frame_lines(lines: &[u8], out: &mut Vec<u8>) {
    for line in lines.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        ws_frame(1, line.strip_suffix(b"\r").unwrap_or(line), out);
    }
}

/// The server frame at the start of `raw`, if complete: (opcode, payload
/// start, frame end).
fn ws_frame_at(raw: &[u8]) -> Option<(u8, usize, usize)> {
    let (b0, b1) = (*raw.first()?, *raw.get(1)?);
    let (len, start) = match b1 & 0x7f {
        126 => (u16::from_be_bytes([*raw.get(2)?, *raw.get(3)?]) as usize, 4),
        127 => (u64::from_be_bytes(raw.get(2..10)?.try_into().ok()?) as usize, 10),
        n => (n as usize, 2),
    };
    (raw.len() >= start + len).then_some((b0 & 0x0f, start, start + len))
}
