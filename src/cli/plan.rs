//! `allot plan POLICY... --inventory FILE [--current FILE]`: the dry run. Exit 0 success (with
//! `--detailed-exitcode`: 0 no changes, 2 changes), 1 error (bad policy, inventory, I/O).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::{Exit, codes};
use crate::inventory::{self, Stock};
use crate::listings;
use crate::model::{Current, Policy};
use crate::render::diagnostics::{SourceFile, human_all, json_records, want_color};
use crate::render::preview;
use crate::sim::{self, Preview};
use crate::spapi::live::LiveRead;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A readable terminal table of the offers that change, then a summary.
    #[default]
    Table,
    /// A pull-request comment: summary first, changes in a collapsible section.
    Markdown,
    /// Everything, with provenance and holds (`format_version` 1.2; see docs/inventory.md).
    Json,
}

/// The inputs every simulation command reads besides its policies.
#[derive(Debug, Args)]
pub struct InputArgs {
    /// The inventory snapshot (CSV, Shopify CSV export, JSON or YAML); `-` reads it from
    /// standard input. Give it more than once to read several files as one inventory.
    #[arg(long, value_name = "FILE", required = true)]
    pub inventory: Vec<PathBuf>,
    /// The inventory's format, if not told by its extension and header (applies to every
    /// `--inventory`).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub inventory_format: Option<inventory::Format>,
    /// What Amazon shows now (JSON, YAML, CSV or Amazon's All Listings report), or `live` to
    /// read it from the SP-API (`allot plan` only; `./live` for a file named live).
    #[arg(long, value_name = "FILE|live")]
    pub current: Option<PathBuf>,
    /// The current listings' format, if not told by the extension and header.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub current_format: Option<listings::Format>,
    /// The marketplace of current-listings rows that name none (an All Listings report is
    /// downloaded for one marketplace and does not say which), e.g. `US`.
    #[arg(long, value_name = "CODE")]
    pub current_marketplace: Option<String>,
    /// Also write offers whose seller SKU is not listed on Amazon (or not in that
    /// marketplace). Amazon accepts such a write and creates an incomplete, unbuyable
    /// offer-only listing; without this flag those offers are listed and not written.
    #[arg(long)]
    pub allow_new: bool,
    /// How an error (in the inventory, the current listings, the simulation, or of the command
    /// itself: a flag, a file, the credentials) is reported besides the text on standard error:
    /// `json`, `github` or `sarif` also print it on standard output as `allot check --format`
    /// prints diagnostics (code, file, line), for CI to match on its code; a policy that does
    /// not check is reported as `allot check --format` reports it. One document per run, never
    /// added to a `--format json` output (docs/ci.md).
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
}

/// `--error-format`: the formats of `allot check`, for errors found after the check and the
/// command's own.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ErrorFormat {
    /// The text on standard error only.
    #[default]
    Human,
    /// Also a JSON array of `allot check --format json`'s records on standard output.
    Json,
    /// Also GitHub workflow commands (annotations) on standard output.
    Github,
    /// Also SARIF 2.1.0 on standard output.
    Sarif,
}

/// An error already printed as text, also printed as records in the machine format asked for:
/// the same renderers as `allot check`'s, so one code means one thing in every output. At most
/// one records document per run, and none after a JSON document of the command's own
/// (`cli::errout`).
pub fn report_records(format: ErrorFormat, records: &[crate::diag::JsonDiagnostic]) {
    use crate::render::diagnostics::{github_annotations, sarif};
    if format == ErrorFormat::Human || !super::errout::take_records_turn() {
        return;
    }
    let text = match format {
        ErrorFormat::Human => return,
        ErrorFormat::Json => serde_json::to_string_pretty(records).map(|t| t + "\n"),
        ErrorFormat::Sarif => serde_json::to_string_pretty(&sarif(records)).map(|t| t + "\n"),
        ErrorFormat::Github => Ok(github_annotations(records)),
    };
    match text {
        // Not `print!`: a stdout that cannot be written (the error may be just that) must not
        // panic; the text on standard error already says what went wrong.
        Ok(t) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(t.as_bytes()).and_then(|()| out.flush());
        }
        Err(e) => eprintln!("error: cannot write the error records: {e}"),
    }
}

