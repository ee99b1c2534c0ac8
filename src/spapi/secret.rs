//! A string that must never be shown: LWA client secret, refresh token, access token.

use std::fmt;

/// A secret value. `Debug` and `Display` print `[redacted]`; the value is reachable only through
/// [`Secret::expose`], which call sites use exactly where the value goes on the wire.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

pub const REDACTED: &str = "[redacted]";

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

/// Replace every occurrence of any of `secrets` in `text` by `[redacted]`: a last line of
/// defence for text that came from a server (an LWA error description could echo a value).
pub fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        // Short values would redact innocent text; real tokens and secrets are long.
        if s.0.len() >= 8 {
            out = out.replace(&s.0, REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_are_redacted() {
        let s = Secret::new("Atzr|IwEBIA-very-secret");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(format!("{s:?}"), "[redacted]");
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Holder {
            token: Secret,
        }
        let h = Holder { token: s.clone() };
        assert!(!format!("{h:?}").contains("very-secret"));
        assert!(!format!("{h:#?}").contains("very-secret"));
        assert_eq!(s.expose(), "Atzr|IwEBIA-very-secret");
    }

    #[test]
    fn scrub_removes_values() {
        let s = Secret::new("super-secret-value");
        assert_eq!(
            scrub("bad token super-secret-value here", &[&s]),
            "bad token [redacted] here"
        );
    }
}
