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
/// Lines and columns are 1-based; columns count characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct JsonDiagnostic {
    pub file: String,
    pub code: String,
    pub severity: Severity,
    pub message: String,
    pub help: Option<String>,
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl JsonDiagnostic {
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
    candidates
        .into_iter()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(did_you_mean("newrak", ["newark", "austin"]), Some("newark"));
        assert_eq!(did_you_mean("zzz", ["newark", "austin"]), None);
        assert_eq!(did_you_mean("Cap", ["cap", "buffer"]), Some("cap"));
    }
}
