//! `allot test PATH...`: run the `test` blocks of policy files through the engine. Prints each
//! test's result, with expected and actual values for failures (`--format human`), or one JSON
//! document or JUnit XML on stdout for CI (`--format json|junit`, [`super::test_out`]). The
//! files are also checked as sets (`check::set`: one seller's files must not write one seller
//! SKU). `--coverage` reports what no test exercises. Exit 0 all pass, 1 any fails (or a policy
//! has errors, alone or across files, or coverage is below `--min-coverage`), 2 usage or I/O
//! error (as `allot check`), whatever the format.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};

use super::Exit;
use crate::check::Checked;
use crate::diag::Diagnostic;
use crate::model::Policy;
use crate::render::diagnostics::{SourceFile, human_all, want_color};
use crate::sim::coverage::Coverage;
use crate::sim::testrun::{TestResult, run_test, run_test_covered};
use crate::span::LineIndex;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Each test's result on stdout, policy diagnostics on stderr.
    #[default]
    Human,
    /// One JSON document on stdout (schemas/test.schema.json); a summary line on stderr.
    Json,
    /// JUnit XML on stdout, for CI test reports (GitHub, GitLab); a summary line on stderr.
    Junit,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Policy files, or folders searched recursively for `*.allot` files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Report the rules, publish targets and steps (buffer, share, ratio, pack, threshold,
    /// cap) that no test exercises, with a percentage per file and in total.
    #[arg(long)]
    pub coverage: bool,
    /// Fail (exit 1) when the total coverage is below N percent (0-100). Implies --coverage.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_coverage: Option<u8>,
}

/// One test block's result and how long it took.
pub struct Ran {
    pub result: TestResult,
    pub duration: Duration,
}

/// What happened to one policy file.
pub enum Outcome {
    /// It could not be read; the message says why.
    Unreadable { path: PathBuf, message: String },
    /// It does not check: its tests were not run.
    NotChecked {
        file: SourceFile,
        diagnostics: Vec<Diagnostic>,
    },
    /// Its tests ran. `set`: what the check across files found about it.
    Ran {
        file: SourceFile,
        policy: Box<Policy>,
        set: Vec<Diagnostic>,
        tests: Vec<Ran>,
        coverage: Option<Coverage>,
    },
}

/// Every file's outcome, in the order given, and the totals the exit code depends on.
pub struct Report {
    pub outcomes: Vec<Outcome>,
    pub passed: usize,
    /// Tests with a mismatching expectation.
    pub failed: usize,
    /// Tests that could not run (the simulation failed).
    pub errored: usize,
    /// Files whose tests were not run (unreadable, or with errors).
    pub broken: usize,
    pub set_errors: usize,
    pub io_failed: bool,
    /// Covered items and items over every file that ran (with `--coverage`).
    pub coverage: Option<(usize, usize)>,
}

impl Report {
    pub fn tests(&self) -> usize {
        self.passed + self.failed + self.errored
    }
}

/// Load, check (alone and as sets) and run every file.
fn run_files(files: &[PathBuf], coverage: bool) -> Report {
    let mut report = Report {
        outcomes: Vec::new(),
        passed: 0,
        failed: 0,
        errored: 0,
        broken: 0,
        set_errors: 0,
        io_failed: false,
        coverage: coverage.then_some((0, 0)),
    };
    // Every file first: the set check needs all the files of a seller (they can overwrite each
    // other's seller SKUs even when each passes its own tests).
    let mut loaded: Vec<(SourceFile, Checked)> = Vec::new();
    let mut order: Vec<Result<usize, (PathBuf, String)>> = Vec::new();
    for path in files {
        match crate::check::load(path) {
            Ok(x) => {
                order.push(Ok(loaded.len()));
                loaded.push(x);
            }
            Err(e) => order.push(Err((path.clone(), e.to_string()))),
        }
    }
    let set = crate::check::set::check_loaded(&loaded);
    // Taken out one by one, in the order the files were given.
    let mut slots: Vec<Option<_>> = loaded.into_iter().zip(set).map(Some).collect();
    for entry in order {
        let i = match entry {
            Ok(i) => i,
            Err((path, message)) => {
                report.broken += 1;
                report.io_failed = true;
                report.outcomes.push(Outcome::Unreadable { path, message });
                continue;
            }
        };
        let Some(((file, checked), set)) = slots[i].take() else {
            continue;
        };
        let Some(policy) = checked.policy else {
            report.broken += 1;
            report.outcomes.push(Outcome::NotChecked {
                file,
                diagnostics: checked.diagnostics,
            });
            continue;
        };
        // Reported beside the tests, which still run: they show what each file computes.
        report.set_errors += set.iter().filter(|d| d.is_error()).count();
        let mut cov = coverage.then(|| Coverage::of(&policy));
        let mut tests = Vec::with_capacity(policy.tests.len());
        for case in &policy.tests {
            let start = Instant::now();
            let result = match cov.as_mut() {
                Some(c) => run_test_covered(&policy, case, Some(c)),
                None => run_test(&policy, case),
            };
            let duration = start.elapsed();
            if result.passed() {
                report.passed += 1;
            } else if result.error.is_some() {
                report.errored += 1;
            } else {
                report.failed += 1;
            }
            tests.push(Ran { result, duration });
        }
        if let (Some(c), Some((covered, total))) = (&cov, report.coverage.as_mut()) {
            *covered += c.covered();
            *total += c.total();
        }
        report.outcomes.push(Outcome::Ran {
            file,
            policy: Box::new(policy),
            set,
            tests,
            coverage: cov,
        });
    }
    report
}