impl InputArgs {
    /// The run's choices for the simulator.
    pub fn sim_options(&self) -> sim::Options {
        sim::Options {
            allow_new: self.allow_new,
            ..sim::Options::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The policy file, or several policies of one seller (files or folders of `*.allot`):
    /// planned together as one set, into one preview and one plan.
    #[arg(value_name = "POLICY", required = true)]
    pub policies: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Exit 0 when nothing changes and 2 when something does (as Terraform); 1 stays error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Fail (exit 1, no plan saved) when the policies or the preview have any warning: for CI,
    /// where a warning nobody reads is a risk nobody took on purpose.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Markdown only: the most characters the comment may have (GitHub allows 65,536).
    #[arg(long, value_name = "N", default_value_t = 60_000)]
    pub max_chars: usize,
    #[command(flatten)]
    pub save: super::plan_out::SaveArgs,
    /// How to reach the SP-API for `--current live` (same flags as `allot apply`).
    #[command(flatten, next_help_heading = "SP-API (for --current live)")]
    pub conn: super::apply::ConnectionArgs,
    #[command(flatten, next_help_heading = "SP-API (for --current live)")]
    pub live: LiveArgs,
}

/// How `--current live` reads.
#[derive(Debug, Args)]
pub struct LiveArgs {
    /// `items`: getListingsItem per seller SKU and marketplace (5 a second); `report`: one All
    /// Listings report per marketplace (minutes, whatever the size); `auto`: the report above
    /// 1,500 reads. Seller SKUs with location quantities are always read item by item.
    #[arg(long, value_enum, value_name = "HOW", default_value_t = LiveRead::Auto)]
    pub live_read: LiveRead,
    /// Reuse an All Listings report already made within this long instead of requesting
    /// another (0s: never; one still being made is always waited for).
    #[arg(long, value_name = "AGE", default_value = "5m", value_parser = super::apply::parse_duration)]
    pub report_reuse: std::time::Duration,
    /// How long to wait for Amazon to make a report (running again later waits for the same
    /// report).
    #[arg(long, value_name = "AGE", default_value = "1h", value_parser = super::apply::parse_duration)]
    pub report_timeout: std::time::Duration,
    /// Do not check the policies' `supply_source`s with the Supply Sources API first (e.g. the
    /// app lacks access to it). Without the check, a location quantity written to a supply
    /// source the seller does not have is refused by Amazon only at apply.
    #[arg(long)]
    pub skip_source_check: bool,
}

/// `--current live`: read the current listings from the SP-API instead of a file.
pub fn is_live(current: Option<&Path>) -> bool {
    current.is_some_and(|p| p.as_os_str() == "live")
}

/// One policy file of the run, checked, with the inventory read against its locations.
pub struct Member {
    pub file: SourceFile,
    pub policy: Policy,
    pub stock: Stock,
}

/// Everything read from the command line's files, checked. `plan` and `explain` hold it until
/// they exit, and then do not drop it (`ManuallyDrop`, whatever the way out): freeing a million
/// seller SKUs' listings one allocation at a time took a fifth of `allot explain` against a
/// 1M-row report, and the operating system takes the memory back at once. Nothing in it has a
/// destructor that matters (no file, no buffer to flush).
pub struct Loaded {
    /// One or more policies of one seller, in the order given.
    pub members: Vec<Member>,
    pub current: Option<Current>,
    /// Notes from reading the current listings (rows not read as quantities).
    pub current_warnings: Vec<String>,
    /// The policies' check warnings, one line each (`file:line: message [code]`), for the
    /// formats read away from the terminal (a pull-request comment, JSON).
    pub policy_warnings: Vec<String>,
    pub options: sim::Options,
    /// How the current listings were read live (`--current live`), for the preview's note.
    pub current_source: Option<String>,
    /// The inventory read from standard input (`--inventory -`), kept for the plan's digest.
    pub stdin: Option<Vec<u8>>,
    /// `--error-format`, for errors of the simulation.
    pub error_format: ErrorFormat,
}

impl Loaded {
    /// The policy files in the order planned, as a simulation error's places index them.
    pub fn policy_files(&self) -> Vec<&SourceFile> {
        self.members.iter().map(|m| &m.file).collect()
    }

    /// A simulation error printed (the text on stderr, the records asked for), at its places in
    /// `files`; returns the exit code.
    fn sim_failed(&self, e: &sim::SimError, files: &[&SourceFile]) -> ExitCode {
        eprint!("{}", e.human(files));
        report_records(self.error_format, &e.records(files));
        ExitCode::from(Exit::Failed)
    }
}

/// `--inventory -`: standard input.
pub fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

/// Standard input, read whole if an `--inventory` is `-` (at most one may be). Err is the
/// exit code, the error already printed.
fn read_stdin(args: &InputArgs) -> Result<Option<Vec<u8>>, ExitCode> {
    match args.inventory.iter().filter(|p| is_stdin(p)).count() {
        0 => Ok(None),
        1 => {
            let mut stdin = std::io::stdin().lock();
            if stdin.is_terminal() {
                return Err(super::fail(
                    miette::miette!(
                        code = codes::STDIN,
                        help = "pipe the inventory in, e.g. `export-stock | allot plan POLICY --inventory -`, or give its file",
                        "--inventory - reads the inventory from standard input, but standard input is a terminal"
                    ),
                    Exit::Failed,
                ));
            }
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut stdin, &mut bytes).map_err(|e| {
                super::fail(
                    miette::miette!(
                        code = codes::STDIN,
                        help = "pipe the whole inventory in, or save it to a file and give --inventory FILE",
                        "--inventory -: cannot read standard input: {e}"
                    ),
                    Exit::Failed,
                )
            })?;
            Ok(Some(bytes))
        }
        _ => Err(super::fail(
            miette::miette!(
                code = codes::STDIN,
                help = "give `-` once; name the other inventories by their files (`./-` for a file named `-`)",
                "--inventory - (standard input) is given more than once: standard input can be read only once"
            ),
            Exit::Failed,
        )),
    }
}

/// Policy files that checked clean, with their sources.
pub type CheckedPolicies = Vec<(SourceFile, Policy)>;

/// Policies that do not check: the exit code (1, the text already on stderr) and every file's
/// diagnostics as `allot check --format json` records them, for `--error-format`.
pub struct PolicyFailure {
    pub exit: ExitCode,
    pub records: Vec<crate::diag::JsonDiagnostic>,
}

/// Read and check the policies as one set (a seller SKU written by two of them is an error, as
/// inside one file); diagnostics go to stderr, and, when a policy does not check, to stdout
/// too in the `--error-format` asked for (the records `allot check --format` prints). Err
/// carries the exit code (1). Also returns the warnings as one-liners.
pub fn load_policies(
    paths: &[PathBuf],
    format: ErrorFormat,
) -> Result<(CheckedPolicies, Vec<String>), ExitCode> {
    check_policies(paths).map_err(|f| {
        if !f.records.is_empty() {
            report_records(format, &f.records);
        }
        f.exit
    })
}

/// [`load_policies`] without the records printed: a command that checks several sets (`diff`)
/// prints them once, together.
pub fn check_policies(paths: &[PathBuf]) -> Result<(CheckedPolicies, Vec<String>), PolicyFailure> {
    // Printed as text now; its record goes with the others (`diff` prints both sides' once).
    let path_failure = |r: miette::Report| {
        eprintln!("{r:?}");
        PolicyFailure {
            exit: ExitCode::from(Exit::Failed),
            records: super::error_record(&r, None).into_iter().collect(),
        }
    };
    let files =
        super::check::collect(paths).map_err(|m| path_failure(codes::report::policy_path(m)))?;
    let checked = crate::check::set::check_files(&files)
        .map_err(|e| path_failure(codes::report::policy_path(e)))?;
    let color = want_color(std::io::stderr().is_terminal());
    let mut warnings = Vec::new();
    let mut records = Vec::new();
    let mut ok = Vec::new();
    let mut failed = Vec::new();
    for (file, checked) in checked {
        if !checked.diagnostics.is_empty() {
            eprint!("{}", human_all(&file, &checked.diagnostics, color));
        }
        let these = json_records(&file, &checked.diagnostics);
        warnings.extend(
            these
                .iter()
                .map(|d| format!("{}:{}: {} [{}]", d.file, d.line, d.message, d.code)),
        );
        records.extend(these);
        match checked.policy {
            Some(p) => ok.push((file, p)),
            None => failed.push(format!(
                "{} has {} error{}",
                file.name,
                checked.errors(),
                if checked.errors() == 1 { "" } else { "s" }
            )),
        }
    }
    if !failed.is_empty() {
        let all: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        eprintln!(
            "error: {}; fix the polic{} first (`allot check {}`)",
            failed.join(", "),
            if files.len() == 1 { "y" } else { "ies" },
            all.join(" ")
        );
        return Err(PolicyFailure {
            exit: ExitCode::from(Exit::Failed),
            records,
        });
    }
    Ok((ok, warnings))
}

/// Load the policies, the inventory (once per policy: each names its own locations) and the
/// current listings. Err is the exit code, the error already printed.
pub fn load(policies: &[PathBuf], args: &InputArgs) -> Result<Loaded, ExitCode> {
    let (checked, policy_warnings) = load_policies(policies, args.error_format)?;
    let stdin = read_stdin(args)?;
    let members = read_members(checked, args, stdin.as_deref())?;
    let (current, current_warnings) = read_current(args)?;
    Ok(Loaded {
        members,
        current,
        current_warnings,
        policy_warnings,
        options: args.sim_options(),
        current_source: None,
        stdin,
        error_format: args.error_format,
    })
}

/// The inventory read once per checked policy (each names its own locations), kits added.
/// `stdin`: standard input already read, for an `--inventory -`. Err is the exit code, the
/// error already printed.
pub fn read_members(
    checked: CheckedPolicies,
    args: &InputArgs,
    stdin: Option<&[u8]>,
) -> Result<Vec<Member>, ExitCode> {
    let inputs: Vec<inventory::Input<'_>> = args
        .inventory
        .iter()
        .map(|p| match stdin {
            Some(bytes) if is_stdin(p) => inventory::Input::Stdin(bytes),
            _ => inventory::Input::File(p),
        })
        .collect();
    let several = checked.len() > 1;
    let mut members = Vec::with_capacity(checked.len());
    for (file, policy) in checked {
        let mut stock = inventory::read_all(
            &inputs,
            args.inventory_format,
            &policy.locations,
            policy.inventory,
        )
        .map_err(|e| {
            eprint!("{e}");
            report_records(args.error_format, &e.records());
            // Each policy reads the inventory against its own locations: say whose they were.
            if several {
                eprintln!(
                    "error: while reading the inventory for {} (each policy reads it against its own locations)",
                    file.name
                );
            }
            ExitCode::from(Exit::Failed)
        })?;
        stock.add_kits(&policy.kits).map_err(|e| {
            // The reader's message carries its own help line: give it its place in the report.
            let (message, help) = e.split_once("\n  help: ").unwrap_or((&e, ""));
            super::fail_about(
                miette::miette!(
                    code = codes::KIT_HAS_ROWS,
                    help = help.to_string(),
                    "{}: {message}",
                    file.name
                ),
                Exit::Failed,
                Some(Path::new(&file.name)),
            )
        })?;
        members.push(Member {
            file,
            policy,
            stock,
        });
    }
    Ok(members)
}

/// The current listings of `--current FILE` (none without it) and the notes from reading them.
/// `--current live` is refused: only `allot plan` reads it. Err is the exit code, the error
/// already printed.
pub fn read_current(args: &InputArgs) -> Result<(Option<Current>, Vec<String>), ExitCode> {
    let (current, current_warnings) = match &args.current {
        None => (None, Vec::new()),
        Some(p) if is_live(Some(p)) => {
            return Err(super::fail(
                miette::miette!(
                    code = codes::LIVE_ONLY_IN_PLAN,
                    help = "use `allot plan --current live`, or save the listings to a file \
                            (an All Listings report) and pass --current FILE",
                    "--current live is only read by `allot plan`"
                ),
                Exit::Failed,
            ));
        }
        Some(p) => {
            let marketplace = match args.current_marketplace.as_deref() {
                None => None,
                Some(m) => match listings::marketplace(m) {
                    Ok(code) => Some(code),
                    Err((msg, help)) => {
                        return Err(super::fail_about(
                            miette::miette!(
                                code = codes::CURRENT_MARKETPLACE,
                                help = help,
                                "--current-marketplace: {msg}"
                            ),
                            Exit::Failed,
                            Some(p),
                        ));
                    }
                },
            };
            let l =
                listings::read(p, args.current_format, marketplace.as_deref()).map_err(|e| {
                    eprint!("{e}");
                    report_records(args.error_format, &e.records());
                    ExitCode::from(Exit::Failed)
                })?;
            (Some(l.current), l.warnings)
        }
    };
    if args.current.is_none() && args.current_marketplace.is_some() {
        return Err(super::fail(
            miette::miette!(
                code = codes::CURRENT_MARKETPLACE,
                help =
                    "give the current listings with --current FILE, or drop --current-marketplace",
                "--current-marketplace names the marketplace of a current-listings file, but no --current FILE was given"
            ),
            Exit::Failed,
        ));
    }
    Ok((current, current_warnings))
}

/// Simulate the loaded inputs: each policy, then the set as one preview (and the policy to
/// render it by). Err is the exit code, the error already printed.
pub fn simulate(loaded: &Loaded) -> Result<(Policy, Preview), ExitCode> {
    let mut parts = Vec::with_capacity(loaded.members.len());
    for m in &loaded.members {
        // One policy's run: its problems are in its own file.
        let preview = sim::run_with(&m.policy, &m.stock, loaded.current.as_ref(), loaded.options)
            .map_err(|e| loaded.sim_failed(&e, &[&m.file]))?;
        parts.push((m.policy.clone(), preview));
    }
    let (policy, mut preview) =
        sim::merge(parts).map_err(|e| loaded.sim_failed(&e, &loaded.policy_files()))?;
    preview.current_source.clone_from(&loaded.current_source);
    preview
        .warnings
        .extend(loaded.current_warnings.iter().cloned());
    Ok((policy, preview))
}

/// The `--out` file, for the record of an error about writing it (`allot::plan::write`); other
/// plan errors are about the offers or the inputs, not the file.
fn about_plan_file<'a>(report: &miette::Report, out: Option<&'a Path>) -> Option<&'a Path> {
    let code = report.code()?.to_string();
    (code == "allot::plan::write").then_some(out).flatten()
}

