//! `allot test --format json|junit`: the results as one JSON document (its schema is
//! schemas/test.schema.json) or as JUnit XML for CI test reports. Both say the same things: every
//! file (one that could not run is an error with its diagnostics, never left out), every test
//! with its status and failures, and the coverage when it was asked for.

use serde::Serialize;

use super::test::{Outcome, Report, percent, why_uncovered};
use crate::diag::{Diagnostic, JsonDiagnostic};
use crate::model::Policy;
use crate::render::diagnostics::{SourceFile, json_records};
use crate::sim::coverage::{Coverage, ItemKind};
use crate::span::LineIndex;

/// The version of the JSON document; a change that removes or renames a field bumps it.
pub const FORMAT_VERSION: &str = "1.0";

#[derive(Serialize)]
pub struct Doc {
    format_version: &'static str,
    files: Vec<FileDoc>,
    summary: SummaryDoc,
    /// Only with `--coverage` (or `--min-coverage`).
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<TotalCoverage>,
}

#[derive(Serialize)]
struct SummaryDoc {
    files: usize,
    tests: usize,
    passed: usize,
    failed: usize,
    /// Tests that could not run, and files whose tests could not run.
    errors: usize,
    files_not_run: usize,
    cross_file_errors: usize,
}

#[derive(Serialize)]
struct FileDoc {
    file: String,
    /// `passed`: every test passed and nothing is wrong with the file; `failed`: a test
    /// failed or could not run, or the check across files found an error; `error`: its tests
    /// were not run (it could not be read, or does not check).
    status: &'static str,
    /// Why the file's tests were not run.
    error: Option<String>,
    /// The file's diagnostics when it does not check, else what the check across files found
    /// about it (records as `allot check --format json`).
    diagnostics: Vec<JsonDiagnostic>,
    tests: Vec<TestDoc>,
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<FileCoverage>,
}

#[derive(Serialize)]
struct TestDoc {
    name: String,
    line: usize,
    /// `passed`, `failed` (an expectation does not hold) or `error` (the test could not run).
    status: &'static str,
    duration_ms: f64,
    error: Option<String>,
    failures: Vec<FailureDoc>,
}

#[derive(Serialize)]
struct FailureDoc {
    line: usize,
    /// The expectation as written, e.g. `"YOGA-1-US" on US = 10`.
    expect: String,
    seller_sku: String,
    marketplace: String,
    /// `DEFAULT` or a location's name, when the expectation names a channel.
    channel: Option<String>,
    /// The inventory SKU behind the offer, when the offer exists.
    inventory_sku: Option<String>,
    /// `null`: no offer.
    expected: Option<u64>,
    /// `null`: no such offer (or channel).
    actual: Option<u64>,
    detail: Option<String>,
}

#[derive(Serialize)]
struct FileCoverage {
    covered: usize,
    total: usize,
    percent: f64,
    items: Vec<ItemDoc>,
}

#[derive(Serialize)]
struct ItemDoc {
    kind: ItemKind,
    /// The rule's name (of the rule itself, or of the rule the target or step belongs to).
    rule: String,
    /// The target's marketplace, for targets and the steps of a target.
    marketplace: Option<String>,
    /// `buffer`, `share`, `ratio`, `pack`, `threshold` or `cap`, for steps.
    step: Option<&'static str>,
    description: String,
    line: usize,
    covered: bool,
}

#[derive(Serialize)]
struct TotalCoverage {
    covered: usize,
    total: usize,
    percent: f64,
    min: Option<u8>,
    /// `false` only when `--min-coverage` was given and the total is below it.
    met: bool,
}

fn file_coverage(file: &SourceFile, policy: &Policy, cov: &Coverage) -> FileCoverage {
    let index = LineIndex::new(&file.text);
    let items = cov
        .items
        .iter()
        .map(|it| {
            let rule = policy.rules.get(it.rule);
            let marketplace = it.target.and_then(|ti| match rule.map(|r| &r.action) {
                Some(crate::model::Action::Publish(p)) => p
                    .targets
                    .get(ti)
                    .and_then(|t| policy.marketplaces.get(t.marketplace))
                    .map(|m| m.code.clone()),
                _ => None,
            });
            ItemDoc {
                kind: it.kind,
                rule: rule.map_or_else(String::new, |r| r.name.clone()),
                marketplace,
                step: it.step.map(crate::sim::coverage::step_name),
                description: Coverage::describe(policy, it),
                line: index.line_col(&file.text, it.span.start).0,
                covered: it.covered,
            }
        })
        .collect();
    FileCoverage {
        covered: cov.covered(),
        total: cov.total(),
        percent: percent(cov.covered(), cov.total()),
        items,
    }
}

