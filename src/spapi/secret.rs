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
///
/// A server echoes what it received in whatever encoding it logs: raw, percent-encoded (`%7C`
/// or `%7c`, a space as `%20` or, form-encoded, `+`) or JSON-escaped (`\/`, `\u007C`). Each
/// character of a secret is matched in any of those forms, mixed freely, so one matcher covers
/// every encoding instead of a list of pre-encoded copies that would miss a variant.
pub fn scrub(text: &str, secrets: &[&Secret]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        // Short values would redact innocent text; real tokens and secrets are long.
        if s.0.len() >= 8 {
            out = scrub_one(&out, &s.0);
        }
    }
    out
}

fn scrub_one(text: &str, secret: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    // `last` is the start of text not yet copied; copies happen on char boundaries only.
    let mut last = 0;
    while i < bytes.len() {
        if !text.is_char_boundary(i) {
            i += 1;
            continue;
        }
        match match_at(bytes, i, secret) {
            Some(end) => {
                out.push_str(&text[last..i]);
                out.push_str(REDACTED);
                i = end;
                last = end;
            }
            None => i += 1,
        }
    }
    out.push_str(&text[last..]);
    out
}

/// The end of an encoded copy of `secret` starting at `start`, if there is one.
fn match_at(text: &[u8], start: usize, secret: &str) -> Option<usize> {
    let mut i = start;
    for c in secret.chars() {
        i = match_char(text, i, c)?;
    }
    Some(i)
}

/// Match one character of a secret at `i` in any of its encodings; returns the end of the
/// longest form found (a JSON `\\\\` must not match as a raw `\\` followed by a stray one).
fn match_char(text: &[u8], i: usize, c: char) -> Option<usize> {
    let mut utf8 = [0u8; 4];
    let raw = c.encode_utf8(&mut utf8).as_bytes();
    let mut best = None;
    let mut found = |end: usize| best = best.max(Some(end));
    if text[i..].starts_with(raw) {
        found(i + raw.len());
    }
    if c == ' ' && text.get(i) == Some(&b'+') {
        found(i + 1);
    }
    // Percent-encoding, byte by byte, either case of hex digit.
    let mut j = i;
    for b in raw {
        match text.get(j..j + 3) {
            Some([b'%', h, l]) if hex_pair(*h, *l) == Some(*b) => j += 3,
            _ => {
                j = i;
                break;
            }
        }
    }
    if j > i {
        found(j);
    }
    // JSON escapes: `\\/`, `\\"`, `\\\\`, control characters and `\\uXXXX` (BMP).
    if text.get(i) == Some(&b'\\') {
        let short = match c {
            '"' => Some(b'"'),
            '\\' => Some(b'\\'),
            '/' => Some(b'/'),
            '\n' => Some(b'n'),
            '\r' => Some(b'r'),
            '\t' => Some(b't'),
            '\u{8}' => Some(b'b'),
            '\u{c}' => Some(b'f'),
            _ => None,
        };
        if short.is_some() && text.get(i + 1).copied() == short {
            found(i + 2);
        }
        if let Some([b'u', a, b, d, e]) = text.get(i + 1..i + 6) {
            let code = hex_pair(*a, *b)
                .zip(hex_pair(*d, *e))
                .map(|(hi, lo)| u32::from(hi) << 8 | u32::from(lo));
            if code == Some(u32::from(c)) {
                found(i + 6);
            }
        }
    }
    best
}

fn hex_pair(h: u8, l: u8) -> Option<u8> {
    let v = |x: u8| (x as char).to_digit(16).map(|d| d as u8);
    Some(v(h)? << 4 | v(l)?)
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

    #[test]
    fn scrub_removes_every_encoding() {
        let s = Secret::new("Atzr|IwEB/x+y z\"q\\");
        let encodings = [
            // raw
            "Atzr|IwEB/x+y z\"q\\",
            // form-encoded, as a login form is sent (space as +)
            "Atzr%7CIwEB%2Fx%2By+z%22q%5C",
            // percent-encoded, space as %20, lower-case hex
            "Atzr%7cIwEB%2fx%2by%20z%22q%5c",
            // path-style encoding that keeps `/`
            "Atzr%7CIwEB/x%2By%20z%22q%5C",
            // JSON-escaped, with and without escaped `/`
            "Atzr|IwEB\\/x+y z\\\"q\\\\",
            "Atzr|IwEB/x+y z\\\"q\\\\",
            // JSON \u escapes
            "Atzr\\u007cIwEB\\u002Fx+y\\u0020z\\u0022q\\u005C",
        ];
        for e in encodings {
            let text = format!("error: refresh_token={e}&client_id=x was refused");
            assert_eq!(
                scrub(&text, &[&s]),
                "error: refresh_token=[redacted]&client_id=x was refused",
                "{e}"
            );
        }
        // Non-ASCII secrets: raw and percent-encoded UTF-8.
        let s = Secret::new("sécret-value-1");
        assert_eq!(scrub("a sécret-value-1 b", &[&s]), "a [redacted] b");
        assert_eq!(scrub("a s%C3%A9cret-value-1 b", &[&s]), "a [redacted] b");
        // Text around multi-byte characters survives untouched.
        assert_eq!(scrub("é ü nothing", &[&s]), "é ü nothing");
    }
}
