//! Rendering of policy diagnostics: human (miette, with or without colour) and JSON.

use std::fmt;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    NamedSource, SourceCode, SourceSpan, SpanContents,
};

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
    let mut adapter = Adapter::new(name, text, d);
    if near_long_line(text, &adapter.d) {
        adapter.window(name, text);
    }
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

/// SARIF 2.1.0 (OASIS), the format code-scanning tools read (GitHub code scanning uploads it
/// and shows each result on the pull request's diff): one run of the tool `allot`, with a rule
/// for every diagnostic code (where it is documented) and a result per record.
pub fn sarif(records: &[JsonDiagnostic]) -> serde_json::Value {
    use serde_json::json;
    // Syntax codes are documented in docs/syntax.md, the checker's in docs/language.md; the
    // anchor is the heading's text as GitHub makes it (`allot::oversell` → `allotoversell`).
    let doc = |code: &str| {
        let page = if crate::syntax::codes::ALL.contains(&code) {
            "docs/syntax.md"
        } else if code.starts_with("allot::inventory::") || code.starts_with("allot::sim::") {
            // Input-file and simulation errors: documented with the inventory and the preview.
            "docs/inventory.md"
        } else if crate::cli::codes::ALL.contains(&code) || code.starts_with("allot::plan::") {
            // The commands' own errors and the saved plans': with their failing examples.
            "docs/ci.md"
        } else {
            "docs/language.md"
        };
        format!("{page}#{}", code.replace(':', ""))
    };
    let mut codes: Vec<&str> = crate::syntax::codes::ALL
        .iter()
        .chain(crate::check::codes::ALL)
        .chain(crate::inventory::codes::ALL)
        .chain(crate::sim::codes::ALL)
        .copied()
        .collect();
    // A record's code that is in neither list (a future one) still gets its rule.
    for r in records {
        if !codes.contains(&r.code.as_str()) {
            codes.push(r.code.as_str());
        }
    }
    let rules: Vec<serde_json::Value> = codes
        .iter()
        .map(|code| {
            let d = doc(code);
            json!({
                "id": code,
                "name": code.trim_start_matches("allot::"),
                "shortDescription": { "text": format!("{code}: see {d}") },
                "help": {
                    "text": format!("The failing example and its fix: {d}"),
                    "markdown": format!("The failing example and its fix: [{d}]({d})"),
                },
            })
        })
        .collect();
    let results: Vec<serde_json::Value> = records
        .iter()
        .map(|r| {
            let mut text = r.message.clone();
            if let Some(h) = &r.help {
                text.push_str("\nhelp: ");
                text.push_str(h);
            }
            let mut result = json!({
                "ruleId": r.code,
                "ruleIndex": codes.iter().position(|c| *c == r.code).unwrap_or(0),
                "level": match r.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                "message": { "text": text },
            });
            // A command's own error may be about no file (a flag, the credentials): SARIF
            // allows a result without locations, and one about a whole file has no region.
            if !r.file.is_empty() {
                let mut physical = json!({ "artifactLocation": { "uri": file_uri(&r.file) } });
                if r.has_position() {
                    physical["region"] = json!({
                        "startLine": r.line,
                        "startColumn": r.column.max(1),
                        "endLine": r.end_line.max(1),
                        "endColumn": r.end_column.max(1),
                    });
                }
                result["locations"] = json!([{ "physicalLocation": physical }]);
            }
            if !r.related.is_empty() {
                let related: Vec<serde_json::Value> = r
                    .related
                    .iter()
                    .enumerate()
                    .map(|(i, x)| {
                        json!({
                            "id": i,
                            "message": { "text": x.message },
                            "physicalLocation": {
                                "artifactLocation": { "uri": file_uri(&x.file) },
                                "region": {
                                    "startLine": x.line.max(1),
                                    "startColumn": x.column.max(1),
                                    "endLine": x.end_line.max(1),
                                    "endColumn": x.end_column.max(1),
                                },
                            },
                        })
                    })
                    .collect();
                result["relatedLocations"] = serde_json::Value::Array(related);
            }
            result
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "allot",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                },
            },
            "results": results,
        }],
    })
}

/// A file path as a relative URI reference: `/` separators, and what a URI cannot hold as is
/// (spaces, `%`, `#`, `?`, non-ASCII, …) percent-encoded.
fn file_uri(path: &str) -> String {
    use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
    const KEEP_OUT: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'[')
        .add(b'\\')
        .add(b']')
        .add(b'^')
        .add(b'`')
        .add(b'{')
        .add(b'|')
        .add(b'}');
    utf8_percent_encode(&path.replace('\\', "/"), KEEP_OUT).to_string()
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
        // An error about no file is annotated on the run, one about a whole file on the file.
        let mut place = String::new();
        if !r.file.is_empty() {
            place.push_str(&format!("file={},", prop(&r.file)));
            if r.has_position() {
                place.push_str(&format!(
                    "line={},col={},endLine={},endColumn={},",
                    r.line, r.column, r.end_line, r.end_column
                ));
            }
        }
        out.push_str(&format!(
            "::{level} {place}title={}::{}\n",
            prop(&r.code),
            data(&message)
        ));
    }
    out
}

