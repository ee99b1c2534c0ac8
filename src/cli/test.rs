//! `allot test PATH...`: run the `test` blocks of policy files through the engine. Prints each
//! test's result, with expected and actual values for failures. Exit 0 all pass, 1 any fails
//! (or a policy has errors), 2 usage or I/O error (as `allot check`).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::render::diagnostics::{human_all, want_color};
use crate::sim::testrun::{TestResult, run_all};
use crate::span::LineIndex;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Policy files, or folders searched recursively for `*.allot` files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
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

pub fn run(args: TestArgs) -> ExitCode {
    let files = match super::check::collect(&args.paths) {
        Ok(f) => f,
        Err(msg) => return super::fail(miette::miette!("{msg}"), 2),
    };
    let color = want_color(std::io::stderr().is_terminal());
    let (mut passed, mut failed, mut broken) = (0usize, 0usize, 0usize);
    let mut io_failed = false;
    for path in &files {
        let (file, checked) = match crate::check::load(path) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {e}");
                broken += 1;
                io_failed = true;
                continue;
            }
        };
        let Some(policy) = checked.policy else {
            eprint!("{}", human_all(&file, &checked.diagnostics, color));
            eprintln!(
                "error: {} does not check; its tests were not run",
                file.name
            );
            broken += 1;
            continue;
        };
        println!("{}", file.name);
        if policy.tests.is_empty() {
            println!("  (no tests)");
            continue;
        }
        let index = LineIndex::new(&file.text);
        for r in run_all(&policy) {
            print_result(&file.name, &file.text, &index, &r);
            if r.passed() {
                passed += 1;
            } else {
                failed += 1;
            }
        }
    }
    println!(
        "\n{passed} passed, {failed} failed{}",
        if broken > 0 {
            format!(
                ", {broken} file{} not run",
                if broken == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    );
    if io_failed {
        ExitCode::from(2)
    } else if failed > 0 || broken > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