/// The JSON document.
pub fn json(report: &Report, min: Option<u8>) -> Doc {
    let mut files = Vec::new();
    for o in &report.outcomes {
        files.push(match o {
            Outcome::Unreadable { path, message } => FileDoc {
                file: path.display().to_string(),
                status: "error",
                error: Some(message.clone()),
                diagnostics: Vec::new(),
                tests: Vec::new(),
                coverage: None,
            },
            Outcome::NotChecked { file, diagnostics } => FileDoc {
                file: file.name.clone(),
                status: "error",
                error: Some(format!(
                    "{} does not check; its tests were not run",
                    file.name
                )),
                diagnostics: json_records(file, diagnostics),
                tests: Vec::new(),
                coverage: None,
            },
            Outcome::Ran {
                file,
                policy,
                set,
                tests,
                coverage,
            } => {
                let index = LineIndex::new(&file.text);
                let line = |at: usize| index.line_col(&file.text, at).0;
                let tests: Vec<TestDoc> = tests
                    .iter()
                    .map(|t| {
                        let r = &t.result;
                        TestDoc {
                            name: r.name.clone(),
                            line: line(r.span.start),
                            status: test_status(r),
                            // Microseconds kept: a test takes well under a millisecond.
                            duration_ms: (t.duration.as_micros() as f64) / 1000.0,
                            error: r.error.clone(),
                            failures: r
                                .mismatches
                                .iter()
                                .map(|m| FailureDoc {
                                    line: line(m.span.start),
                                    expect: m.expect.clone(),
                                    seller_sku: m.seller_sku.clone(),
                                    marketplace: m.marketplace.clone(),
                                    channel: m.channel.clone(),
                                    inventory_sku: m.inventory_sku.clone(),
                                    expected: m.expected,
                                    actual: m.actual,
                                    detail: m.detail.clone(),
                                })
                                .collect(),
                        }
                    })
                    .collect();
                let bad = tests.iter().any(|t| t.status != "passed")
                    || set.iter().any(Diagnostic::is_error);
                FileDoc {
                    file: file.name.clone(),
                    status: if bad { "failed" } else { "passed" },
                    error: None,
                    diagnostics: json_records(file, set),
                    tests,
                    coverage: coverage.as_ref().map(|c| file_coverage(file, policy, c)),
                }
            }
        });
    }
    Doc {
        format_version: FORMAT_VERSION,
        files,
        summary: SummaryDoc {
            files: report.outcomes.len(),
            tests: report.tests(),
            passed: report.passed,
            failed: report.failed,
            errors: report.errored + report.broken,
            files_not_run: report.broken,
            cross_file_errors: report.set_errors,
        },
        coverage: report.coverage.map(|(covered, total)| TotalCoverage {
            covered,
            total,
            percent: percent(covered, total),
            min,
            met: min.is_none_or(|m| (covered as u128) * 100 >= u128::from(m) * total as u128),
        }),
    }
}

fn test_status(r: &crate::sim::testrun::TestResult) -> &'static str {
    if r.passed() {
        "passed"
    } else if r.error.is_some() {
        "error"
    } else {
        "failed"
    }
}

/// Text for XML: `&`, `<`, `>`, `"` and `'` as entities, and characters XML 1.0 does not
/// allow (control characters other than tab, line feed and carriage return; U+FFFE, U+FFFF)
/// replaced by U+FFFD, so any test name or message makes a well-formed document. In an
/// attribute (`attr`), tab and line breaks are written as character references too: a parser
/// would otherwise turn them into spaces.
pub fn xml_escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' if attr => out.push_str("&#9;"),
            '\n' if attr => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' | '\n' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

fn secs(d: std::time::Duration) -> String {
    format!("{:.3}", d.as_secs_f64())
}