/// A line longer than this (in bytes) is not shown whole: the snippet is a window of it around
/// the primary label. miette pads up to a label's column with a format width, and Rust refuses
/// (panics on) a width above 65,535; a window also keeps a 70,000-character line off the screen.
const LONG_LINE: usize = 400;
/// Characters of context kept on each side of the label in a window, and the most of a long
/// label shown.
const WINDOW_CONTEXT: usize = 60;
const WINDOW_LABEL: usize = 200;

/// Byte range of the line holding `at` (without its line end).
fn line_bounds(text: &str, at: usize) -> (usize, usize) {
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    (start, end)
}

/// True when a label, or a context line miette would print beside it, is on a long line.
fn near_long_line(text: &str, d: &Diagnostic) -> bool {
    let (Some(lo), Some(hi)) = (
        d.labels.iter().map(|l| l.span.start).min(),
        d.labels.iter().map(|l| l.span.end).max(),
    ) else {
        return false;
    };
    // One context line before and after, as miette shows.
    let lo = text[..lo].trim_end_matches(|c| c != '\n').len();
    let lo = text[..lo.saturating_sub(1)]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let hi = text[hi..]
        .match_indices('\n')
        .nth(1)
        .map_or(text.len(), |(i, _)| hi + i);
    text[lo..hi].split('\n').any(|l| l.len() > LONG_LINE)
}

/// Walk `n` characters back from `at`, not before `floor`.
fn chars_back(text: &str, at: usize, n: usize, floor: usize) -> usize {
    text[floor..at]
        .char_indices()
        .rev()
        .nth(n.saturating_sub(1))
        .map_or(floor, |(i, _)| floor + i)
}

/// Walk `n` characters forward from `at`, not past `ceil`.
fn chars_forward(text: &str, at: usize, n: usize, ceil: usize) -> usize {
    text[at..ceil]
        .char_indices()
        .nth(n)
        .map_or(ceil, |(i, _)| at + i)
}

/// A window of one source line, reported at its real line and column.
struct Window {
    name: String,
    text: String,
    /// 0-based line of the window in the file.
    line: usize,
    /// Byte column in the file of the window's first byte (miette counts columns in bytes).
    column: usize,
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self.text.read_span(span, before, after)?;
        // The window has no line end: every span is on its line 0. miette reports a column
        // only when asked for no context lines (the header's line:column).
        let column = if before == 0 {
            inner.column() + self.column
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.line,
            column,
            inner.line_count(),
        )))
    }
}

