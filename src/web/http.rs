//! HTTP/1.1 request heads and their answers, for an `http_listen`
//! connection: pure functions (no socket), unit-tested and fuzzed.
//!
//! One request per connection: [`parse_head`] says whether the bytes so far
//! make a complete head; [`route`] decides the answer: a page file, the
//! upgrade to a WebSocket, or a plain error. Every answer but the upgrade
//! ends the connection (`Connection: close`).

use super::FILES;

/// Largest request head: anything longer is refused with 431.
pub const MAX_HEAD: usize = 8 * 1024;
/// Most header fields in a head.
pub const MAX_HEADERS: usize = 32;
/// The WebSocket subprotocol the page offers; echoed when offered.
pub const SUBPROTOCOL: &str = "text.chatd";

/// What the page may load and run: only its own files, no inline script,
/// no HTML from strings (Trusted Types with no policy at all).
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; \
require-trusted-types-for 'script'; trusted-types 'none'";

/// A complete request head, the parts chatd looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub method: String,
    /// The request target without its query string.
    pub path: String,
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    pub version: u8,
    /// Header names lowercased, values as sent (lossy UTF-8).
    pub headers: Vec<(String, String)>,
    /// Bytes of the head, blank line included: what follows is not its.
    pub len: usize,
}

impl Head {
    /// The first value of a header, by lowercase name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.trim())
    }

    /// Whether a comma-separated header lists `token` (case-insensitive).
    fn lists(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, v)| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}

/// What the bytes received so far make.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not a complete head yet (and not too long): read more.
    Partial,
    Head(Head),
    /// Not a head chatd will answer: this status, then close.
    Bad(u16),
}

/// Parses a request head from the start of `buf`.
pub fn parse_head(buf: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD => {
            let target = req.path.unwrap_or("/");
            let path = target.split(['?', '#']).next().unwrap_or("/").to_string();
            Parsed::Head(Head {
                method: req.method.unwrap_or("").to_string(),
                path,
                version: req.version.unwrap_or(1),
                headers: req
                    .headers
                    .iter()
                    .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).into_owned()))
                    .collect(),
                len,
            })
        }
        Ok(httparse::Status::Complete(_)) => Parsed::Bad(431),
        Ok(httparse::Status::Partial) if buf.len() >= MAX_HEAD => Parsed::Bad(431),
        Ok(httparse::Status::Partial) => Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => Parsed::Bad(431),
        Err(_) => Parsed::Bad(400),
    }
}

/// What a listener accepts beyond its own page.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// The listener is on a loopback address: only loopback Host names are
    /// answered (a DNS-rebinding page would otherwise be "same origin").
    pub loopback: bool,
    /// The listener speaks TLS (`https_listen`): the page's own origin is
    /// `https://` + Host.
    pub tls: bool,
    /// Origins allowed to open the WebSocket besides the page's own
    /// (`http_origins`, exact, e.g. `https://chat.example.org`).
    pub origins: Vec<String>,
}

/// The answer to a head.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// Bytes to write, then close.
    Answer(Vec<u8>),
    /// Switch to the WebSocket: write this 101 response, then frames.
    Upgrade(Vec<u8>),
}

/// Decides the answer to a request head.
pub fn route(head: &Head, policy: &Policy) -> Route {
    let Some(host) = head.header("host").filter(|h| !h.is_empty()) else {
        return Route::Answer(plain(400, "a Host header is required"));
    };
    if policy.loopback && !is_loopback_host(host) {
        return Route::Answer(plain(403, "this server answers only to localhost, 127.0.0.1 and [::1]"));
    }
    let head_only = head.method == "HEAD";
    if head.method != "GET" && !head_only {
        return Route::Answer(status_page(405, "GET and HEAD only", &[("Allow", "GET, HEAD")]));
    }
    if head.path == "/ws" {
        if head_only {
            return Route::Answer(plain(405, "the WebSocket is opened with GET"));
        }
        return upgrade(head, host, policy);
    }
    if head.path == "/favicon.ico" {
        // So a browser's automatic request is not a console error.
        return Route::Answer(response(204, "No Content", &[], b"", false));
    }
    match FILES.iter().find(|(path, _, _)| *path == head.path) {
        Some((_, ctype, body)) => {
            let headers = [
                ("Content-Type", *ctype),
                ("Content-Security-Policy", CSP),
                ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "no-referrer"),
                ("Cache-Control", "no-cache"),
            ];
            Route::Answer(response(200, "OK", &headers, body, head_only))
        }
        None => Route::Answer(plain(404, "not found")),
    }
}

