//! Configuration (protocol section 9): defaults, the TOML file, then flags.
//!
//! `main.rs` calls [`from_args`]; the result is either something to print
//! (`-h`, `-V`) or a [`Config`] for `server.rs`. Every limit the server
//! enforces is a field here, named as in the TOML file, with its default.

use serde::Deserialize;
use std::ffi::OsStr;
use std::path::PathBuf;

/// Everything the server needs to know to run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Addresses to listen on (`host:port`, IPv6 in brackets).
    pub listen: Vec<String>,
    /// Addresses serving the line protocol over TLS (none by default).
    pub tls_listen: Vec<String>,
    /// Addresses serving IRC over TLS (none by default; 6697 is usual).
    pub irc_tls_listen: Vec<String>,
    /// PEM files every TLS listener presents: the certificate chain (leaf
    /// first) and its private key. Read again on SIGHUP.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The SQLite file.
    pub db: PathBuf,
    /// The admin Unix socket, if any.
    pub admin_socket: Option<PathBuf>,
    /// Bytes per client line, terminator not counted.
    pub max_line: usize,
    /// Most simultaneous connections (joined or not).
    pub max_clients: usize,
    /// Seconds a connection may stay without JOIN.
    pub join_timeout: u64,
    /// Lines per second per connection; 0 turns flood control off.
    pub flood_rate: u32,
    /// Lines a connection may send at once before flood control applies.
    pub flood_burst: u32,
    /// Bytes of unsent output before a client is dropped.
    pub max_sendq: usize,
    /// HISTORY without a count.
    pub history_default: usize,
    /// Largest HISTORY count.
    pub history_max: usize,
    /// Messages of HISTORY replayed after JOIN (0: none).
    pub history_on_join: usize,
    /// Live messages kept in memory while the log cannot be written, to be
    /// written once it can (0: none are kept).
    pub max_unlogged: usize,
    /// Bytes of such messages kept (0: none are kept).
    pub max_unlogged_bytes: usize,
    /// Bytes the SQLite write-ahead log (`<db>-wal`) may reach; the store
    /// checkpoints and empties it well before (see docs/storage.md).
    pub wal_limit: u64,
    /// Addresses of IRC listeners (docs/irc.md); empty: none.
    pub irc_listen: Vec<String>,
    /// The server's name in IRC lines.
    pub irc_server_name: String,
    /// The IRC channel that is chatd's one room.
    pub irc_channel: String,
    /// Addresses serving the browser client (the page and its WebSocket,
    /// docs/web.md); empty: none.
    pub http_listen: Vec<String>,
    /// Addresses serving the browser client over TLS (`https://`, `wss://`);
    /// none by default.
    pub https_listen: Vec<String>,
    /// Origins besides the page's own allowed to open the WebSocket
    /// (exact, e.g. `https://chat.example.org` behind a TLS proxy).
    pub http_origins: Vec<String>,
    /// Seconds a WebSocket may be quiet before chatd pings it; after two
    /// such intervals without a byte it is closed ("ping timeout"). 0: off.
    pub ws_ping_interval: u64,
}

/// The default IRC listeners: loopback only, IRC's port. If the port is
/// taken (another IRC server), chatd warns and runs without them.
pub const DEFAULT_IRC_LISTEN: [&str; 2] = ["127.0.0.1:6667", "[::1]:6667"];

/// The default listeners: loopback only, both address families.
pub const DEFAULT_LISTEN: [&str; 2] = ["127.0.0.1:5000", "[::1]:5000"];

/// The default browser-client listeners: loopback only, next to the line
/// protocol's port. If one cannot be bound (the port is taken), chatd warns
/// and runs without it; a configured address that cannot be bound is an error.
pub const DEFAULT_HTTP_LISTEN: [&str; 2] = ["127.0.0.1:5080", "[::1]:5080"];

/// 64 MiB of WAL: a few seconds of the heaviest write load, so checkpoints
/// are not constant, and small next to any disk chatd runs on.
pub const DEFAULT_WAL_LIMIT: u64 = 64 << 20;

