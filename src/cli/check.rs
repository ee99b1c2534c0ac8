//! `allot check PATH...`: parse and check policy files; diagnostics to stderr (human) or one
//! JSON array to stdout. Exit 0 clean (warnings allowed), 1 errors (or warnings under
//! `--deny-warnings`), 2 usage or I/O error.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::Exit;
use crate::render::diagnostics::{github_annotations, human_all, json_records, want_color};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Rendered diagnostics with source snippets, on stderr.
    #[default]
    Human,
    /// One JSON array of diagnostic records on stdout.
    Json,
    /// GitHub Actions workflow commands on stdout (`::error file=…,line=…::…`): annotations on
    /// the pull request's diff. The summary still goes to stderr.
    Github,
    /// SARIF 2.1.0 on stdout, for code scanning (GitHub's `upload-sarif`). The summary still
    /// goes to stderr.
    Sarif,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Policy files, or folders searched recursively for `*.allot` files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Fail (exit 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// The policy files named by `paths`: files as given, folders searched recursively for
/// `*.allot` (sorted). An error names the path that is missing or holds no policy.
pub fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("no such file or folder: {}", p.display()),
            _ => format!("cannot read {}: {e}", p.display()),
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            walk(p, &mut found).map_err(|e| format!("cannot read folder {}: {e}", p.display()))?;
            if found.is_empty() {
                return Err(format!("no *.allot files under {}", p.display()));
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "allot") {
            out.push(path);
        }
    }
    Ok(())
}

fn plural(n: usize, one: &str) -> String {
    if n == 1 {
        format!("{n} {one}")
    } else {
        format!("{n} {one}s")
    }
}

/// `checked 2 files: 1 error, 0 warnings` (and `, 1 unreadable` when a file could not be read).
fn summary(files: usize, errors: usize, warnings: usize, unreadable: usize) -> String {
    let mut s = format!(
        "checked {}: {}, {}",
        plural(files, "file"),
        plural(errors, "error"),
        plural(warnings, "warning")
    );
    if unreadable > 0 {
        s.push_str(&format!(", {unreadable} unreadable"));
    }
    s
}

pub fn run(args: CheckArgs) -> ExitCode {
    let files = match collect(&args.paths) {
        Ok(f) => f,
        Err(msg) => return super::fail(super::codes::report::policy_path(msg), Exit::Usage),
    };
    let color = want_color(std::io::stderr().is_terminal());
    let (mut errors, mut warnings, mut unreadable) = (0usize, 0usize, 0usize);
    let mut records = Vec::new();
    // Every file first, then the set check (files of one seller overwrite each other's seller
    // SKUs), then each file's findings together.
    let mut loaded = Vec::new();
    let mut order: Vec<Result<usize, std::io::Error>> = Vec::new();
    for path in &files {
        match crate::check::load(path) {
            Ok(x) => {
                order.push(Ok(loaded.len()));
                loaded.push(x);
            }
            Err(e) => order.push(Err(e)),
        }
    }
    let mut set = crate::check::set::check_loaded(&loaded);
    for entry in order {
        let i = match entry {
            Ok(i) => i,
            Err(e) => {
                eprintln!("{:?}", super::codes::report::policy_path(e));
                unreadable += 1;
                continue;
            }
        };
        let (file, checked) = &loaded[i];
        let mut diagnostics = checked.diagnostics.clone();
        diagnostics.append(&mut set[i]);
        let errs = diagnostics.iter().filter(|d| d.is_error()).count();
        errors += errs;
        warnings += diagnostics.len() - errs;
        match args.format {
            Format::Human => eprint!("{}", human_all(file, &diagnostics, color)),
            Format::Json | Format::Github | Format::Sarif => {
                records.extend(json_records(file, &diagnostics))
            }
        }
    }
    match args.format {
        Format::Github => {
            print!("{}", github_annotations(&records));
            eprintln!("{}", summary(files.len(), errors, warnings, unreadable))
        }
        Format::Human => eprintln!("{}", summary(files.len(), errors, warnings, unreadable)),
        Format::Sarif => {
            match serde_json::to_string_pretty(&crate::render::diagnostics::sarif(&records)) {
                Ok(s) => println!("{s}"),
                Err(e) => {
                    return super::fail(super::codes::report::output("SARIF", e), Exit::Usage);
                }
            }
            eprintln!("{}", summary(files.len(), errors, warnings, unreadable))
        }
        Format::Json => match serde_json::to_string_pretty(&records) {
            Ok(s) => println!("{s}"),
            Err(e) => return super::fail(super::codes::report::output("JSON", e), Exit::Usage),
        },
    }
    if unreadable > 0 {
        ExitCode::from(Exit::Usage)
    } else if errors > 0 || (args.deny_warnings && warnings > 0) {
        ExitCode::from(Exit::Failed)
    } else {
        ExitCode::from(Exit::Ok)
    }
}
