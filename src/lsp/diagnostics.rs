//! What `allot check FILE` says about one open document, as LSP diagnostics.

use lsp_types::{DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Uri};

use crate::diag::{Diagnostic, Severity};
use crate::render::diagnostics::SourceFile;

use super::position::LineMap;

/// Every diagnostic `allot check` gives for this text checked alone: the file's own, then the
/// set check of a set of one (as the command runs it for one file).
pub fn check(name: &str, text: &str) -> Vec<Diagnostic> {
    let checked = crate::check::check_source(text);
    let file = SourceFile {
        name: name.to_string(),
        text: text.to_string(),
    };
    let loaded = [(file, checked)];
    let mut set = crate::check::set::check_loaded(&loaded);
    let [(_, checked)] = loaded;
    let mut out = checked.diagnostics;
    out.extend(set.pop().unwrap_or_default());
    out
}

pub fn to_lsp(uri: &Uri, text: &str, diags: &[Diagnostic]) -> Vec<lsp_types::Diagnostic> {
    let map = LineMap::new(text);
    diags
        .iter()
        .map(|d| {
            let mut message = d.message.clone();
            if let Some(h) = &d.help {
                message.push_str("\nhelp: ");
                message.push_str(h);
            }
            let related: Vec<DiagnosticRelatedInformation> = d
                .labels
                .iter()
                .filter(|l| !l.primary)
                .map(|l| DiagnosticRelatedInformation {
                    location: Location::new(uri.clone(), map.range(l.span)),
                    message: if l.text.is_empty() {
                        "related".to_string()
                    } else {
                        l.text.clone()
                    },
                })
                .collect();
            lsp_types::Diagnostic {
                range: map.range(d.primary_span()),
                severity: Some(match d.severity {
                    Severity::Error => DiagnosticSeverity::ERROR,
                    Severity::Warning => DiagnosticSeverity::WARNING,
                }),
                code: Some(NumberOrString::String(d.code.to_string())),
                source: Some("allot".to_string()),
                message,
                related_information: (!related.is_empty()).then_some(related),
                ..Default::default()
            }
        })
        .collect()
}
