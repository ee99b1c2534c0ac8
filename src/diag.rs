//! The diagnostic shape shared by the syntax and check stages: a stable code, a severity,
//! labelled spans into one policy file and a help line. Rendering (human via miette, JSON) lives
//! in `render`; stages only build these values and never print.

use serde::Serialize;

use crate::span::{LineIndex, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Label {
    pub span: Span,
    pub text: String,
    /// The primary label is the place the diagnostic is reported at (line/column in JSON).
    pub primary: bool,
}

/// One finding about one policy file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Stable, documented code such as `allot::unified-conflict`. Never renamed once shipped.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    /// How to fix it, in words a user can act on.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// The primary label; call once.
    pub fn at(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
            primary: true,
        });
        self
    }

    /// A secondary label pointing at related code.
    pub fn also(mut self, span: Span, text: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            text: text.into(),
            primary: false,
        });
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The span the diagnostic is reported at: the primary label, else the first, else 0..0.
    pub fn primary_span(&self) -> Span {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
            .unwrap_or_default()
    }
}

/// The documented, stable JSON record of one diagnostic (`allot check --format json`).
/// Lines and columns are 1-based; columns count characters. A command's own error may be about
/// no file (an empty `file`) or about a whole file (line 0): those are `null` in JSON, as
/// schemas/check.schema.json allows, and leave the location out of SARIF and GitHub's output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonDiagnostic {
    #[serde(serialize_with = "null_if_empty")]
    pub file: String,
    pub code: String,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    #[serde(serialize_with = "null_if_zero")]
    pub line: usize,
    #[serde(serialize_with = "null_if_zero")]
    pub column: usize,
    #[serde(serialize_with = "null_if_zero")]
    pub end_line: usize,
    #[serde(serialize_with = "null_if_zero")]
    pub end_column: usize,
    /// Other places the finding is about (the first of two policies writing one seller SKU):
    /// SARIF's `relatedLocations`. Not in the JSON record (its fields are fixed by
    /// schemas/check.schema.json); the message names them.
    #[serde(skip)]
    pub related: Vec<Related>,
}

/// A place related to a diagnostic, in any file; 1-based like the record's own.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Related {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
    /// What is there.
    pub message: String,
}

fn null_if_empty<S: serde::Serializer>(file: &str, s: S) -> Result<S::Ok, S::Error> {
    match file {
        "" => s.serialize_none(),
        f => s.serialize_str(f),
    }
}

fn null_if_zero<S: serde::Serializer>(n: &usize, s: S) -> Result<S::Ok, S::Error> {
    match n {
        0 => s.serialize_none(),
        n => s.serialize_u64(*n as u64),
    }
}

impl JsonDiagnostic {
    /// An error that has no place in a file: `file` is the file it is about (empty for none).
    pub fn unplaced(
        file: &str,
        code: &str,
        severity: Severity,
        message: String,
        help: Option<String>,
    ) -> Self {
        JsonDiagnostic {
            file: file.to_string(),
            code: code.to_string(),
            severity,
            message,
            help,
            line: 0,
            column: 0,
            end_line: 0,
            end_column: 0,
            related: Vec::new(),
        }
    }

    /// Whether the record has a line (a command's own error about a whole file has none).
    pub fn has_position(&self) -> bool {
        self.line > 0
    }

    pub fn new(file: &str, source: &str, index: &LineIndex, d: &Diagnostic) -> Self {
        let span = d.primary_span();
        let (line, column) = index.line_col(source, span.start);
        let (end_line, end_column) = index.line_col(source, span.end);
        JsonDiagnostic {
            file: file.to_string(),
            code: d.code.to_string(),
            severity: d.severity,
            message: d.message.clone(),
            help: d.help.clone(),
            line,
            column,
            end_line,
            end_column,
            related: Vec::new(),
        }
    }
}

