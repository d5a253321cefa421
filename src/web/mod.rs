//! The browser client: chatd serves its own chat page over HTTP and speaks
//! its line protocol over a WebSocket (docs/web.md).
//!
//! An `http_listen` listener's connection starts here, before it is a
//! client: [`http`] parses its request head (bounded in size, and in time
//! by the loop) and answers it: one of the page's embedded files, a plain
//! error, or the upgrade of `GET /ws` to a WebSocket. An upgraded
//! connection becomes an ordinary `Conn` whose transport is a
//! [`ws::WsStream`]: one text message carries one chatd line without its
//! CRLF, both ways, and everything else (flood control, sendq, max_line,
//! offline delivery) is the line protocol's, unchanged.

pub mod http;
pub mod ws;

/// The page's files, embedded in the binary: (path, content type, bytes).
/// A fixed table: nothing is read from disk, no path can escape it.
pub const FILES: [(&str, &str, &[u8]); 3] = [
    ("/", "text/html; charset=utf-8", include_bytes!("page/index.html")),
    ("/app.js", "text/javascript; charset=utf-8", include_bytes!("page/app.js")),
    ("/style.css", "text/css; charset=utf-8", include_bytes!("page/style.css")),
];