/// The table's rows could not be spooled to a temporary file.
pub(crate) fn spool_error(e: impl std::fmt::Display) -> miette::Report {
    miette::miette!(
        code = codes::PLAN_SPOOL,
        help = "allot keeps the table's rows in a temporary file (in $TMPDIR) until their widths are known: check it has room, or set TMPDIR to a folder that has",
        "cannot keep the table's rows: {e}"
    )
}

/// A plan a streamed run saved: where, its header and how many operations it has.
struct Saved {
    path: PathBuf,
    header: crate::plan::PlanHeader,
    operations: usize,
}

/// The first run's sink, one per chunk of SKUs: what the format needs before it writes (the
/// table's measure, the Markdown comment's rows), and the plan's tally when one is saved.
struct FirstRun<'p> {
    measure: Option<preview::Measure<'p>>,
    /// The table's rows, unpadded until the widths are known.
    spool: Option<preview::RowSpool<'p>>,
    markdown: Option<preview::MarkdownRows<'p>>,
    tally: Option<crate::plan::Tally>,
}

impl sim::Sink for FirstRun<'_> {
    fn offer(&mut self, change: &crate::model::OfferChange, provenance: &sim::Provenance) {
        match (&mut self.measure, &mut self.spool) {
            // The table: each row's cells made once, measured and spooled.
            (Some(m), Some(s)) => s.see_measured(change, &provenance.not_listed_in, m),
            (Some(m), None) => m.see(change, &provenance.not_listed_in),
            (None, Some(s)) => s.see(change),
            (None, None) => {}
        }
        if let Some(m) = &mut self.markdown {
            m.see(change);
        }
        if let Some(t) = &mut self.tally {
            t.see(change);
        }
    }
}

