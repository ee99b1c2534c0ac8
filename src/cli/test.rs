//! `allot test PATH...`: run the `test` blocks of policy files through the engine. Prints each
//! test's result, with expected and actual values for failures. The files are also checked as
//! sets (`check::set`: one seller's files must not write one seller SKU). Exit 0 all pass, 1 any
//! fails (or a policy has errors, alone or across files), 2 usage or I/O error (as `allot check`).

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
    // Every file first: the set check needs all the files of a seller (they can overwrite each
    // other's seller SKUs even when each passes its own tests).
    let mut loaded = Vec::new();
    for path in &files {
        match crate::check::load(path) {
            Ok(x) => loaded.push(x),
            Err(e) => {
                eprintln!("error: {e}");
                broken += 1;
                io_failed = true;
            }
        }
    }
    let set = crate::check::set::check_loaded(&loaded);
    let mut set_errors = 0usize;
    for ((file, checked), set) in loaded.into_iter().zip(set) {
        let Some(policy) = checked.policy else {
            eprint!("{}", human_all(&file, &checked.diagnostics, color));
            eprintln!(
                "error: {} does not check; its tests were not run",
                file.name
            );
            broken += 1;
            continue;
        };
        // Reported beside the tests, which still run: they show what each file computes.
        if !set.is_empty() {
            eprint!("{}", human_all(&file, &set, color));
            set_errors += set.iter().filter(|d| d.is_error()).count();
        }
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
        "\n{passed} passed, {failed} failed{}{}",
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
    );
    if io_failed {
        ExitCode::from(2)
    } else if failed > 0 || broken > 0 || set_errors > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