/// The smallest `wal_limit`: one loop pass's transaction must fit in a
/// quarter of it (where checkpointing starts) with room to spare.
pub const MIN_WAL_LIMIT: u64 = 1 << 20;

impl Default for Config {
    fn default() -> Config {
        Config {
            listen: DEFAULT_LISTEN.iter().map(|s| s.to_string()).collect(),
            tls_listen: Vec::new(),
            irc_tls_listen: Vec::new(),
            tls_cert: None,
            tls_key: None,
            db: PathBuf::from("chatd.db"),
            admin_socket: None,
            max_line: 1024,
            max_clients: 10_000,
            join_timeout: 60,
            flood_rate: 20,
            flood_burst: 40,
            max_sendq: 1 << 20,
            history_default: 20,
            history_max: 500,
            history_on_join: 0,
            max_unlogged: 10_000,
            max_unlogged_bytes: 16 << 20,
            wal_limit: DEFAULT_WAL_LIMIT,
            irc_listen: DEFAULT_IRC_LISTEN.iter().map(|s| s.to_string()).collect(),
            irc_server_name: crate::irc::DEFAULT_SERVER_NAME.to_string(),
            irc_channel: crate::irc::DEFAULT_CHANNEL.to_string(),
            http_listen: DEFAULT_HTTP_LISTEN.iter().map(|s| s.to_string()).collect(),
            https_listen: Vec::new(),
            http_origins: Vec::new(),
            ws_ping_interval: 30,
        }
    }
}

/// What the command line asks for.
#[derive(Debug)]
pub enum Action {
    Run(Box<Config>),
    Help(String),
    Version(String),
}

const USAGE: &str = "Usage: chatd [-c FILE] [-l ADDR]... [--http ADDR]... [--irc-listen ADDR]... \
                     [--tls-listen ADDR]... [--irc-tls-listen ADDR]... [--https ADDR]... \
                     [--tls-cert FILE --tls-key FILE] [-d PATH] [--admin-socket PATH] [-h] [-V]";

fn options() -> getopts::Options {
    let mut o = getopts::Options::new();
    o.optopt("c", "config", "read settings from this TOML file", "FILE");
    o.optmulti(
        "l",
        "listen",
        "listen on ADDR (repeatable; replaces the defaults 127.0.0.1:5000 and [::1]:5000)",
        "ADDR",
    );
    o.optmulti(
        "",
        "http",
        "serve the browser client on ADDR (repeatable; replaces the defaults 127.0.0.1:5080 and [::1]:5080; 'off': none)",
        "ADDR",
    );
    o.optmulti(
        "",
        "irc-listen",
        "accept IRC clients on ADDR (repeatable; replaces the defaults 127.0.0.1:6667 and [::1]:6667)",
        "ADDR",
    );
    o.optmulti("", "tls-listen", "serve the line protocol over TLS on ADDR (repeatable)", "ADDR");
    o.optmulti("", "irc-tls-listen", "accept IRC clients over TLS on ADDR (repeatable)", "ADDR");
    o.optmulti("", "https", "serve the browser client over TLS on ADDR (repeatable)", "ADDR");
    o.optopt("", "tls-cert", "PEM certificate chain for TLS listeners", "FILE");
    o.optopt("", "tls-key", "PEM private key for TLS listeners", "FILE");
    o.optopt("d", "db", "SQLite database file (default chatd.db)", "PATH");
    o.optopt("", "admin-socket", "serve the admin console on this Unix socket", "PATH");
    o.optflag("h", "help", "print this help and exit");
    o.optflag("V", "version", "print the version and exit");
    o
}

