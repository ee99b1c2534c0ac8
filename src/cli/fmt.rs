//! `allot fmt [--check] PATH...`: rewrite policy files in the canonical layout.
//!
//! Exit codes: 0 all formatted (or, with `--check`, nothing would change); 1 a file does not
//! parse, or `--check` found files that would change (listed on stdout); 2 an I/O error.

use std::fs;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::Exit;
use super::codes::report::policy_path;
use crate::render::diagnostics::{SourceFile, human_all, want_color};

#[derive(Debug, Args)]
pub struct FmtArgs {
    /// Write nothing; list the files that would change and exit 1 if there are any.
    #[arg(long)]
    pub check: bool,
    /// Policy files, or folders searched recursively for `*.allot`; `-` reads standard input
    /// and writes the formatted policy to standard output (for editors).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Default)]
struct Outcome {
    io_error: bool,
    bad_file: bool,
    would_change: bool,
}

pub fn run(args: FmtArgs) -> ExitCode {
    let mut outcome = Outcome::default();
    let mut files = Vec::new();
    for p in &args.paths {
        let before = files.len();
        if let Err(e) = collect(p, &mut files) {
            report(policy_path(format!("cannot read {}: {e}", p.display())));
            outcome.io_error = true;
        } else if files.len() == before {
            // As `allot check`: a folder without policies is a wrong path, not "all formatted".
            report(policy_path(format!(
                "no *.allot files under {}",
                p.display()
            )));
            outcome.io_error = true;
        }
    }
    let color = want_color(std::io::stderr().is_terminal());
    for f in &files {
        if f.as_os_str() == "-" {
            format_stdin(args.check, color, &mut outcome);
        } else {
            format_file(f, args.check, color, &mut outcome);
        }
    }
    if outcome.io_error {
        ExitCode::from(Exit::Usage)
    } else if outcome.bad_file || outcome.would_change {
        ExitCode::from(Exit::Failed)
    } else {
        ExitCode::from(Exit::Ok)
    }
}

/// A file as given, or every `*.allot` under a folder (sorted; hidden entries and symlinked
/// folders skipped).
fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.as_os_str() == "-" {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let meta = fs::metadata(path)?;
    if !meta.is_dir() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(path)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for e in entries {
        let hidden = e
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        let meta = fs::symlink_metadata(&e)?;
        if meta.is_dir() {
            collect(&e, out)?;
        } else if e.extension().is_some_and(|x| x == "allot") {
            out.push(e);
        }
    }
    Ok(())
}

/// An error about one file, printed; `fmt` goes on with the others.
fn report(r: miette::Report) {
    eprintln!("{r:?}");
}

fn format_file(path: &Path, check: bool, color: bool, outcome: &mut Outcome) {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            report(policy_path(format!("cannot read {}: {e}", path.display())));
            outcome.io_error = true;
            return;
        }
    };
    let Ok(text) = String::from_utf8(bytes) else {
        report(policy_path(format!(
            "{} is not UTF-8 text; policy files are UTF-8",
            path.display()
        )));
        outcome.bad_file = true;
        return;
    };
    let formatted = match crate::fmt::format(&text) {
        Ok(f) => f,
        Err(diags) => {
            let file = SourceFile {
                name: path.display().to_string(),
                text,
            };
            eprint!("{}", human_all(&file, &diags, color));
            outcome.bad_file = true;
            return;
        }
    };
    if formatted == text {
        return;
    }
    if check {
        println!("{}", path.display());
        outcome.would_change = true;
        return;
    }
    if let Err(e) = write_atomically(path, &formatted) {
        report(super::codes::report::output(&path.display().to_string(), e));
        outcome.io_error = true;
    }
}

/// `-`: standard input to standard output. With `--check`, nothing is printed but the exit code.
fn format_stdin(check: bool, color: bool, outcome: &mut Outcome) {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes) {
        report(miette::miette!(
            code = super::codes::STDIN,
            help = "pipe a whole policy in, or give its file",
            "cannot read standard input: {e}"
        ));
        outcome.io_error = true;
        return;
    }
    let Ok(text) = String::from_utf8(bytes) else {
        report(miette::miette!(
            code = super::codes::STDIN,
            help = "policy files are UTF-8: convert the text (e.g. `iconv -t UTF-8`) before piping it in",
            "standard input is not UTF-8 text"
        ));
        outcome.bad_file = true;
        return;
    };
    match crate::fmt::format(&text) {
        Ok(formatted) if check => {
            if formatted != text {
                println!("-");
                outcome.would_change = true;
            }
        }
        Ok(formatted) => {
            let mut out = std::io::stdout().lock();
            if out
                .write_all(formatted.as_bytes())
                .and_then(|()| out.flush())
                .is_err()
            {
                outcome.io_error = true;
            }
        }
        Err(diags) => {
            let file = SourceFile {
                name: "<stdin>".into(),
                text,
            };
            eprint!("{}", human_all(&file, &diags, color));
            outcome.bad_file = true;
        }
    }
}

/// Write beside the file, then rename over it: a crash never leaves half a policy.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.fmt-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        if let Ok(meta) = fs::metadata(path) {
            fs::set_permissions(&tmp, meta.permissions())?;
        }
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}