/// One `<testcase>` in the making: its attributes and what it holds.
struct Case {
    name: String,
    line: usize,
    time: String,
    /// `failure` or `error`, with its message, type and text.
    outcome: Option<(&'static str, String, String, String)>,
}

/// Diagnostics as the text of a failure or error: one per line, with its line number.
fn diagnostics_text(records: &[JsonDiagnostic]) -> String {
    records
        .iter()
        .map(|r| {
            let mut s = format!(
                "{}:{}:{}: {}[{}]: {}",
                r.file,
                r.line,
                r.column,
                r.severity.as_str(),
                r.code,
                r.message
            );
            if let Some(h) = &r.help {
                s.push_str(&format!("\n  help: {h}"));
            }
            s
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// JUnit XML: `<testsuites>` with one `<testsuite>` per policy file (its path as name and
/// `file`), one `<testcase>` per test block (`classname` the file, `file` and `line`), a
/// `<failure>` listing every expectation that does not hold (expected and actual, with their
/// lines), an `<error>` for a test that could not run. A file whose tests were not run (it
/// could not be read, or does not check) is a suite with one `<testcase>` in error holding its
/// diagnostics; errors of the check across files are one failing `<testcase>` of the file. With
/// coverage, each suite has `<properties>` `allot.coverage.covered`, `.total` and `.percent`,
/// and its `<system-out>` lists the items not covered; the totals are on `<testsuites>`'s own
/// `<properties>`.
pub fn junit(report: &Report) -> String {
    let mut suites = String::new();
    let (mut all_tests, mut all_failures, mut all_errors) = (0usize, 0usize, 0usize);
    let mut all_time = std::time::Duration::ZERO;
    for o in &report.outcomes {
        let suite_start = all_time;
        let (name, mut cases, props, out) = match o {
            Outcome::Unreadable { path, message } => {
                let name = path.display().to_string();
                let case = Case {
                    name: "(file could not be read)".into(),
                    line: 1,
                    time: secs(Default::default()),
                    outcome: Some(("error", message.clone(), "io".into(), message.clone())),
                };
                (name, vec![case], None, None)
            }
            Outcome::NotChecked { file, diagnostics } => {
                let recs = json_records(file, diagnostics);
                let first = recs.iter().find(|r| r.severity.as_str() == "error");
                let message = format!(
                    "{} does not check; its tests were not run{}",
                    file.name,
                    first.map_or(String::new(), |r| format!(": {}", r.message))
                );
                let case = Case {
                    name: "(policy does not check)".into(),
                    line: first.map_or(1, |r| r.line),
                    time: secs(Default::default()),
                    outcome: Some((
                        "error",
                        message,
                        first.map_or("allot::check".into(), |r| r.code.clone()),
                        diagnostics_text(&recs),
                    )),
                };
                (file.name.clone(), vec![case], None, None)
            }
            Outcome::Ran {
                file,
                policy,
                set,
                tests,
                coverage,
            } => {
                let index = LineIndex::new(&file.text);
                let line = |at: usize| index.line_col(&file.text, at).0;
                let mut cases = Vec::new();
                for t in tests {
                    let r = &t.result;
                    all_time += t.duration;
                    let outcome = if let Some(e) = &r.error {
                        Some(("error", first_line(e), "simulation".into(), e.clone()))
                    } else if r.mismatches.is_empty() {
                        None
                    } else {
                        let text = r
                            .mismatches
                            .iter()
                            .map(|m| {
                                let show = |q: Option<u64>| {
                                    q.map_or("no offer".to_string(), |q| q.to_string())
                                };
                                let mut s = format!(
                                    "{}:{}: expect {}\n  expected: {}\n  actual:   {}",
                                    file.name,
                                    line(m.span.start),
                                    m.expect,
                                    show(m.expected),
                                    show(m.actual)
                                );
                                if let Some(d) = &m.detail {
                                    s.push_str(&format!("\n  ({d})"));
                                }
                                s
                            })
                            .collect::<Vec<_>>()
                            .join("\n");
                        let n = r.mismatches.len();
                        let m = &r.mismatches[0];
                        let message = if n == 1 {
                            format!(
                                "expect {} (line {}): actual {}",
                                m.expect,
                                line(m.span.start),
                                m.actual.map_or("no offer".to_string(), |q| q.to_string())
                            )
                        } else {
                            format!("{n} expectations do not hold")
                        };
                        Some(("failure", message, "expectation".into(), text))
                    };
                    cases.push(Case {
                        name: r.name.clone(),
                        line: line(r.span.start),
                        time: secs(t.duration),
                        outcome,
                    });
                }
                let recs = json_records(file, set);
                let errs: Vec<&JsonDiagnostic> = recs
                    .iter()
                    .filter(|r| r.severity.as_str() == "error")
                    .collect();
                if let Some(first) = errs.first() {
                    cases.push(Case {
                        name: "(check across files)".into(),
                        line: first.line,
                        time: secs(Default::default()),
                        outcome: Some((
                            "failure",
                            format!(
                                "{} across files: {}",
                                if errs.len() == 1 {
                                    "1 error".to_string()
                                } else {
                                    format!("{} errors", errs.len())
                                },
                                first.message
                            ),
                            first.code.clone(),
                            diagnostics_text(&recs),
                        )),
                    });
                }
                let (props, out) = match coverage {
                    Some(c) => {
                        let props = vec![
                            ("allot.coverage.covered", c.covered().to_string()),
                            ("allot.coverage.total", c.total().to_string()),
                            (
                                "allot.coverage.percent",
                                format!("{:.1}", percent(c.covered(), c.total())),
                            ),
                        ];
                        let mut out = format!(
                            "coverage: {} of {} ({:.1}%)\n",
                            c.covered(),
                            c.total(),
                            percent(c.covered(), c.total())
                        );
                        for it in c.items.iter().filter(|i| !i.covered) {
                            out.push_str(&format!(
                                "not covered: {} ({}:{}): {}\n",
                                Coverage::describe(policy, it),
                                file.name,
                                line(it.span.start),
                                why_uncovered(it.kind)
                            ));
                        }
                        (Some(props), Some(out))
                    }
                    None => (None, None),
                };
                (file.name.clone(), cases, props, out)
            }
        };
        let failures = cases
            .iter()
            .filter(|c| matches!(c.outcome, Some(("failure", ..))))
            .count();
        let errors = cases
            .iter()
            .filter(|c| matches!(c.outcome, Some(("error", ..))))
            .count();
        all_tests += cases.len();
        all_failures += failures;
        all_errors += errors;
        let n = xml_escape(&name, true);
        suites.push_str(&format!(
            "  <testsuite name=\"{n}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\" time=\"{}\" file=\"{n}\">\n",
            cases.len(),
            secs(all_time.saturating_sub(suite_start))
        ));
        if let Some(props) = props {
            suites.push_str("    <properties>\n");
            for (k, v) in props {
                suites.push_str(&format!(
                    "      <property name=\"{k}\" value=\"{}\"/>\n",
                    xml_escape(&v, true)
                ));
            }
            suites.push_str("    </properties>\n");
        }
        for c in cases.drain(..) {
            suites.push_str(&format!(
                "    <testcase name=\"{}\" classname=\"{n}\" file=\"{n}\" line=\"{}\" time=\"{}\"",
                xml_escape(&c.name, true),
                c.line,
                c.time
            ));
            match c.outcome {
                None => suites.push_str("/>\n"),
                Some((tag, message, kind, text)) => suites.push_str(&format!(
                    ">\n      <{tag} message=\"{}\" type=\"{}\">{}</{tag}>\n    </testcase>\n",
                    xml_escape(&message, true),
                    xml_escape(&kind, true),
                    xml_escape(&text, false)
                )),
            }
        }
        if let Some(out) = out {
            suites.push_str(&format!(
                "    <system-out>{}</system-out>\n",
                xml_escape(&out, false)
            ));
        }
        suites.push_str("  </testsuite>\n");
    }
    let mut doc = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    doc.push_str(&format!(
        "<testsuites name=\"allot test\" tests=\"{all_tests}\" failures=\"{all_failures}\" errors=\"{all_errors}\" time=\"{}\">\n",
        secs(all_time)
    ));
    if let Some((covered, total)) = report.coverage {
        doc.push_str(&format!(
            "  <properties>\n    <property name=\"allot.coverage.covered\" value=\"{covered}\"/>\n    <property name=\"allot.coverage.total\" value=\"{total}\"/>\n    <property name=\"allot.coverage.percent\" value=\"{:.1}\"/>\n  </properties>\n",
            percent(covered, total)
        ));
    }
    doc.push_str(&suites);
    doc.push_str("</testsuites>\n");
    doc
}

/// A message's first line, without the `error: ` a report starts with (the element says so).
fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or("");
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escape_makes_any_text_safe() {
        assert_eq!(
            xml_escape("a<b>&\"c\"'d'", true),
            "a&lt;b&gt;&amp;&quot;c&quot;&apos;d&apos;"
        );
        // Forbidden control characters are replaced; tab and line feed kept in text, as
        // references in attributes.
        assert_eq!(
            xml_escape("x\u{0}y\u{1b}z\u{FFFF}", false),
            "x\u{FFFD}y\u{FFFD}z\u{FFFD}"
        );
        assert_eq!(xml_escape("a\tb\nc\r", false), "a\tb\nc&#13;");
        assert_eq!(xml_escape("a\tb\nc", true), "a&#9;b&#10;c");
        assert_eq!(xml_escape("ünï ✓", true), "ünï ✓");
    }

    #[test]
    fn percent_rounds_down_and_no_items_is_full() {
        assert_eq!(percent(0, 0), 100.0);
        assert_eq!(percent(1, 3), 33.3);
        assert_eq!(percent(2, 3), 66.6);
        assert_eq!(percent(9999, 10000), 99.9);
        assert_eq!(percent(4, 4), 100.0);
    }
}