/// Reads the command line (without the program name). An error is the one
/// line `main` prints before exiting with status 2.
pub fn from_args<S: AsRef<OsStr>>(args: &[S]) -> Result<Action, String> {
    // Refused here by name: getopts would call a bad value an unknown option.
    if let Some(bad) = args.iter().map(AsRef::as_ref).find(|a| a.to_str().is_none()) {
        return Err(format!("argument {bad:?} is not valid UTF-8 (try chatd -h)"));
    }
    let opts = options();
    let m = opts.parse(args).map_err(|e| format!("{e} (try chatd -h)"))?;
    if m.opt_present("h") {
        let brief = format!("{USAGE}\n\nA line-based chat server; talk to it with nc or telnet.");
        return Ok(Action::Help(opts.usage(&brief)));
    }
    if m.opt_present("V") {
        return Ok(Action::Version(format!("chatd {}", env!("CARGO_PKG_VERSION"))));
    }
    if let Some(extra) = m.free.first() {
        return Err(format!("unexpected argument '{extra}' (try chatd -h)"));
    }
    let mut config = match m.opt_str("c") {
        Some(path) => from_file(&path)?,
        None => Config::default(),
    };
    let listen = m.opt_strs("l");
    if !listen.is_empty() {
        config.listen = listen;
    }
    let irc_listen = m.opt_strs("irc-listen");
    if !irc_listen.is_empty() {
        config.irc_listen = irc_listen;
    }
    let tls_listen = m.opt_strs("tls-listen");
    if !tls_listen.is_empty() {
        config.tls_listen = tls_listen;
    }
    let irc_tls_listen = m.opt_strs("irc-tls-listen");
    if !irc_tls_listen.is_empty() {
        config.irc_tls_listen = irc_tls_listen;
    }
    if let Some(cert) = m.opt_str("tls-cert") {
        config.tls_cert = Some(PathBuf::from(cert));
    }
    if let Some(key) = m.opt_str("tls-key") {
        config.tls_key = Some(PathBuf::from(key));
    }
    let https = m.opt_strs("https");
    if !https.is_empty() {
        config.https_listen = https;
    }
    let http = m.opt_strs("http");
    if !http.is_empty() {
        config.http_listen = http.into_iter().filter(|a| a != "off").collect();
    }
    if let Some(db) = m.opt_str("d") {
        config.db = PathBuf::from(db);
    }
    if let Some(sock) = m.opt_str("admin-socket") {
        config.admin_socket = Some(PathBuf::from(sock));
    }
    config.validate()?;
    Ok(Action::Run(Box::new(config)))
}

/// Reads a TOML configuration file.
pub fn from_file(path: &str) -> Result<Config, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read config file {path}: {e}"))?;
    from_toml(&text).map_err(|e| format!("invalid config file {path}: {e}"))
}

/// Parses TOML text; unknown keys are errors (a typo should not pass silently).
/// The error is one line (section 9 promises one line on stderr), with
/// where in the file: `line 1, column 11: invalid array: expected `]``.
pub fn from_toml(text: &str) -> Result<Config, String> {
    toml::from_str(text).map_err(|e| {
        // toml's message may run over several lines ("invalid array" then
        // "expected `]`"); its Display adds a drawing of the line as well.
        let message = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(": ");
        match e.span() {
            Some(span) => {
                let (line, column) = line_and_column(text, span.start);
                format!("line {line}, column {column}: {message}")
            }
            None => message,
        }
    })
}

/// The 1-based line and column (in characters) of a byte offset in `text`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