/// The checks of a WebSocket opening handshake (RFC 6455 section 4.2.1),
/// Origin's among them, and its 101 response.
fn upgrade(head: &Head, host: &str, policy: &Policy) -> Route {
    if head.version != 1 || !head.lists("upgrade", "websocket") || !head.lists("connection", "upgrade") {
        return Route::Answer(plain(400, "a WebSocket upgrade request was expected here"));
    }
    if head.header("sec-websocket-version") != Some("13") {
        return Route::Answer(status_page(426, "WebSocket version 13 only", &[("Sec-WebSocket-Version", "13")]));
    }
    let key = head.header("sec-websocket-key").unwrap_or("");
    if key.len() != 24 {
        return Route::Answer(plain(400, "Sec-WebSocket-Key is missing or malformed"));
    }
    // A page on another site must not reach the chat with the user's
    // browser; tools and tests send no Origin and are let in.
    if let Some(origin) = head.header("origin") {
        if !origin_ok(origin, host, policy) {
            return Route::Answer(plain(403, "WebSocket from another origin refused"));
        }
    }
    let accept = tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut out = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
    );
    if head.lists("sec-websocket-protocol", SUBPROTOCOL) {
        out.push_str(&format!("Sec-WebSocket-Protocol: {SUBPROTOCOL}\r\n"));
    }
    out.push_str("\r\n");
    Route::Upgrade(out.into_bytes())
}

/// Whether `origin` may open the WebSocket: the page's own (`http://`, or
/// `https://` on a TLS listener, and the same Host), or one listed in
/// `http_origins`.
pub fn origin_ok(origin: &str, host: &str, policy: &Policy) -> bool {
    let scheme = if policy.tls { "https" } else { "http" };
    origin.eq_ignore_ascii_case(&format!("{scheme}://{host}")) || policy.origins.iter().any(|o| o == origin)
}

/// Whether a Host header names this machine's loopback: `localhost`,
/// `127.0.0.1` or `[::1]`, any port.
pub fn is_loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inner, port)) if port.is_empty() || port.starts_with(':') => return inner == "::1",
            _ => return false,
        }
    } else {
        host.rsplit_once(':').map_or(host, |(n, _)| n)
    };
    name.eq_ignore_ascii_case("localhost") || name == "127.0.0.1"
}

/// A plain-text error answer.
pub fn plain(status: u16, text: &str) -> Vec<u8> {
    status_page(status, text, &[])
}

fn status_page(status: u16, text: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut headers = vec![("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")];
    headers.extend_from_slice(extra);
    response(status, reason(status), &headers, format!("{status} {}: {text}\n", reason(status)).as_bytes(), false)
}