impl sim::ChunkSink for FirstRun<'_> {
    type Out = Self;
    fn done(self) -> Self {
        self
    }
}

/// The second run's sink, one per chunk of SKUs: the chunk's JSON entries, and its operations
/// encoded for the plan.
struct SecondRun {
    json: Option<preview::JsonRows>,
    plan: Option<crate::plan::Encoder>,
}

impl sim::Sink for SecondRun {
    fn offer(&mut self, change: &crate::model::OfferChange, provenance: &sim::Provenance) {
        if let Some(j) = &mut self.json {
            j.see(change, provenance);
        }
        if let Some(e) = &mut self.plan {
            e.see(change);
        }
    }
}

impl sim::ChunkSink for SecondRun {
    type Out = (std::io::Result<Vec<u8>>, Option<crate::plan::Encoded>);
    fn done(self) -> Self::Out {
        let text = match self.json {
            Some(j) => j.finish(),
            None => Ok(Vec::new()),
        };
        (text, self.plan.map(|e| e.finish()))
    }
}

/// One policy's preview (any format) and its plan (with `--out`), written while simulating, on
/// every core (`sim::run_chunks`), holding no offer: memory stays that of the inputs, whatever
/// the number of offers. A first run gathers the summary and what the format needs first (the
/// table's column widths, the Markdown comment's rows) and checks and counts the operations.
/// The table's rows are made in that run too, unpadded, and spooled (`preview::Spool`: in
/// memory, then a temporary file) until the widths are known; they are padded as they are
/// written. A second run (the same offers: the run is deterministic) is made only for the JSON
/// entries and the plan's operations, which need the first run's totals before them: the
/// workers render and encode each chunk, and this thread writes them in order. The JSON
/// preview alone (no plan, errors as text) needs no first run: its counts come after its
/// entries, so the second run is its only one. The Markdown
/// comment is written after the first run (it holds a comment's worth of rows). Returns the
/// preview (with the policy's warnings first unless the format is the table, as `run` renders
/// them) and the saved plan. Err is the exit code, the error already printed (or 0 when stdout
/// was closed early, as `allot plan | head` does).
fn simulate_streamed(
    loaded: &Loaded,
    args: &PlanArgs,
) -> Result<(Policy, Preview, Option<Saved>), ExitCode> {
    use crate::plan::{PlanFile, Tally};
    let m = &loaded.members[0];
    let fail = |e: sim::SimError| loaded.sim_failed(&e, &[&m.file]);
    let inputs = sim::Prepared::new(&m.policy, &m.stock, loaded.current.as_ref());
    let format = args.format;
    let options = sim::Options {
        // The table and the comment list the largest exposures only; JSON lists them all.
        exposure_kept: (format != Format::Json).then_some(preview::LIST_LIMIT),
        ..loaded.options
    };
    let mut cut = sim::Chunks::all_cores();
    if format == Format::Json {
        // A JSON entry is about a kilobyte: half-size chunks (about 3 MB of text) keep those
        // in flight small. Smaller ones cost more in handing over (a thread woken a chunk):
        // at a quarter of this size the 1M-SKU preview took 4% more CPU time.
        cut.chunk = sim::CHUNK_SKUS / 2;
    }
    let saving = args.save.out.is_some();
    let all = args.save.all;
    let new_measure = || (format == Format::Table).then(|| preview::Measure::new(&m.policy));
    let new_markdown = || {
        (format == Format::Markdown).then(|| preview::MarkdownRows::new(&m.policy, args.max_chars))
    };
    let mut measure = new_measure();
    let mut markdown = new_markdown();
    let mut tally = saving.then(|| Tally::new(all));
    // The id of each chunk's first operation, so the second run numbers them as one run would.
    let mut first_ids: Vec<usize> = Vec::new();
    let mut next_id = 1usize;
    let mut spool = preview::Spool::default();
    let mut spool_err = None;
    let first = |_: usize| FirstRun {
        measure: new_measure(),
        spool: (format == Format::Table).then(|| preview::RowSpool::new(&m.policy)),
        markdown: new_markdown(),
        tally: saving.then(|| Tally::new(all)),
    };
    // The first run's offers are counted and measured, never printed with their steps.
    let counting = sim::Options {
        drop_steps: true,
        ..options
    };
    // The JSON preview with no plan to save needs nothing from a first run: what a run counts
    // comes after its `changes` (`write_json_tail`), so a single run writes them as they are
    // made.
    // An error in that run comes after part of the document (cut short, so never valid JSON;
    // the error is on stderr). Errors read as records on stdout (`--error-format`) keep the
    // first run: stdout is then the whole preview or the records, never part of both.
    let single = format == Format::Json && !saving && loaded.error_format == ErrorFormat::Human;
    // What the preview gets besides the run's own: the current listings' source and warnings,
    // and (except on the table, which `run` prints them beside) the policy's warnings first.
    let completed = |mut preview: Preview| {
        preview.current_source.clone_from(&loaded.current_source);
        preview
            .warnings
            .extend(loaded.current_warnings.iter().cloned());
        if format != Format::Table {
            // A pull-request comment or a JSON consumer sees only stdout: the policy's
            // warnings travel with the preview there.
            preview
                .warnings
                .splice(0..0, loaded.policy_warnings.iter().cloned());
        }
        preview
    };
    let first_run = (!single).then(|| {
        sim::run_chunks(&inputs, counting, cut, first, |part| {
            if let (Some(m), Some(p)) = (&mut measure, part.measure) {
                m.absorb(p);
            }
            if let Some(rows) = part.spool
                && let Err(e) = spool.append(&rows.into_bytes())
            {
                spool_err = Some(e);
                return false;
            }
            if let (Some(m), Some(p)) = (&mut markdown, part.markdown) {
                m.absorb(p);
            }
            if let (Some(t), Some(p)) = (&mut tally, part.tally) {
                first_ids.push(next_id);
                next_id = next_id.saturating_add(p.operations());
                t.absorb(p);
            }
            true
        })
    });
    let first_run = first_run.transpose().map_err(fail)?;
    if let Some(e) = spool_err {
        return Err(super::fail(spool_error(e), Exit::Failed));
    }
    let preview = first_run.map(completed);
    // With --deny-warnings a warning means no plan is saved (`run` then fails the run); a
    // plan is only saved after a first run.
    let denied = args.deny_warnings
        && preview
            .as_ref()
            .is_some_and(|p| !p.warnings.is_empty() || !loaded.policy_warnings.is_empty());
    let save = match (&args.save.out, tally, &preview) {
        (Some(out), Some(mut tally), Some(preview)) if !denied => {
            let policy_path = Path::new(&m.file.name);
            let files = super::plan_out::InputPaths {
                policies: std::slice::from_ref(&policy_path),
                inventory: &args.input.inventory,
                stdin: loaded.stdin.as_deref(),
                current: args.input.current.as_deref(),
            };
            let header = super::plan_out::build_options(&args.save, files)
                .and_then(|opts| {
                    let (p, s) = (&m.policy, &preview.summary);
                    tally
                        .header(&p.name, &p.seller_id, s, &p.locations, opts)
                        .map_err(miette::Report::new)
                })
                .map_err(|r| super::fail(r, Exit::Failed))?;
            Some((out.clone(), header, tally))
        }
        _ => None,
    };
    let io_fail = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return ExitCode::from(Exit::Ok);
        }
        super::fail(codes::report::output("the preview", e), Exit::Failed)
    };
    let plan_fail = |e: crate::plan::PlanError| {
        let r = miette::Report::new(e);
        let file = about_plan_file(&r, args.save.out.as_deref());
        super::fail_about(r, Exit::Failed, file)
    };
    let mut file = match &save {
        Some((path, header, _)) => Some(PlanFile::create(header, path).map_err(plan_fail)?),
        None => None,
    };
    super::errout::output_written(format == Format::Json);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    // What comes before the second run's text: the table's header row, the JSON up to its
    // first change, or the whole comment.
    let mut shown = match format {
        Format::Table => match &measure {
            Some(m) => preview::Rows::start(&mut out, m).and_then(|mut rows| {
                spool.replay(&mut rows)?;
                rows.into_inner().map(drop)
            }),
            None => Ok(()),
        },
        Format::Markdown => match (&markdown, &preview) {
            (Some(rows), Some(p)) => out.write_all(preview::markdown_of(p, rows).as_bytes()),
            _ => Ok(()),
        },
        Format::Json => {
            // Before `changes` comes only what is known before any run.
            preview::json_head(
                &m.policy,
                loaded.current.is_some(),
                loaded.current_source.as_deref(),
            )
            .and_then(|head| out.write_all(head.as_bytes()))
        }
    };
    let mut plan_err = None;
    let mut any_entry = false;
    let encoder = |k: usize| {
        let tally = save.as_ref().map(|(_, _, t)| t)?;
        // Every id fits: the header refused more than `MAX_OPERATIONS` (below u32::MAX). A
        // chunk without one would leave the plan short, and a short plan is never saved.
        let id = u32::try_from(*first_ids.get(k)?).ok()?;
        Some(tally.encoder(id))
    };
    // Each chunk's JSON text (about a megabyte) is written into a buffer an earlier chunk
    // used, not grown anew from empty.
    let buffers: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::default();
    let buffer = || {
        buffers
            .lock()
            .ok()
            .and_then(|mut b| b.pop())
            .unwrap_or_default()
    };
    let second = |k: usize| SecondRun {
        json: (format == Format::Json).then(|| preview::JsonRows::with_buffer(&m.policy, buffer())),
        plan: encoder(k),
    };
    let needed = format == Format::Json || file.is_some();
    let mut second_run = None;
    if shown.is_ok() && needed {
        let run = sim::run_chunks(&inputs, options, cut, second, |(text, ops)| {
            let wrote = text.and_then(|b| {
                match format {
                    Format::Json => preview::JsonRows::write_all(&mut out, &b, &mut any_entry)?,
                    _ => out.write_all(&b)?,
                }
                if b.capacity() > 0
                    && let Ok(mut spare) = buffers.lock()
                    && spare.len() < 2 * cut.threads
                {
                    spare.push(b);
                }
                Ok(())
            });
            if let Err(e) = wrote {
                shown = Err(e);
                return false;
            }
            if let (Some(f), Some(ops)) = (&mut file, ops)
                && let Err(e) = f.encoded(&ops)
            {
                // The preview goes on; dropping the file removes what was written.
                plan_err = Some(e);
                file = None;
            }
            true
        });
        // A single run's error comes after some of the JSON was written: the document on
        // stdout is then cut short, and the exit code and the error say so.
        second_run = Some(run.map_err(fail)?);
    }
    // The preview: the first run's, or the single run's (both runs count the same offers).
    let preview = match (preview, second_run) {
        (Some(p), _) => p,
        (None, Some(p)) => completed(p),
        // Only when the head could not be written; `shown` holds why.
        (None, None) => completed(Preview::default()),
    };
    // The whole preview is written (and flushed) before the plan may be saved: a plan is only
    // saved with the preview it goes with, as when the preview is held in memory.
    shown
        .and_then(|()| {
            match (format, &measure) {
                (Format::Table, Some(m)) => preview::table_after_rows(&mut out, m, &preview)?,
                (Format::Json, _) => {
                    out.write_all(preview::JsonRows::close(any_entry).as_bytes())?;
                    preview::write_json_tail(&mut out, &preview)?;
                }
                _ => {}
            }
            out.flush()
        })
        .map_err(io_fail)?;
    if let Some(e) = plan_err {
        return Err(plan_fail(e));
    }
    let saved = match (file, save) {
        (Some(f), Some((path, header, tally))) => {
            // Every operation the first run counted, or none: a plan missing one is never saved.
            let written = f.operations();
            let complete = |_: &str| match written == tally.operations() as u64 {
                true => Ok(()),
                false => Err(crate::plan::PlanError::Incomplete),
            };
            f.save_if(complete).map_err(plan_fail)?;
            Some(Saved {
                path,
                header,
                operations: tally.operations(),
            })
        }
        _ => None,
    };
    Ok((m.policy.clone(), preview, saved))
}