/// A start-up error as the one stderr line `main` prints: control
/// characters (a newline in a path given on the command line, say) are
/// written as escapes, so nothing can split it.
pub fn one_line(message: &str) -> String {
    message.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

impl Config {
    /// Some listener serves TLS.
    pub fn wants_tls(&self) -> bool {
        !self.tls_listen.is_empty() || !self.irc_tls_listen.is_empty() || !self.https_listen.is_empty()
    }

    /// Rejects values the server cannot work with.
    pub fn validate(&self) -> Result<(), String> {
        if self.listen.is_empty() {
            return Err("listen: at least one address is needed".into());
        }
        let all = [
            &self.listen,
            &self.irc_listen,
            &self.http_listen,
            &self.tls_listen,
            &self.irc_tls_listen,
            &self.https_listen,
        ];
        for addr in all.into_iter().flatten() {
            parse_addr(addr)?;
        }
        if self.wants_tls() && (self.tls_cert.is_none() || self.tls_key.is_none()) {
            return Err(
                "a TLS listener needs tls_cert and tls_key (PEM files; scripts/dev-cert.sh makes a test pair)".into()
            );
        }
        if !crate::irc::valid_server_name(&self.irc_server_name) {
            return Err("irc_server_name must be 1 to 63 printable characters without spaces, ':', '!' or '@'".into());
        }
        if !crate::irc::valid_channel(&self.irc_channel) {
            return Err(
                "irc_channel must start with # or & and have 1 to 49 more characters, no spaces or commas".into()
            );
        }
        let positive = [
            ("max_line", self.max_line),
            ("max_clients", self.max_clients),
            ("max_sendq", self.max_sendq),
            ("history_max", self.history_max),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(format!("{key} must be at least 1"));
            }
        }
        if self.join_timeout == 0 {
            return Err("join_timeout must be at least 1".into());
        }
        if self.flood_rate > 0 && self.flood_burst == 0 {
            return Err("flood_burst must be at least 1 when flood_rate is on".into());
        }
        if self.history_default > self.history_max {
            return Err("history_default must not exceed history_max".into());
        }
        if self.history_on_join > self.history_max {
            return Err("history_on_join must not exceed history_max".into());
        }
        if self.wal_limit < MIN_WAL_LIMIT {
            return Err(format!("wal_limit must be at least {MIN_WAL_LIMIT} (1 MiB)"));
        }
        Ok(())
    }
}