/// "Did you mean" against a list of known names: the closest by normalised Damerau-Levenshtein,
/// if it is close enough to be a plausible typo.
pub fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    let n = lower.chars().count();
    candidates
        .into_iter()
        // The score is at most shorter/longer (the distance is at least the length
        // difference), so a candidate of very different length can never reach 0.6: skipping
        // it changes no answer and keeps a huge input from costing a length² matrix.
        .filter(|c| {
            let m = c.chars().count();
            n.min(m) * 10 >= n.max(m) * 6
        })
        .map(|c| {
            (
                c,
                strsim::normalized_damerau_levenshtein(&lower, &c.to_lowercase()),
            )
        })
        .filter(|(_, score)| *score >= 0.6)
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c)
}

/// How many characters of an input value a message quotes.
pub const QUOTE_CHARS: usize = 60;

/// An input value as messages quote it: whole when short, else its first `QUOTE_CHARS`
/// characters and its length, so a huge cell is never echoed whole (a 50 MB SKU would
/// otherwise be printed once per message that names it).
pub fn clip(s: &str) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(QUOTE_CHARS) {
        None => std::borrow::Cow::Borrowed(s),
        Some((end, _)) => {
            std::borrow::Cow::Owned(format!("{}… ({} characters)", &s[..end], s.chars().count()))
        }
    }
}

/// A parser's message about an input, each line cut to its start and end when long: a parser
/// may quote a key or line whole (a fuzzed 50 KB YAML key was quoted twice), while the start
/// says what went wrong and the end often where.
pub fn clip_message(msg: &str) -> String {
    const HEAD: usize = 120;
    const TAIL: usize = 80;
    let mut out = String::with_capacity(msg.len().min(4096));
    for (i, line) in msg.lines().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let n = line.chars().count();
        if n <= HEAD + TAIL + 20 {
            out.push_str(line);
            continue;
        }
        let head: String = line.chars().take(HEAD).collect();
        let tail: String = line.chars().skip(n - TAIL).collect();
        out.push_str(&format!(
            "{head}… ({} characters cut) …{tail}",
            n - HEAD - TAIL
        ));
    }
    out
}

/// The first character of `s` that cannot be seen or is not plain text (control and format
/// characters such as U+200B ZERO WIDTH SPACE or U+FEFF, and every space but the ASCII one),
/// with its character index. A SKU with one looks like another SKU but is not the same to
/// Amazon.
pub fn invisible_char(s: &str) -> Option<(usize, char)> {
    // Fast path for the ASCII prefix (nearly every SKU whole): there a byte is a character and
    // only the controls are invisible (ASCII's other whitespace is all controls).
    let prefix = s.bytes().position(|b| !b.is_ascii()).unwrap_or(s.len());
    if let Some(i) = s.as_bytes()[..prefix]
        .iter()
        .position(|&b| b < 0x20 || b == 0x7F)
    {
        return Some((i, char::from(s.as_bytes()[i])));
    }
    invisible_char_slow(&s[prefix..]).map(|(at, c)| (prefix + at, c))
}

/// `invisible_char` one character at a time.
fn invisible_char_slow(s: &str) -> Option<(usize, char)> {
    s.chars().enumerate().find(|&(_, c)| is_invisible(c))
}

fn is_invisible(c: char) -> bool {
    if c == ' ' {
        return false;
    }
    c.is_control()
        || c.is_whitespace()
        || matches!(
            c,
            // Unicode's Cf (format) characters and the blank-looking letters and fillers.
            '\u{AD}'
                | '\u{34F}'
                | '\u{600}'..='\u{605}'
                | '\u{61C}'
                | '\u{6DD}'
                | '\u{70F}'
                | '\u{890}'..='\u{891}'
                | '\u{8E2}'
                | '\u{115F}'..='\u{1160}'
                | '\u{17B4}'..='\u{17B5}'
                | '\u{180B}'..='\u{180F}'
                | '\u{200B}'..='\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2060}'..='\u{206F}'
                | '\u{2800}'
                | '\u{3164}'
                | '\u{FE00}'..='\u{FE0F}'
                | '\u{FEFF}'
                | '\u{FFA0}'
                | '\u{FFF0}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0000}'..='\u{E0FFF}'
        )
}