fn reason(status: u16) -> &'static str {
    match status {
        204 => "No Content",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// A whole response; the body left out for HEAD.
fn response(status: u16, reason: &str, headers: &[(&str, &str)], body: &[u8], head_only: bool) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str(&format!("Content-Length: {}\r\nConnection: close\r\n\r\n", body.len()));
    let mut out = out.into_bytes();
    if !head_only {
        out.extend_from_slice(body);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(text: &str) -> Head {
        match parse_head(text.as_bytes()) {
            Parsed::Head(h) => h,
            other => panic!("{other:?}"),
        }
    }

    fn status(route: &Route) -> String {
        let bytes = match route {
            Route::Answer(b) | Route::Upgrade(b) => b,
        };
        String::from_utf8_lossy(bytes).lines().next().unwrap_or("").to_string()
    }

    const WS: &str =
        "GET /ws HTTP/1.1\r\nHost: localhost:5080\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n\
Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    fn loopback() -> Policy {
        Policy { loopback: true, tls: false, origins: vec!["https://chat.example.org".into()] }
    }

    #[test]
    fn a_head_is_partial_until_its_blank_line_at_every_cut() {
        let text = b"GET /app.js?v=1 HTTP/1.1\r\nHost: localhost\r\n\r\nleftover";
        let end = text.len() - "leftover".len();
        for cut in 0..end {
            assert_eq!(parse_head(&text[..cut]), Parsed::Partial, "cut at {cut}");
        }
        let h = match parse_head(text) {
            Parsed::Head(h) => h,
            other => panic!("{other:?}"),
        };
        assert_eq!((h.method.as_str(), h.path.as_str(), h.len), ("GET", "/app.js", end));
        assert_eq!(h.header("host"), Some("localhost"));
    }

    #[test]
    fn heads_too_long_or_with_too_many_fields_get_431_and_garbage_400() {
        let mut long = b"GET / HTTP/1.1\r\nX: ".to_vec();
        long.resize(MAX_HEAD, b'a');
        assert_eq!(parse_head(&long), Parsed::Bad(431));
        let many: String = (0..=MAX_HEADERS).map(|i| format!("X-{i}: y\r\n")).collect();
        assert_eq!(parse_head(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()), Parsed::Bad(431));
        assert_eq!(parse_head(b"\x16\x03\x01 hello tls\r\n\r\n"), Parsed::Bad(400));
    }

    #[test]
    fn the_page_files_come_with_the_security_headers_and_the_rest_is_404() {
        let p = loopback();
        let r = route(&head("GET / HTTP/1.1\r\nHost: 127.0.0.1:5080\r\n\r\n"), &p);
        let Route::Answer(bytes) = &r else { panic!() };
        let text = String::from_utf8_lossy(bytes);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        assert!(text.contains("Content-Security-Policy: default-src 'none'; script-src 'self'"));
        assert!(text.contains("require-trusted-types-for 'script'"));
        assert!(text.contains("X-Content-Type-Options: nosniff") && text.contains("<!doctype html>"));
        for path in ["/app.js", "/style.css"] {
            assert_eq!(
                status(&route(&head(&format!("GET {path} HTTP/1.1\r\nHost: [::1]\r\n\r\n")), &p)),
                "HTTP/1.1 200 OK"
            );
        }
        for path in ["/../etc/passwd", "/index.html", "/src/web/page/app.js", "//", "/ws/"] {
            let r = route(&head(&format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")), &p);
            assert_eq!(status(&r), "HTTP/1.1 404 Not Found", "{path}");
        }
        let r = route(&head("HEAD / HTTP/1.1\r\nHost: localhost\r\n\r\n"), &p);
        let Route::Answer(bytes) = &r else { panic!() };
        assert!(bytes.ends_with(b"\r\n\r\n"), "HEAD has no body");
        let r = route(&head("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n"), &p);
        assert_eq!(status(&r), "HTTP/1.1 405 Method Not Allowed");
        assert_eq!(status(&route(&head("GET / HTTP/1.1\r\n\r\n"), &p)), "HTTP/1.1 400 Bad Request");
    }

    #[test]
    fn the_upgrade_answers_with_the_accept_key_and_echoes_the_subprotocol() {
        let p = loopback();
        let r = route(&head(&format!("{WS}Sec-WebSocket-Protocol: text.chatd\r\n\r\n")), &p);
        let Route::Upgrade(bytes) = r else { panic!("{r:?}") };
        let text = String::from_utf8(bytes).unwrap();
        // RFC 6455's own example key and answer.
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), "{text}");
        assert!(text.contains("Sec-WebSocket-Protocol: text.chatd\r\n"));
        let Route::Upgrade(bytes) = route(&head(&format!("{WS}\r\n")), &p) else { panic!() };
        assert!(
            !String::from_utf8(bytes).unwrap().contains("Sec-WebSocket-Protocol"),
            "nothing offered, nothing echoed"
        );
    }

    #[test]
    fn a_bad_upgrade_is_refused_before_it_happens() {
        let p = loopback();
        let bad_key = WS.replace("dGhlIHNhbXBsZSBub25jZQ==", "short");
        assert_eq!(status(&route(&head(&format!("{bad_key}\r\n")), &p)), "HTTP/1.1 400 Bad Request");
        let v8 = WS.replace("Version: 13", "Version: 8");
        assert_eq!(status(&route(&head(&format!("{v8}\r\n")), &p)), "HTTP/1.1 426 Upgrade Required");
        let plain_get = "GET /ws HTTP/1.1\r\nHost: localhost\r\n\r\n";
        assert_eq!(status(&route(&head(plain_get), &p)), "HTTP/1.1 400 Bad Request");
    }

    #[test]
    fn origin_must_be_the_page_s_own_or_listed() {
        let p = loopback();
        let with = |origin: &str| status(&route(&head(&format!("{WS}Origin: {origin}\r\n\r\n")), &p));
        assert_eq!(with("http://localhost:5080"), "HTTP/1.1 101 Switching Protocols");
        assert_eq!(with("https://chat.example.org"), "HTTP/1.1 101 Switching Protocols");
        for evil in ["http://evil.example", "http://localhost:5081", "https://localhost:5080", "null", ""] {
            assert_eq!(with(evil), "HTTP/1.1 403 Forbidden", "{evil}");
        }
    }

    #[test]
    fn over_tls_the_page_s_own_origin_is_https() {
        let tls = Policy { loopback: true, tls: true, origins: vec![] };
        assert!(origin_ok("https://localhost:5443", "localhost:5443", &tls));
        assert!(!origin_ok("http://localhost:5443", "localhost:5443", &tls), "a plain page may not use the TLS socket");
        assert!(!origin_ok("https://localhost:5443", "localhost:5443", &loopback()), "nor the other way round");
    }

    #[test]
    fn on_loopback_only_loopback_hosts_are_answered() {
        for ok in ["localhost", "localhost:5080", "LOCALHOST:1", "127.0.0.1:5080", "[::1]:5080", "[::1]"] {
            assert!(is_loopback_host(ok), "{ok}");
        }
        for bad in ["evil.example", "evil.example:5080", "127.0.0.2", "localhost.evil.example", "[::2]:5080", "[::1]x"]
        {
            assert!(!is_loopback_host(bad), "{bad}");
        }
        let rebinding = "GET / HTTP/1.1\r\nHost: attacker.example:5080\r\n\r\n";
        assert_eq!(status(&route(&head(rebinding), &loopback())), "HTTP/1.1 403 Forbidden");
        let lan = Policy { loopback: false, tls: false, origins: vec![] };
        assert_eq!(status(&route(&head(rebinding), &lan)), "HTTP/1.1 200 OK");
        // The WebSocket on a rebinding Host is refused too, Origin or not.
        let ws = WS.replace("localhost:5080", "attacker.example:5080");
        assert_eq!(status(&route(&head(&format!("{ws}\r\n")), &loopback())), "HTTP/1.1 403 Forbidden");
    }
}