fn print_result(name: &str, text: &str, index: &LineIndex, r: &TestResult) {
    let (line, _) = index.line_col(text, r.span.start);
    if r.passed() {
        println!("  ok    {} ({name}:{line})", r.name);
        return;
    }
    println!("  FAIL  {} ({name}:{line})", r.name);
    if let Some(e) = &r.error {
        for l in e.lines() {
            println!("        {l}");
        }
    }
    for m in &r.mismatches {
        let (l, _) = index.line_col(text, m.span.start);
        let show = |q: Option<u64>| q.map_or("no offer".to_string(), |q| q.to_string());
        println!("        expect {} (line {l})", m.expect);
        println!("        - expected: {}", show(m.expected));
        println!("        + actual:   {}", show(m.actual));
        if let Some(d) = &m.detail {
            println!("          ({d})");
        }
    }
}

/// `3 passed, 1 failed, 1 file not run, …`: the last line of the human output.
pub fn summary_line(r: &Report) -> String {
    // Tests that could not run are failures to a reader of this line, as they always were.
    let (passed, failed, broken, set_errors) =
        (r.passed, r.failed + r.errored, r.broken, r.set_errors);
    format!(
        "{passed} passed, {failed} failed{}{}",
        if broken > 0 {
            format!(
                ", {broken} file{} not run",
                if broken == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        },
        if set_errors > 0 {
            format!(
                ", {set_errors} error{} across files (one seller's files overwrite each other)",
                if set_errors == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    )
}

/// `75.0%`: rounded down to a tenth, so 99.95% never reads as 100%. No items: 100%.
pub fn percent(covered: usize, total: usize) -> f64 {
    if total == 0 {
        return 100.0;
    }
    ((covered as u128 * 1000) / total as u128) as f64 / 10.0
}

fn print_human(report: &Report) {
    let color = want_color(std::io::stderr().is_terminal());
    // Unreadable files are reported first, as they are found before anything runs.
    for o in &report.outcomes {
        if let Outcome::Unreadable { message, .. } = o {
            eprintln!("{:?}", super::codes::report::policy_path(message));
        }
    }
    for o in &report.outcomes {
        match o {
            Outcome::Unreadable { .. } => {}
            Outcome::NotChecked { file, diagnostics } => {
                eprint!("{}", human_all(file, diagnostics, color));
                eprintln!(
                    "error: {} does not check; its tests were not run",
                    file.name
                );
            }
            Outcome::Ran {
                file,
                set,
                tests,
                policy,
                ..
            } => {
                if !set.is_empty() {
                    eprint!("{}", human_all(file, set, color));
                }
                println!("{}", file.name);
                if policy.tests.is_empty() {
                    println!("  (no tests)");
                    continue;
                }
                let index = LineIndex::new(&file.text);
                for t in tests {
                    print_result(&file.name, &file.text, &index, &t.result);
                }
            }
        }
    }
    println!("\n{}", summary_line(report));
    if let Some((covered, total)) = report.coverage {
        print_human_coverage(report, covered, total);
    }
}

/// The coverage section: per file its percentage and what is not covered, then the total.
fn print_human_coverage(report: &Report, covered: usize, total: usize) {
    println!("\ncoverage (rules, publish targets and steps the tests exercise):");
    for o in &report.outcomes {
        let Outcome::Ran {
            file,
            policy,
            coverage: Some(cov),
            ..
        } = o
        else {
            continue;
        };
        let index = LineIndex::new(&file.text);
        println!(
            "  {}: {} of {} ({:.1}%)",
            file.name,
            cov.covered(),
            cov.total(),
            percent(cov.covered(), cov.total())
        );
        for it in cov.items.iter().filter(|i| !i.covered) {
            let (line, _) = index.line_col(&file.text, it.span.start);
            println!(
                "    not covered: {} (line {line}): {}",
                Coverage::describe(policy, it),
                why_uncovered(it.kind)
            );
        }
    }
    println!(
        "total coverage: {covered} of {total} ({:.1}%)",
        percent(covered, total)
    );
}

/// What "not covered" means for an item, in a few words.
pub fn why_uncovered(kind: crate::sim::coverage::ItemKind) -> &'static str {
    use crate::sim::coverage::ItemKind;
    match kind {
        ItemKind::Rule => "no test has a SKU it decides",
        ItemKind::Target => "no test made an offer through it",
        ItemKind::Step => "never changed a quantity in a test",
    }
}

/// The uncovered items named in `--min-coverage`'s message: the first few, then how many more.
fn uncovered_names(report: &Report, few: usize) -> (Vec<String>, usize) {
    let mut all = Vec::new();
    for o in &report.outcomes {
        if let Outcome::Ran {
            file,
            policy,
            coverage: Some(cov),
            ..
        } = o
        {
            let index = LineIndex::new(&file.text);
            for it in cov.items.iter().filter(|i| !i.covered) {
                let (line, _) = index.line_col(&file.text, it.span.start);
                all.push(format!(
                    "{} ({}:{line})",
                    Coverage::describe(policy, it),
                    file.name
                ));
            }
        }
    }
    let more = all.len().saturating_sub(few);
    all.truncate(few);
    (all, more)
}

pub fn run(args: TestArgs) -> ExitCode {
    let files = match super::check::collect(&args.paths) {
        Ok(f) => f,
        Err(msg) => return super::fail(super::codes::report::policy_path(msg), Exit::Usage),
    };
    let coverage = args.coverage || args.min_coverage.is_some();
    let report = run_files(&files, coverage);
    match args.format {
        Format::Human => print_human(&report),
        Format::Json => {
            let doc = super::test_out::json(&report, args.min_coverage);
            match serde_json::to_string_pretty(&doc) {
                Ok(s) => println!("{s}"),
                Err(e) => {
                    return super::fail(super::codes::report::output("JSON", e), Exit::Usage);
                }
            }
            eprintln!("{}", summary_line(&report));
        }
        Format::Junit => {
            print!("{}", super::test_out::junit(&report));
            eprintln!("{}", summary_line(&report));
        }
    }
    let below = match (args.min_coverage, report.coverage) {
        // Exact: covered / total < N / 100, no rounding.
        (Some(min), Some((covered, total))) => {
            (covered as u128) * 100 < u128::from(min) * total as u128
        }
        _ => false,
    };
    if below && let (Some(min), Some((covered, total))) = (args.min_coverage, report.coverage) {
        let (names, more) = uncovered_names(&report, 5);
        // The items not covered are part of the message: the help says what to do with them.
        let mut message = format!(
            "test coverage {:.1}% ({covered} of {total}) is below --min-coverage {min}%",
            percent(covered, total)
        );
        if !names.is_empty() {
            message.push_str("\nnot covered:");
            for n in &names {
                message.push_str(&format!("\n  {n}"));
            }
            if more > 0 {
                message.push_str(&format!(
                    "\n  … and {more} more (`allot test --coverage` lists them all)"
                ));
            }
        }
        eprintln!(
            "{:?}",
            miette::miette!(
                code = super::codes::TEST_MIN_COVERAGE,
                help = "add a `test` block whose stock exercises them: a SKU each rule decides, and stock that makes each buffer, share, pack, threshold and cap change the quantity",
                "{message}"
            )
        );
    }
    if report.io_failed {
        ExitCode::from(Exit::Usage)
    } else if report.failed + report.errored > 0
        || report.broken > 0
        || report.set_errors > 0
        || below
    {
        ExitCode::from(Exit::Failed)
    } else {
        ExitCode::from(Exit::Ok)
    }
}
