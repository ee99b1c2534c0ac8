//! The command line: clap definitions, one file per subcommand. Each subcommand is thin: parse
//! arguments, call the stages, render, and return the exit code. No stage prints or exits.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub mod apply;
pub mod check;
pub mod codes;
pub mod diff;
pub mod explain;
pub mod fmt;
pub mod init;
pub mod marketplaces;
pub mod plan;
pub mod plan_out;
pub mod sandbox;
pub mod show;
pub mod sources;
pub mod test;
pub mod test_out;

#[derive(Debug, Parser)]
#[command(
    name = "allot",
    version,
    about = "Policy-as-code for the stock you publish to each Amazon marketplace and location",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check policy files (or folders of *.allot) for errors and Amazon's traps.
    Check(check::CheckArgs),
    /// Format policy files in the one canonical layout.
    Fmt(fmt::FmtArgs),
    /// Write a starter policy from your inventory (and current listings): its locations, one
    /// rule per SKU family, and tests that pass.
    Init(init::InitArgs),
    /// Print the built-in marketplace table.
    Marketplaces(marketplaces::MarketplacesArgs),
    /// Dry run: what every offer will show, what changes, and how much could be oversold.
    Plan(plan::PlanArgs),
    /// What a policy change does: the offers whose published quantity differs between two
    /// policies (e.g. the base branch's and a pull request's) on the same inventory.
    Diff(diff::DiffArgs),
    /// Trace one inventory SKU through the policy.
    Explain(explain::ExplainArgs),
    /// Run the `test` blocks of policy files.
    Test(test::TestArgs),
    /// Print a saved plan as the preview would, or its raw requests.
    Show(show::ShowArgs),
    /// Send a saved plan to the SP-API (or to `allot sandbox`).
    Apply(apply::ApplyArgs),
    /// Run a local SP-API sandbox on loopback for rehearsals and tests.
    Sandbox(sandbox::SandboxArgs),
    /// List the seller's supply sources; with policies, check their `supply_source`s.
    Sources(sources::SourcesArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell or elvish) to stdout.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) to stdout: `allot man > allot.1`.
    Man,
    /// Run the language server on stdin/stdout (for editors: diagnostics, formatting, hover,
    /// go to definition, completion).
    Lsp,
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `allot completions SHELL`: e.g. `allot completions bash > ~/.local/share/bash-completion/completions/allot`.
fn completions(args: CompletionsArgs) -> ExitCode {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "allot", &mut std::io::stdout());
    ExitCode::from(Exit::Ok)
}

/// `allot man`: the manual page of every command, as roff.
fn man() -> ExitCode {
    use clap::CommandFactory;
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut out) {
        return fail(codes::report::output("the manual page", e), Exit::Usage);
    }
    use std::io::Write as _;
    match std::io::stdout().write_all(&out) {
        Ok(()) => ExitCode::from(Exit::Ok),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::from(Exit::Ok),
        Err(e) => fail(codes::report::output("the manual page", e), Exit::Usage),
    }
}

pub fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    match cli.command {
        Command::Check(a) => check::run(a),
        Command::Fmt(a) => fmt::run(a),
        Command::Init(a) => init::run(a),
        Command::Marketplaces(a) => marketplaces::run(a),
        Command::Plan(a) => plan::run(a),
        Command::Diff(a) => diff::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Test(a) => test::run(a),
        Command::Show(a) => show::run(a),
        Command::Apply(a) => apply::run(a),
        Command::Sandbox(a) => sandbox::run(a),
        Command::Sources(a) => sources::run(a),
        Command::Completions(a) => completions(a),
        Command::Man => man(),
        Command::Lsp => crate::lsp::run(),
    }
}

/// A command line clap refuses: exit 2 (usage error), except for `allot plan` and `allot diff`,
/// whose 2 means "changes present" under `--detailed-exitcode` (as Terraform's): there any error
/// is 1, so a mistyped flag in CI is never read as "there is something to apply".
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    let _ = e.print();
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::from(Exit::Ok),
        _ if matches!(std::env::args().nth(1).as_deref(), Some("plan" | "diff")) => {
            ExitCode::from(Exit::Failed)
        }
        _ => ExitCode::from(Exit::Usage),
    }
}

/// Rust ignores SIGPIPE, so printing to a reader that went away (`allot … | head`) panics in
/// `println!`. That is no failure of allot's: stop quietly instead of reporting a panic.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let p = info.payload();
        let msg = p
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| p.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("failed printing to std") && msg.contains("Broken pipe") {
            std::process::exit(1);
        }
        default(info)
    }));
}

