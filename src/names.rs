//! Name rules (protocol section 3): 1 to 8 characters from `A-Z a-z 0-9 _ -`,
//! case kept for display and ignored for identity.

/// Longest name, in characters.
pub const MAX_NAME: usize = 8;

/// Why a name was refused; the handler turns it into `ERR NAME_TOO_LONG` or
/// `ERR NAME_INVALID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    TooLong,
    Invalid,
}

/// Checks a name against the rules. Length is judged first, so a long name
/// with a bad character is reported as too long (the more useful hint).
pub fn validate(name: &str) -> Result<(), NameError> {
    if name.chars().count() > MAX_NAME {
        return Err(NameError::TooLong);
    }
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(NameError::Invalid);
    }
    Ok(())
}

/// The identity of a name: `Alice` and `alice` are the same user.
pub fn fold(name: &str) -> String {
    name.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_names_pass() {
        for n in ["a", "alice", "Bob_1", "x-y", "12345678", "ABCDEFGH"] {
            assert_eq!(validate(n), Ok(()), "{n}");
        }
    }

    #[test]
    fn more_than_eight_characters_is_too_long() {
        assert_eq!(validate("abcdefghi"), Err(NameError::TooLong));
        assert_eq!(validate("ééééééééé"), Err(NameError::TooLong));
    }

    #[test]
    fn bad_characters_and_empty_are_invalid() {
        for n in ["", "a b", "al!ce", "é", "a.b", "a,b", "*"] {
            assert_eq!(validate(n), Err(NameError::Invalid), "{n:?}");
        }
    }

    #[test]
    fn fold_ignores_case() {
        assert_eq!(fold("AlIcE"), fold("alice"));
    }
}