/// Render the preview to stdout.
pub fn render(args: &PlanArgs, policy: &Policy, preview: &Preview) -> std::io::Result<()> {
    super::errout::output_written(args.format == Format::Json);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    match args.format {
        Format::Table => preview::table(&mut out, policy, preview)?,
        Format::Markdown => {
            out.write_all(preview::markdown(policy, preview, args.max_chars).as_bytes())?
        }
        Format::Json => preview::json(&mut out, policy, preview)?,
    }
    out.flush()
}

pub fn run(mut args: PlanArgs) -> ExitCode {
    super::errout::set_format(args.input.error_format);
    let live = is_live(args.input.current.as_deref());
    if live {
        // Loaded without current listings; they come from the SP-API below.
        args.input.current = None;
    }
    if args.save.out.is_some() && args.input.current.is_none() && !live && !args.input.allow_new {
        return super::fail(
            miette::miette!(
                code = codes::PLAN_NO_CURRENT,
                help = "give what Amazon shows now: --current FILE (an All Listings report, JSON, YAML or CSV) or --current live; or pass --allow-new to write every offer, creating the ones Amazon does not know",
                "refusing to save a plan without the current listings: allot cannot tell which seller SKUs exist on Amazon, and a write to one Amazon does not know creates an incomplete, unbuyable offer-only listing"
            ),
            Exit::Failed,
        );
    }
    let mut loaded = match load(&args.policies, &args.input) {
        // Never dropped: see `Loaded`.
        Ok(l) => std::mem::ManuallyDrop::new(l),
        Err(code) => return code,
    };
    // Only the JSON preview prints each offer's steps.
    loaded.options.drop_steps = args.format != Format::Json;
    if live {
        // The SKUs to read are the offers the policies make: simulated once without current,
        // gathering only which seller SKUs to read in which marketplace (not the offers).
        let mut wanted = crate::spapi::live::Wanted::default();
        let options = sim::Options {
            drop_steps: true,
            ..loaded.options
        };
        for m in &loaded.members {
            if let Err(e) = sim::run_into(&m.policy, &m.stock, None, options, &mut wanted) {
                return loaded.sim_failed(&e, &[&m.file]);
            }
        }
        wanted.finish();
        let policies: Vec<_> = loaded
            .members
            .iter()
            .map(|m| (&m.file, &m.policy))
            .collect();
        let seller_id = policies
            .first()
            .map(|(_, p)| p.seller_id.clone())
            .unwrap_or_default();
        let read = super::apply::fetch_live_current(
            &args.conn, &args.live, &policies, &seller_id, &wanted,
        );
        match read {
            Ok((c, source)) => {
                loaded.current = Some(c);
                loaded.current_source = Some(source.describe());
            }
            Err(code) => return code,
        }
    }
    // One policy's preview (and plan) is written as the offers are made; several policies
    // keep the preview's offers in memory (they are compared with each other).
    let streamed = loaded.members.len() == 1;
    let simulated = if streamed {
        simulate_streamed(&loaded, &args)
    } else {
        simulate(&loaded).map(|(p, v)| (p, v, None))
    };
    let (policy, mut preview, saved) = match simulated {
        Ok(p) => p,
        Err(code) => return code,
    };
    // On a terminal the policy's warnings were just shown in full on stderr; a pull-request
    // comment or a JSON consumer sees only stdout, so they travel with the preview there (a
    // streamed preview has them already).
    let spliced = streamed && args.format != Format::Table;
    let warnings = preview.warnings.len()
        + if spliced {
            0
        } else {
            loaded.policy_warnings.len()
        };
    if args.format != Format::Table && !spliced {
        preview
            .warnings
            .splice(0..0, loaded.policy_warnings.iter().cloned());
    }
    if streamed {
        // Already written.
    } else if let Err(e) = render(&args, &policy, &preview) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return ExitCode::from(Exit::Ok);
        }
        return super::fail(codes::report::output("the preview", e), Exit::Failed);
    }
    if args.deny_warnings && warnings > 0 {
        return super::fail(
            miette::miette!(
                code = codes::PLAN_WARNINGS_DENIED,
                help = "fix what the warnings say, or drop --deny-warnings to accept them",
                "{warnings} warning{} and --deny-warnings: {}",
                if warnings == 1 { "" } else { "s" },
                if args.save.out.is_some() {
                    "no plan was saved"
                } else {
                    "failing the run"
                }
            ),
            Exit::Failed,
        );
    }
    if let Some(saved) = &saved {
        eprintln!(
            "{}",
            super::plan_out::saved_note(&saved.path, &saved.header, saved.operations)
        );
    }
    // The saved plan comes from the very offers just rendered, so the two always agree.
    let policy_paths: Vec<&Path> = loaded
        .members
        .iter()
        .map(|m| Path::new(&m.file.name))
        .collect();
    let files = super::plan_out::InputPaths {
        policies: &policy_paths,
        inventory: &args.input.inventory,
        stdin: loaded.stdin.as_deref(),
        current: args.input.current.as_deref(),
    };
    let save = if streamed {
        // Saved while the table was written.
        Ok(None)
    } else {
        super::plan_out::save(
            &args.save,
            &policy.name,
            &policy.seller_id,
            &policy.locations,
            &preview.changes,
            &preview.summary,
            files,
        )
    };
    match save {
        Ok(Some(plan)) => {
            if let Some(out) = &args.save.out {
                eprintln!(
                    "{}",
                    super::plan_out::saved_note(out, &plan.header(), plan.operations.len())
                );
            }
        }
        Ok(None) => {}
        Err(report) => {
            let file = about_plan_file(&report, args.save.out.as_deref());
            return super::fail_about(report, Exit::Failed, file);
        }
    }
    let code = if args.detailed_exitcode && preview.has_changes() {
        ExitCode::from(Exit::Changes)
    } else {
        ExitCode::from(Exit::Ok)
    };
    // The process ends now: freeing millions of small allocations one by one took about a fifth
    // of a 1M-SKU run (benches/plan-1m.sh, perf); the OS reclaims the memory at once.
    std::mem::forget(preview);
    std::mem::forget(policy);
    code
}