/// Parses a listen address: `host:port`, `[v6]:port`, or `localhost:port`.
pub fn parse_addr(addr: &str) -> Result<Vec<std::net::SocketAddr>, String> {
    use std::net::ToSocketAddrs;
    if let Ok(a) = addr.parse() {
        return Ok(vec![a]);
    }
    // Host names (localhost) resolve through the system; no DNS beyond that.
    match addr.to_socket_addrs() {
        Ok(list) => {
            let list: Vec<_> = list.collect();
            if list.is_empty() {
                Err(format!("listen address {addr} resolves to nothing"))
            } else {
                Ok(list)
            }
        }
        Err(_) => {
            Err(format!("invalid listen address '{addr}' (expected host:port, e.g. 127.0.0.1:5000 or [::1]:5000)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn run(list: &[&str]) -> Config {
        match from_args(&args(list)) {
            Ok(Action::Run(c)) => *c,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn defaults_match_the_protocol() {
        let c = run(&[]);
        assert_eq!(c.listen, vec!["127.0.0.1:5000", "[::1]:5000"]);
        assert_eq!(c.db, PathBuf::from("chatd.db"));
        assert_eq!((c.max_line, c.max_clients, c.join_timeout), (1024, 10_000, 60));
        assert_eq!((c.flood_rate, c.flood_burst, c.max_sendq), (20, 40, 1_048_576));
        assert_eq!((c.history_default, c.history_max, c.history_on_join), (20, 500, 0));
        assert_eq!((c.max_unlogged, c.max_unlogged_bytes), (10_000, 16_777_216));
        assert_eq!(c.wal_limit, 64 * 1024 * 1024);
    }

    #[test]
    fn the_documented_toml_parses_to_the_defaults() {
        let text = r#"
listen = ["127.0.0.1:5000", "[::1]:5000"]
db = "chatd.db"
# admin_socket = "/run/chatd/admin.sock"
max_line = 1024
max_clients = 10000
join_timeout = 60
flood_rate = 20
flood_burst = 40
max_sendq = 1048576
history_default = 20
history_max = 500
history_on_join = 0
max_unlogged = 10000
max_unlogged_bytes = 16777216
wal_limit = 67108864
http_listen = ["127.0.0.1:5080", "[::1]:5080"]
http_origins = []
ws_ping_interval = 30
"#;
        assert_eq!(from_toml(text).unwrap(), Config::default());
        // And the shipped file says the same.
        let shipped = include_str!("../conf/chatd.toml");
        assert_eq!(from_toml(shipped).unwrap(), Config::default());
    }

    #[test]
    fn the_shipped_config_file_is_the_defaults() {
        assert_eq!(from_toml(include_str!("../conf/chatd.toml")).unwrap(), Config::default());
    }

    #[test]
    fn listen_flags_replace_the_defaults_and_repeat() {
        let c = run(&["-l", "127.0.0.1:7000", "--listen", "[::1]:7001", "-d", "x.db"]);
        assert_eq!(c.listen, vec!["127.0.0.1:7000", "[::1]:7001"]);
        assert_eq!(c.db, PathBuf::from("x.db"));
    }

    #[test]
    fn http_flags_replace_the_defaults_and_off_turns_them_off() {
        assert_eq!(run(&[]).http_listen, vec!["127.0.0.1:5080", "[::1]:5080"]);
        let c = run(&["--http", "127.0.0.1:8080", "--http", "[::1]:8081"]);
        assert_eq!(c.http_listen, vec!["127.0.0.1:8080", "[::1]:8081"]);
        assert!(run(&["--http", "off"]).http_listen.is_empty());
        assert!(from_args(&args(&["--http", "nonsense"])).unwrap_err().contains("nonsense"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        assert!(from_toml("max_lines = 5").unwrap_err().contains("max_lines"));
        assert!(from_toml("max_line = \"big\"").is_err());
        assert!(from_toml("max_line = -1").is_err());
    }

    #[test]
    fn bad_flags_are_one_line_errors() {
        let e = from_args(&args(&["--bogus"])).unwrap_err();
        assert!(e.contains("bogus") && !e.contains('\n'), "{e}");
        let e = from_args(&args(&["-l", "nonsense"])).unwrap_err();
        assert!(e.contains("nonsense"), "{e}");
        assert!(from_args(&args(&["stray"])).is_err());
    }

    #[test]
    fn toml_errors_are_one_line_with_line_and_column() {
        assert_eq!(from_toml("listen = [").unwrap_err(), "line 1, column 11: invalid array: expected `]`");
        assert_eq!(
            from_toml("max_line = 1\n\n  max_line = 2\n").unwrap_err(),
            "line 3, column 3: duplicate key `max_line` in document root"
        );
        assert_eq!(from_toml("db = \"é\"\nmax_lines = 5").unwrap_err().lines().count(), 1);
        assert!(from_toml("# é\nmax_line = \"big\"").unwrap_err().starts_with("line 2, column 12: invalid type"));
    }

    #[test]
    fn a_start_error_is_always_one_line() {
        assert_eq!(one_line("cannot read config file a\nb\r: gone"), "cannot read config file a\\nb\\r: gone");
        assert_eq!(one_line("plain – ü"), "plain – ü");
    }

    #[test]
    fn an_argument_that_is_not_utf8_is_refused_by_name() {
        use std::os::unix::ffi::OsStrExt;
        let bad = OsStr::from_bytes(b"x\xff.db");
        let e = from_args(&[OsStr::new("-d"), bad]).unwrap_err();
        assert!(e.contains("x\\xFF.db") && e.contains("UTF-8"), "{e}");
    }

    #[test]
    fn zero_limits_are_refused() {
        let c = Config { max_line: 0, ..Config::default() };
        assert!(c.validate().unwrap_err().contains("max_line"));
        let c = Config { wal_limit: 4096, ..Config::default() };
        assert!(c.validate().unwrap_err().contains("wal_limit"));
    }

    #[test]
    fn help_and_version() {
        assert!(matches!(from_args(&args(&["-h"])), Ok(Action::Help(h)) if h.contains("--listen")));
        assert!(matches!(from_args(&args(&["-V"])), Ok(Action::Version(v)) if v.starts_with("chatd ")));
    }
}
