//! Fuzz target: an HTTP request head -> chatd's answer (`src/web/http.rs`).
//!
//! Whatever the bytes: parsing never panics; a head is complete at one
//! length only (every shorter prefix is Partial or the same refusal, never
//! a different head); a parsed head is within MAX_HEAD and its routing
//! never panics and always produces a response with a status line.
#![no_main]

use chatd::web::http::{parse_head, route, Parsed, Policy, Route, MAX_HEAD};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let parsed = parse_head(data);
    if let Parsed::Head(head) = &parsed {
        assert!(head.len <= data.len() && head.len <= MAX_HEAD);
        // The head alone parses to the same head.
        assert_eq!(parse_head(&data[..head.len]), parsed);
        for policy in [
            Policy { loopback: true, origins: vec![] },
            Policy { loopback: false, origins: vec!["https://chat.example.org".into()] },
        ] {
            let bytes = match route(head, &policy) {
                Route::Answer(b) => b,
                Route::Upgrade(b) => {
                    assert!(head.path == "/ws" && head.method == "GET");
                    b
                }
            };
            assert!(bytes.starts_with(b"HTTP/1.1 ") && bytes.windows(4).any(|w| w == b"\r\n\r\n"));
        }
    }
    // Cut short, the bytes are never a different complete head.
    if data.len() > 1 {
        match (parse_head(&data[..data.len() / 2]), &parsed) {
            (Parsed::Head(short), Parsed::Head(full)) => assert_eq!(&short, full),
            (Parsed::Head(_), other) => panic!("half is a head, the whole is {other:?}"),
            _ => {}
        }
    }
});
