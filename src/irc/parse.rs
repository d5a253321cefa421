//! IRC lines -> [`Line`]: the client half of RFC 1459/2812 framing as
//! modern.ircdocs.horse describes it, with IRCv3 tags. Pure: no I/O, no
//! state; `handlers/irc.rs` turns a `Line` into chatd's handler calls.
//!
//! ```text
//! [@tags SPACE] [:prefix SPACE] COMMAND [params...] [SPACE :trailing]
//! ```
//!
//! Limits: the part after the tags is at most [`MAX_BODY`] bytes (512 with
//! CRLF, as RFC 1459 says) and the tags at most [`MAX_TAGS`] (IRCv3's
//! client-tag budget); a longer line is [`ParseError::TooLong`] and the
//! client gets 417. At most [`MAX_PARAMS`] parameters are read (RFC 2812's
//! 15); the 15th takes the rest of the line, as the RFC says.

/// Most bytes of a line after its tags, CRLF not counted.
pub const MAX_BODY: usize = 510;
/// Most bytes of the tag part, `@` included, its space not.
pub const MAX_TAGS: usize = 4096;
/// Most parameters (RFC 2812).
pub const MAX_PARAMS: usize = 15;

/// One parsed client line, borrowing from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    /// The raw tag text after `@` (clients' tags are ignored by chatd).
    pub tags: Option<&'a str>,
    /// A prefix the client sent (ignored, as servers do for clients).
    pub prefix: Option<&'a str>,
    /// The command word as sent (compare case-insensitively).
    pub command: &'a str,
    /// Middle parameters and the trailing one, in order.
    pub params: Vec<&'a str>,
}

/// Why a line is not a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseError {
    /// Nothing but spaces (or tags/prefix and no command): ignored.
    Empty,
    /// Over [`MAX_BODY`] or [`MAX_TAGS`]: 417.
    TooLong,
}

impl Line<'_> {
    /// The command word in upper case, for matching.
    pub fn verb(&self) -> String {
        self.command.to_ascii_uppercase()
    }

    /// Parameter `i`, if sent.
    pub fn param(&self, i: usize) -> Option<&str> {
        self.params.get(i).copied()
    }
}

/// Parses one line (its terminator already removed).
pub fn parse(line: &str) -> Result<Line<'_>, ParseError> {
    let mut rest = line.trim_start_matches(' ');
    let mut tags = None;
    if let Some(after) = rest.strip_prefix('@') {
        let (t, r) = after.split_once(' ').unwrap_or((after, ""));
        if t.len() + 1 > MAX_TAGS {
            return Err(ParseError::TooLong);
        }
        tags = Some(t);
        rest = r.trim_start_matches(' ');
    }
    if rest.len() > MAX_BODY {
        return Err(ParseError::TooLong);
    }
    let mut prefix = None;
    if let Some(after) = rest.strip_prefix(':') {
        let (p, r) = after.split_once(' ').unwrap_or((after, ""));
        prefix = Some(p);
        rest = r.trim_start_matches(' ');
    }
    let (command, mut rest) = rest.split_once(' ').unwrap_or((rest, ""));
    if command.is_empty() {
        return Err(ParseError::Empty);
    }
    let mut params = Vec::new();
    loop {
        rest = rest.trim_start_matches(' ');
        if rest.is_empty() {
            break;
        }
        if let Some(trailing) = rest.strip_prefix(':') {
            params.push(trailing);
            break;
        }
        if params.len() + 1 == MAX_PARAMS {
            params.push(rest);
            break;
        }
        let (p, r) = rest.split_once(' ').unwrap_or((rest, ""));
        params.push(p);
        rest = r;
    }
    Ok(Line { tags, prefix, command, params })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parameters_and_trailing() {
        let l = parse("PRIVMSG #chatd :hello  there ").unwrap();
        assert_eq!(l.command, "PRIVMSG");
        assert_eq!(l.params, vec!["#chatd", "hello  there "]);
        let l = parse("user u 0 * :Real Name").unwrap();
        assert_eq!(l.verb(), "USER");
        assert_eq!(l.params, vec!["u", "0", "*", "Real Name"]);
        assert_eq!(parse("NICK   bob").unwrap().params, vec!["bob"]);
        assert_eq!(parse("PING :").unwrap().params, vec![""]);
        assert_eq!(parse("CAP LS 302").unwrap().params, vec!["LS", "302"]);
    }

    #[test]
    fn tags_and_prefix_are_read_and_set_aside() {
        let l = parse("@label=1;+x=y :me!u@h PRIVMSG bob :hi").unwrap();
        assert_eq!(l.tags, Some("label=1;+x=y"));
        assert_eq!(l.prefix, Some("me!u@h"));
        assert_eq!(l.command, "PRIVMSG");
        assert_eq!(l.params, vec!["bob", "hi"]);
    }

    #[test]
    fn empty_lines_and_bare_tags_are_empty() {
        assert_eq!(parse(""), Err(ParseError::Empty));
        assert_eq!(parse("   "), Err(ParseError::Empty));
        assert_eq!(parse("@a=b"), Err(ParseError::Empty));
        assert_eq!(parse(":prefix"), Err(ParseError::Empty));
    }

    #[test]
    fn limits_hold_for_body_and_tags() {
        let body = format!("PRIVMSG bob :{}", "x".repeat(MAX_BODY - 13));
        assert_eq!(body.len(), MAX_BODY);
        assert!(parse(&body).is_ok());
        assert_eq!(parse(&format!("{body}x")), Err(ParseError::TooLong));
        let tagged = format!("@{} {body}", "t".repeat(MAX_TAGS - 1));
        assert!(parse(&tagged).is_ok());
        assert_eq!(parse(&format!("@{} PING", "t".repeat(MAX_TAGS))), Err(ParseError::TooLong));
    }

    #[test]
    fn the_fifteenth_parameter_takes_the_rest() {
        let line = format!("X {}", (1..=20).map(|i| i.to_string()).collect::<Vec<_>>().join(" "));
        let l = parse(&line).unwrap();
        assert_eq!(l.params.len(), MAX_PARAMS);
        assert_eq!(l.params[14], "15 16 17 18 19 20");
    }
}
