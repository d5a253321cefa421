//! Checking and masking what the server says: the `<ts>` field of events
//! (RFC 3339 UTC, masked to the literal `<ts>` so whole lines can be
//! compared), `ERR <code> <text>` replies, and taking lines apart.

/// The `<ts>` field must be RFC 3339 UTC with seconds.
pub fn assert_ts(ts: &str) {
    let b = ts.as_bytes();
    let ok = b.len() == 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && b[16] == b':'
        && b[19] == b'Z'
        && ts.chars().filter(|c| c.is_ascii_digit()).count() == 14;
    assert!(ok, "bad timestamp {ts:?}");
}

/// The `<ts>` (second field) of an event or HISTORY line, checked.
pub fn ts_of(line: &str) -> String {
    let ts = line.split(' ').nth(1).unwrap_or_else(|| panic!("no <ts> in {line:?}"));
    assert_ts(ts);
    ts.to_string()
}

/// Replaces the `<ts>` field of an event line (its second word) by the
/// literal `<ts>` after checking it with [`assert_ts`]. Lines of other kinds
/// (OK, ERR, PONG, HELP, HELLO) are returned unchanged.
pub fn mask_ts(line: &str) -> String {
    const EVENTS: [&str; 7] = ["ALL", "MSG", "MCAST", "JOINED", "LEFT", "NOTICE", "HISTORY"];
    let mut parts = line.splitn(3, ' ');
    let kind = parts.next().unwrap_or("");
    if !EVENTS.contains(&kind) {
        return line.to_string();
    }
    let ts = parts.next().unwrap_or("");
    assert_ts(ts);
    match parts.next() {
        Some(rest) => format!("{kind} <ts> {rest}"),
        None => format!("{kind} <ts>"),
    }
}

/// Asserts an error reply: `ERR <code> <free text>` with some free text.
pub fn assert_err(line: &str, code: &str) {
    let prefix = format!("ERR {code} ");
    assert!(line.starts_with(&prefix) && line.len() > prefix.len(), "expected ERR {code} ...: {line:?}");
}

/// Splits an event line into its first `n` fields and the rest.
pub fn fields(line: &str, n: usize) -> Vec<String> {
    line.splitn(n + 1, ' ').map(str::to_string).collect()
}