/// Print an error report to stderr and return `exit`. The one place the CLI prints failures:
/// under `--error-format json|github|sarif` it also prints the error as a record on stdout.
pub fn fail(report: miette::Report, exit: Exit) -> ExitCode {
    fail_about(report, exit, None)
}

/// [`fail`] for an error about one input file (a policy, the current listings, the plan):
/// the record's `file`.
pub fn fail_about(report: miette::Report, exit: Exit, file: Option<&std::path::Path>) -> ExitCode {
    eprintln!("{report:?}");
    if let Some(record) = error_record(&report, file) {
        plan::report_records(errout::format(), &[record]);
    }
    exit.into()
}

/// A command's error as the record `--error-format` prints: its code, message and help (from
/// the report, so the texts are the human output's), about `file` or no file. None for a report
/// without a code.
pub fn error_record(
    report: &miette::Report,
    file: Option<&std::path::Path>,
) -> Option<crate::diag::JsonDiagnostic> {
    let code = report.code()?;
    let file = file.map_or(String::new(), |p| p.display().to_string());
    Some(crate::diag::JsonDiagnostic::unplaced(
        &file,
        &code.to_string(),
        crate::diag::Severity::Error,
        report.to_string(),
        report.help().map(|h| h.to_string()),
    ))
}

/// `--error-format`'s state for the run: the format asked for and what standard output holds.
/// One process runs one command, so the command sets them once and every `fail`, however deep,
/// sees them without each call site passing the format (none can be forgotten).
pub mod errout {
    use std::sync::atomic::{AtomicU8, Ordering};

    use super::plan::ErrorFormat;

    static FORMAT: AtomicU8 = AtomicU8::new(0);
    static STDOUT: AtomicU8 = AtomicU8::new(EMPTY);
    const EMPTY: u8 = 0;
    /// A table, a comment, a trace or a policy: records may follow it.
    const TEXT: u8 = 1;
    /// A JSON document of the command's own: no records go after it.
    const JSON: u8 = 2;
    /// The run's records document: there is one per run.
    const RECORDS: u8 = 3;

    /// The command's `--error-format`, set before anything can fail.
    pub fn set_format(f: ErrorFormat) {
        let n = match f {
            ErrorFormat::Human => 0,
            ErrorFormat::Json => 1,
            ErrorFormat::Github => 2,
            ErrorFormat::Sarif => 3,
        };
        FORMAT.store(n, Ordering::Relaxed);
    }

    /// The format set by [`set_format`] (human when none was).
    pub fn format() -> ErrorFormat {
        match FORMAT.load(Ordering::Relaxed) {
            1 => ErrorFormat::Json,
            2 => ErrorFormat::Github,
            3 => ErrorFormat::Sarif,
            _ => ErrorFormat::Human,
        }
    }

    /// The command is about to write its output to stdout (`json`: a JSON document).
    pub fn output_written(json: bool) {
        STDOUT.store(if json { JSON } else { TEXT }, Ordering::Relaxed);
    }

    /// Whether a records document may be printed now (none was, and stdout is not a JSON
    /// document of the command's); if so, it is counted as printed.
    pub fn take_records_turn() -> bool {
        let now = STDOUT.load(Ordering::Relaxed);
        if now == JSON || now == RECORDS {
            return false;
        }
        STDOUT.store(RECORDS, Ordering::Relaxed);
        true
    }
}

/// How a command ends: the one set of exit statuses every command picks from, so the numbers
/// docs/ci.md documents live in one place rather than as literals in each command. Two kinds
/// share the number 2 on purpose: `plan` and `diff` never report a usage error as 2 (their 2 is
/// `Changes` under `--detailed-exitcode`), the other commands never report changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// 0: done, nothing wrong (warnings allowed unless denied).
    Ok,
    /// 1: the command ran and found a problem (errors, a failing test, a file `fmt --check`
    /// would change, an operation not applied), or any error of `plan` and `diff`.
    Failed,
    /// 2: usage, I/O or configuration error, for every command but `plan` and `diff`.
    Usage,
    /// 2: `plan` or `diff` with `--detailed-exitcode`: there are changes (as Terraform's).
    Changes,
}

impl Exit {
    /// The process exit status.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Failed => 1,
            Exit::Usage | Exit::Changes => 2,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}
