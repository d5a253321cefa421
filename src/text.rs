//! Text safety (protocol section 5): what may reach another user's terminal.
//!
//! Message text and LEAVE reasons pass through [`sanitize`] in the handlers,
//! before anything is stored or delivered. (Whole terminal escape sequences
//! in client input are already gone: `framing.rs` removes them.)

/// Removes control characters (C0 except TAB, DEL, C1) and the bidirectional
/// override and isolate marks, so no client can send terminal escape
/// sequences to another user or disguise what a line says.
pub fn sanitize(text: &str) -> String {
    text.chars().filter(|&c| !is_unsafe(c)).collect()
}

fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}' | '\u{a}'..='\u{1f}' | '\u{7f}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Sanitized text, or `None` when nothing but blanks is left.
pub fn sanitize_nonblank(text: &str) -> Option<String> {
    let clean = sanitize(text);
    if clean.trim().is_empty() {
        None
    } else {
        Some(clean)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the control bytes: client input has whole sequences removed
    /// earlier, by framing; this is the net for whatever else gets here.
    #[test]
    fn escape_sequences_lose_their_control_bytes() {
        assert_eq!(sanitize("hi \u{1b}[31mred\u{1b}[0m"), "hi [31mred[0m");
    }

    #[test]
    fn tab_and_ordinary_unicode_are_kept() {
        assert_eq!(sanitize("a\tb – ünï 日本 🙂"), "a\tb – ünï 日本 🙂");
    }

    #[test]
    fn c1_del_and_bidi_marks_are_removed() {
        assert_eq!(sanitize("a\u{7f}b\u{85}c\u{9b}d\u{202e}e\u{2066}f\u{2069}g"), "abcdefg");
    }

    #[test]
    fn text_of_only_controls_is_blank() {
        assert_eq!(sanitize_nonblank("\u{1}\u{2}"), None);
        assert_eq!(sanitize_nonblank(" \u{7} "), None);
        assert_eq!(sanitize_nonblank("ok\u{7}"), Some("ok".to_string()));
    }
}