/// Adapts a `Diagnostic` to miette, with the source attached and spans clamped so labels at
/// end of file still show (miette drops a label that starts past the last character).
struct Adapter {
    d: Diagnostic,
    source: Box<dyn SourceCode>,
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
            source: Box::new(NamedSource::new(name, Arc::clone(text))),
        }
    }

    /// Show only a window of the primary label's line; labels outside it are named with their
    /// line and column in the help instead.
    fn window(&mut self, name: &str, text: &str) {
        let primary = self.d.primary_span();
        let (ls, le) = line_bounds(text, primary.start);
        let mut ws = chars_back(text, primary.start, WINDOW_CONTEXT, ls);
        if ws - ls < "…".len() {
            // Too little cut to replace by the ellipsis and keep the columns right.
            ws = ls;
        }
        let label_end = chars_forward(text, primary.start, WINDOW_LABEL, le)
            .min(primary.end.max(primary.start));
        let we = chars_forward(text, label_end.max(primary.start), WINDOW_CONTEXT, le);
        let prefix = if ws > ls { "…" } else { "" };
        let suffix = if we < le { "…" } else { "" };
        // A trailing space gives a label at the line's end a character to point at.
        let data = format!("{prefix}{}{suffix} ", &text[ws..we]);
        let index = LineIndex::new(text);
        let mut notes = Vec::new();
        let shift = |i: usize| i - ws + prefix.len();
        self.d.labels.retain_mut(|l| {
            if l.span.start >= ws && l.span.start <= we {
                let end = l.span.end.clamp(l.span.start, we);
                l.span = Span::new(shift(l.span.start), shift(end));
                true
            } else {
                let (line, col) = index.line_col(text, l.span.start);
                notes.push(format!("also {name}:{line}:{col}: {}", l.text));
                false
            }
        });
        if !notes.is_empty() {
            let help = self
                .d
                .help
                .take()
                .into_iter()
                .chain(notes)
                .collect::<Vec<_>>();
            self.d.help = Some(help.join("\n"));
        }
        let line = text[..ls].matches('\n').count();
        self.source = Box::new(Window {
            name: name.to_string(),
            text: data,
            line,
            column: (ws - ls).saturating_sub(prefix.len()),
        });
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
        Some(&*self.source)
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

    /// A command's own error without a file, and one about a whole file: no position in any
    /// format (JSON nulls, SARIF without locations or region, GitHub without file= or line=).
    #[test]
    fn a_record_without_a_file_or_a_line_has_no_location() {
        use crate::diag::{JsonDiagnostic, Severity};
        let none = JsonDiagnostic::unplaced(
            "",
            "allot::endpoint",
            Severity::Error,
            "bad, really".into(),
            Some("fix it".into()),
        );
        let whole = JsonDiagnostic::unplaced(
            "out/x.plan",
            "allot::plan::write",
            Severity::Error,
            "cannot write".into(),
            None,
        );
        let json = serde_json::to_value([&none, &whole]).unwrap();
        assert_eq!(json[0]["file"], serde_json::Value::Null);
        assert_eq!(json[1]["file"], "out/x.plan");
        for k in ["line", "column", "end_line", "end_column"] {
            assert_eq!(json[0][k], serde_json::Value::Null, "{k}");
            assert_eq!(json[1][k], serde_json::Value::Null, "{k}");
        }
        let s = sarif(&[none.clone(), whole.clone()]);
        let results = &s["runs"][0]["results"];
        assert!(results[0].get("locations").is_none(), "{s:#}");
        let physical = &results[1]["locations"][0]["physicalLocation"];
        assert_eq!(physical["artifactLocation"]["uri"], "out/x.plan");
        assert!(physical.get("region").is_none(), "{s:#}");
        assert_eq!(
            github_annotations(&[none, whole]),
            "::error title=allot%3A%3Aendpoint::bad, really%0Ahelp: fix it\n\
             ::error file=out/x.plan,title=allot%3A%3Aplan%3A%3Awrite::cannot write\n"
        );
    }

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

    #[test]
    fn a_label_far_along_a_long_line_is_shown_in_a_window_at_its_real_place() {
        let long = "é".repeat(40_000);
        let text = format!("rule \"x\" {{\n{long}bad\n}}\n");
        let at = text.find("bad").unwrap();
        let file = SourceFile {
            name: "p.allot".into(),
            text: text.clone(),
        };
        let d = Diagnostic::error("allot::syntax", "unexpected")
            .at(Span::new(at, at + 3), "here")
            .also(Span::new(0, 4), "in this rule")
            .help("fix it");
        let out = human(&file, &d, false);
        // miette counts the header's column in bytes: 2 per `é`.
        assert!(out.contains("[p.allot:2:80001]"), "{out}");
        assert!(out.contains("…") && out.contains("bad"), "{out}");
        assert!(out.contains("also p.allot:1:1: in this rule"), "{out}");
        assert!(out.len() < 2_000, "{out}");
        // A label at the very end of the long line, and one past the end of the file.
        for span in [
            Span::new(at + 3, at + 3),
            Span::new(text.len() + 5, text.len() + 9),
        ] {
            let d = Diagnostic::warning("allot::syntax", "x").at(span, "end");
            assert!(human(&file, &d, true).contains("end"));
        }
    }
}

#[cfg(test)]
mod sarif_tests {
    use crate::inventory::{InputError, RowError, RowErrors, codes};

    /// Input-file errors render through the same records as check's diagnostics: located at
    /// their row and column, with their code, in GitHub annotations and SARIF alike.
    #[test]
    fn input_errors_render_as_annotations_and_sarif() {
        let mut rows = RowErrors::default();
        rows.push(
            RowError::new(
                codes::BAD_QUANTITY,
                3,
                "the quantity `lots` is not a whole number",
            )
            .field(Some(3), "on_hand")
            .help("write digits"),
        );
        let e = InputError::rows("inv.csv", rows);
        assert!(
            e.to_string().starts_with(
                "error[allot::inventory::bad-quantity]: inv.csv:3, column 3 (on_hand): the quantity"
            ),
            "{e}"
        );
        let records = e.records();
        assert_eq!(
            super::github_annotations(&records),
            "::error file=inv.csv,line=3,col=3,endLine=3,endColumn=3,\
             title=allot%3A%3Ainventory%3A%3Abad-quantity::on_hand: the quantity `lots` is not a \
             whole number%0Ahelp: write digits\n"
        );
        let sarif = super::sarif(&records);
        let result = &sarif["runs"][0]["results"][0];
        assert_eq!(result["ruleId"], codes::BAD_QUANTITY);
        let rules = &sarif["runs"][0]["tool"]["driver"]["rules"];
        let index = result["ruleIndex"].as_u64().unwrap_or(u64::MAX) as usize;
        assert_eq!(rules[index]["id"], codes::BAD_QUANTITY);
        assert!(
            rules[index]["help"]["text"]
                .as_str()
                .is_some_and(|t| t.ends_with("docs/inventory.md#allotinventorybad-quantity")),
            "{}",
            rules[index]
        );
    }

    #[test]
    fn file_paths_become_uri_references() {
        assert_eq!(
            super::file_uri("policies/acme-na.allot"),
            "policies/acme-na.allot"
        );
        assert_eq!(
            super::file_uri("my policies/a#1.allot"),
            "my%20policies/a%231.allot"
        );
        assert_eq!(super::file_uri("dir\\x.allot"), "dir/x.allot");
        assert_eq!(super::file_uri("prüf.allot"), "pr%C3%BCf.allot");
    }
}