/// The name of a character for messages: `U+200B ZERO WIDTH SPACE`, or just the code point.
pub fn char_name(c: char) -> String {
    let name = match c {
        '\u{A0}' => " NO-BREAK SPACE",
        '\u{AD}' => " SOFT HYPHEN",
        '\u{200B}' => " ZERO WIDTH SPACE",
        '\u{200C}' => " ZERO WIDTH NON-JOINER",
        '\u{200D}' => " ZERO WIDTH JOINER",
        '\u{200E}' => " LEFT-TO-RIGHT MARK",
        '\u{200F}' => " RIGHT-TO-LEFT MARK",
        '\u{2060}' => " WORD JOINER",
        '\u{FEFF}' => " ZERO WIDTH NO-BREAK SPACE (byte-order mark)",
        '\t' => " TAB",
        _ => "",
    };
    format!("U+{:04X}{name}", c as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_message_lines_keep_their_start_and_end() {
        let key = "x".repeat(50_000);
        let msg = format!("duplicate mapping key: {key} at line 5 column 3\nsecond line");
        let c = clip_message(&msg);
        assert!(c.len() < 400, "{}", c.len());
        assert!(c.starts_with("duplicate mapping key: xxx"), "{c}");
        assert!(c.contains("at line 5 column 3\nsecond line"), "{c}");
        assert_eq!(clip_message("short\nlines"), "short\nlines");
    }

    #[test]
    fn clip_quotes_long_values_by_their_start_and_length() {
        assert_eq!(clip("SHOE-1"), "SHOE-1");
        let long = "x".repeat(1000);
        let c = clip(&long);
        assert_eq!(c, format!("{}… (1000 characters)", "x".repeat(60)));
    }

    #[test]
    fn invisible_characters_are_found_and_named() {
        assert_eq!(invisible_char("SHOE 1"), None);
        assert_eq!(invisible_char("SHOE\u{200B}1"), Some((4, '\u{200B}')));
        assert_eq!(invisible_char("A\u{A0}"), Some((1, '\u{A0}')));
        assert_eq!(invisible_char("\u{FEFF}A"), Some((0, '\u{FEFF}')));
        assert_eq!(char_name('\u{200B}'), "U+200B ZERO WIDTH SPACE");
        assert_eq!(char_name('\u{3164}'), "U+3164");
    }

    #[test]
    fn the_ascii_fast_path_agrees_with_the_slow_one() {
        let mut cases: Vec<String> = [
            "",
            "A",
            "SHOE 1",
            " A ",
            "A\tB",
            "A\u{7F}",
            "\u{0}",
            "\u{1F}X",
            "~",
            "A\u{80}B",
            "é\u{200B}",
            "ab\u{A0}",
            "abc\u{FEFF}d\u{1}",
            "ab\u{1}\u{200B}",
            "ü\u{1}",
            "日本\u{3000}",
            "AB\u{85}",
            "x\u{2028}",
            "x\u{E0001}y",
            "\u{FEFF}A",
            "a\nb",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every ASCII byte and a sample of other characters, alone and after ASCII and non-ASCII.
        for c in (0u32..0x80).chain([0xA0, 0xAD, 0x2060, 0x3164, 0xFE0F, 0x1D173]) {
            let c = char::from_u32(c).unwrap();
            cases.extend([
                c.to_string(),
                format!("AB{c}"),
                format!("é{c}z"),
                format!("{c}é"),
            ]);
        }
        for s in &cases {
            assert_eq!(invisible_char(s), invisible_char_slow(s), "{s:?}");
        }
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("newrak", ["newark", "austin"]), Some("newark"));
        assert_eq!(did_you_mean("zzz", ["newark", "austin"]), None);
        assert_eq!(did_you_mean("Cap", ["cap", "buffer"]), Some("cap"));
    }
}
