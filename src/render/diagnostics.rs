//! Rendering of policy diagnostics: human (miette, with or without colour) and JSON.

use std::fmt;
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};

use crate::diag::{Diagnostic, JsonDiagnostic, Severity};
use crate::span::{LineIndex, Span};

/// A policy file as read: the name it is reported under and its text.
#[derive(Clone, Debug)]
pub struct SourceFile {
    /// The path as the user gave it (or as found under a folder they gave).
    pub name: String,
    pub text: String,
}

/// Whether human output should use colour: not when NO_COLOR is set or the stream is no terminal.
pub fn want_color(stream_is_terminal: bool) -> bool {
    stream_is_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// One diagnostic rendered with its source snippet, ending in a newline.
pub fn human(file: &SourceFile, d: &Diagnostic, color: bool) -> String {
    render_one(&file.name, &padded(file), d, color)
}

/// Every diagnostic of a file, errors and warnings in source order.
pub fn human_all(file: &SourceFile, diags: &[Diagnostic], color: bool) -> String {
    let mut sorted: Vec<&Diagnostic> = diags.iter().collect();
    sorted.sort_by_key(|d| d.primary_span().start);
    // One shared copy of the source for all of them, not one per diagnostic.
    let text = padded(file);
    sorted
        .iter()
        .map(|d| render_one(&file.name, &text, d, color))
        .collect()
}

/// The source with a trailing space, which gives an end-of-file label a character to point at.
fn padded(file: &SourceFile) -> Arc<str> {
    let mut text = String::with_capacity(file.text.len() + 1);
    text.push_str(&file.text);
    text.push(' ');
    Arc::from(text)
}

fn render_one(name: &str, text: &Arc<str>, d: &Diagnostic, color: bool) -> String {
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let adapter = Adapter::new(name, text, d);
    let mut out = String::new();
    // Writing into a String cannot fail; a miette rendering error falls back to a plain line.
    if handler.render_report(&mut out, &adapter).is_err() {
        out = format!("{}[{}]: {}\n", d.severity.as_str(), d.code, d.message);
    }
    out
}

/// The documented JSON records for a file's diagnostics.
pub fn json_records(file: &SourceFile, diags: &[Diagnostic]) -> Vec<JsonDiagnostic> {
    let index = LineIndex::new(&file.text);
    let mut out: Vec<JsonDiagnostic> = diags
        .iter()
        .map(|d| JsonDiagnostic::new(&file.name, &file.text, &index, d))
        .collect();
    out.sort_by_key(|a| (a.line, a.column));
    out
}

/// GitHub Actions workflow commands, one line per record: `::error file=…,line=…,col=…,
/// endLine=…,endColumn=…,title=CODE::MESSAGE` (help appended on a second line of the message).
pub fn github_annotations(records: &[JsonDiagnostic]) -> String {
    // Workflow-command escaping: data escapes %, CR, LF; properties also `:` and `,`.
    fn data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn prop(s: &str) -> String {
        data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for r in records {
        let level = match r.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut message = r.message.clone();
        if let Some(h) = &r.help {
            message.push_str("\nhelp: ");
            message.push_str(h);
        }
        out.push_str(&format!(
            "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            prop(&r.file),
            r.line,
            r.column,
            r.end_line,
            r.end_column,
            prop(&r.code),
            data(&message)
        ));
    }
    out
}

/// Adapts a `Diagnostic` to miette, with the source attached and spans clamped so labels at
/// end of file still show (miette drops a label that starts past the last character).
struct Adapter {
    d: Diagnostic,
    source: NamedSource<Arc<str>>,
}

impl Adapter {
    /// `text` is the source plus one trailing space (see `padded`).
    fn new(name: &str, text: &Arc<str>, d: &Diagnostic) -> Self {
        let max = text.len() - 1;
        let mut d = d.clone();
        for l in &mut d.labels {
            let start = floor_boundary(text, l.span.start.min(max));
            let end = floor_boundary(text, l.span.end.min(text.len())).max(start);
            l.span = Span::new(start, end);
        }
        Adapter {
            d,
            source: NamedSource::new(name, Arc::clone(text)),
        }
    }
}

fn floor_boundary(text: &str, mut i: usize) -> usize {
    while i > 0 && !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

impl fmt::Debug for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Diagnostic")
            .field("code", &self.d.code)
            .finish()
    }
}

impl fmt::Display for Adapter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.d.message)
    }
}

impl std::error::Error for Adapter {}

impl miette::Diagnostic for Adapter {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.d.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.d
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.d.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.d.labels.iter().map(|l| {
            let text = (!l.text.is_empty()).then(|| l.text.clone());
            if l.primary {
                LabeledSpan::new_primary_with_span(text, l.span)
            } else {
                LabeledSpan::new_with_span(text, l.span)
            }
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_label_at_end_of_file_and_json_positions() {
        let file = SourceFile {
            name: "p.allot".into(),
            text: "rule \"x\" {".into(),
        };
        let d = Diagnostic::error("allot::unclosed-block", "this block is never closed")
            .at(Span::new(10, 10), "end of file")
            .also(Span::new(9, 10), "opened here")
            .help("add `}`");
        let out = human(&file, &d, false);
        assert!(out.contains("allot::unclosed-block"), "{out}");
        assert!(out.contains("end of file"), "{out}");
        assert!(out.contains("add `}`"), "{out}");
        let j = json_records(&file, &[d]);
        assert_eq!((j[0].line, j[0].column, j[0].end_column), (1, 11, 11));
        assert_eq!(
            github_annotations(&j),
            "::error file=p.allot,line=1,col=11,endLine=1,endColumn=11,\
             title=allot%3A%3Aunclosed-block::this block is never closed%0Ahelp: add `}`\n"
        );
    }
}
