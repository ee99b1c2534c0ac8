//! `allot diff BASE NEW --inventory FILE [--current FILE]`: what a policy change does. Both
//! sides are checked, then simulated on the same inventory (and current listings) with the
//! plan's engine, and the offers whose published quantity differs are listed. Exit 0 success
//! (with `--detailed-exitcode`: 0 no differences, 2 differences), 1 any error (never 2, as
//! `allot plan`).

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::Exit;
use super::plan::{self, InputArgs};
use crate::render::diff::{self as render, Labels, SideLabel};
use crate::sim::{self, diff::Side};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A terminal table of the offers that differ, then the summary and units per marketplace.
    #[default]
    Table,
    /// A pull-request comment: summary first, the offers in a collapsible section (capped).
    Markdown,
    /// One document (`format_version` 1.0; schemas/diff.schema.json).
    Json,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The policies before the change: a policy file, or a folder of `*.allot` (e.g. the base
    /// branch checked out beside the pull request's: `git worktree add ../base origin/main`).
    #[arg(value_name = "BASE")]
    pub base: PathBuf,
    /// The policies after the change: a file or a folder, as BASE.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Exit 0 when nothing differs and 2 when something does; 1 stays error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Fail (exit 1) when the new policies, the inputs or the new side's run have any warning.
    /// The base side's warnings are shown but never fail: they are not the change's.
    #[arg(long)]
    pub deny_warnings: bool,
    /// Markdown only: the most characters the comment may have (GitHub allows 65,536).
    #[arg(long, value_name = "N", default_value_t = 60_000)]
    pub max_chars: usize,
}

/// Which side of the comparison, for messages.
#[derive(Clone, Copy)]
enum Which {
    Base,
    New,
}

impl Which {
    fn name(self) -> &'static str {
        match self {
            Which::Base => "base",
            Which::New => "new",
        }
    }
}

/// One side simulated: its offers, its run's warnings and what the labels need.
struct Ran {
    side: Side,
    warnings: Vec<String>,
    names: Vec<String>,
}

/// Simulate one side's checked policies into a [`Side`], each policy on its own (the sides may
/// hold several sellers: each offer is keyed by its seller). Only the comparison's fields are
/// kept per offer; the inventory read for the side is dropped on return. Err is the exit code,
/// the error already printed.
fn run_side(
    which: Which,
    checked: plan::CheckedPolicies,
    args: &DiffArgs,
    current: Option<&crate::model::Current>,
    locations: &mut HashMap<String, String>,
) -> Result<Ran, ExitCode> {
    let side_err = |code: ExitCode| {
        eprintln!(
            "error: the {} side ({}) could not be simulated; nothing was compared",
            which.name(),
            match which {
                Which::Base => args.base.display(),
                Which::New => args.new.display(),
            }
        );
        code
    };
    let members = plan::read_members(checked, &args.input, None).map_err(side_err)?;
    let options = sim::Options {
        drop_steps: true,
        exposure_kept: Some(0),
        ..args.input.sim_options()
    };
    let mut side = Side::default();
    let mut warnings = Vec::new();
    let mut names = Vec::new();
    for m in &members {
        for l in &m.policy.locations {
            if let Some(code) = &l.supply_source {
                locations.insert(code.clone(), l.name.clone());
            }
        }
        let mut sink = side.sink(&m.policy.seller_id);
        let preview =
            sim::run_into(&m.policy, &m.stock, current, options, &mut sink).map_err(|e| {
                eprint!("{}", e.human(&[&m.file]));
                plan::report_records(args.input.error_format, &e.records(&[&m.file]));
                side_err(ExitCode::from(Exit::Failed))
            })?;
        warnings.extend(
            preview
                .warnings
                .into_iter()
                .map(|w| format!("{}: {w}", m.file.name)),
        );
        names.push(m.policy.name.clone());
    }
    if let Some(t) = &side.twice {
        return Err(side_err(super::fail(
            miette::miette!(
                code = crate::sim::codes::SELLER_SKU_IN_TWO_POLICIES,
                help = "publish each seller SKU from one file of the seller (`allot plan` on the same files names both)",
                "seller SKU \"{}\" in {} is written by two policies of one seller (rules \"{}\" and \"{}\"): Amazon keeps one quantity per seller SKU and region, so the {} side is ambiguous",
                t.seller_sku,
                t.region.as_str(),
                t.first_rule,
                t.second_rule,
                which.name()
            ),
            Exit::Failed,
        )));
    }
    Ok(Ran {
        side,
        warnings,
        names,
    })
}

/// Check one side's policies (diagnostics on stderr); Err says which side failed and carries
/// its diagnostics' records (printed with the other side's, once, for `--error-format`).
fn check_side(
    which: Which,
    args: &DiffArgs,
) -> Result<(plan::CheckedPolicies, Vec<String>), Vec<crate::diag::JsonDiagnostic>> {
    let path = match which {
        Which::Base => &args.base,
        Which::New => &args.new,
    };
    plan::check_policies(std::slice::from_ref(path)).map_err(|f| {
        eprintln!(
            "error: the {} policies ({}) do not check; nothing was compared",
            which.name(),
            path.display()
        );
        f.records
    })
}

pub fn run(args: DiffArgs) -> ExitCode {
    super::errout::set_format(args.input.error_format);
    if args.input.inventory.iter().any(|p| plan::is_stdin(p)) {
        return super::fail(
            miette::miette!(
                code = super::codes::STDIN,
                help = "save the inventory to a file and pass --inventory FILE",
                "allot diff reads the inventory from files only (`--inventory -` is not read): each side reads it against its own locations"
            ),
            Exit::Failed,
        );
    }
    // Both sides are checked before either is run, so every error is shown at once.
    let base = check_side(Which::Base, &args);
    let new = check_side(Which::New, &args);
    let ((base_checked, base_warnings), (new_checked, new_warnings)) = match (base, new) {
        (Ok(b), Ok(n)) => (b, n),
        (b, n) => {
            let mut records = b.err().unwrap_or_default();
            records.extend(n.err().unwrap_or_default());
            if !records.is_empty() {
                plan::report_records(args.input.error_format, &records);
            }
            return ExitCode::from(Exit::Failed);
        }
    };
    let (current, current_warnings) = match plan::read_current(&args.input) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut locations = HashMap::new();
    let base_ran = match run_side(
        Which::Base,
        base_checked,
        &args,
        current.as_ref(),
        &mut locations,
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    // The new side's location names win over the base's for one supply source.
    let new_ran = match run_side(
        Which::New,
        new_checked,
        &args,
        current.as_ref(),
        &mut locations,
    ) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let diff = sim::diff::compare(&base_ran.side, &new_ran.side);
    // The check warnings were shown in full on stderr by the checks; the run's are shown here.
    // A pull-request comment or a JSON consumer sees only stdout, so all travel with it.
    // Warnings can be one per SKU: a set keeps them once without comparing each with all.
    let mut warnings: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut push = |w: String| {
        if seen.insert(w.clone()) {
            warnings.push(w);
        }
    };
    for w in &base_warnings {
        push(format!("base: {w}"));
    }
    for w in &new_warnings {
        push(format!("new: {w}"));
    }
    for w in &base_ran.warnings {
        push(format!("base: {w}"));
    }
    for w in &new_ran.warnings {
        push(format!("new: {w}"));
    }
    for w in &current_warnings {
        push(format!("current listings: {w}"));
    }
    for w in base_ran
        .warnings
        .iter()
        .map(|w| ("base", w))
        .chain(new_ran.warnings.iter().map(|w| ("new", w)))
    {
        eprintln!("warning: {}: {}", w.0, w.1);
    }
    for w in &current_warnings {
        eprintln!("warning: current listings: {w}");
    }
    let denied = new_warnings.len() + new_ran.warnings.len() + current_warnings.len();
    let labels = Labels {
        base: SideLabel {
            path: args.base.display().to_string(),
            policies: base_ran.names,
        },
        new: SideLabel {
            path: args.new.display().to_string(),
            policies: new_ran.names,
        },
        locations,
        current_known: current.is_some(),
        warnings,
    };
    super::errout::output_written(args.format == Format::Json);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout.lock());
    let written = match args.format {
        Format::Table => render::table(&mut out, &diff, &labels),
        Format::Markdown => {
            out.write_all(render::markdown(&diff, &labels, args.max_chars).as_bytes())
        }
        Format::Json => render::json(&mut out, &diff, &labels),
    }
    .and_then(|()| out.flush());
    if let Err(e) = written {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            return ExitCode::from(Exit::Ok);
        }
        return super::fail(super::codes::report::output("the diff", e), Exit::Failed);
    }
    if args.deny_warnings && denied > 0 {
        return super::fail(
            miette::miette!(
                code = super::codes::DIFF_WARNINGS_DENIED,
                help = "fix what the warnings say, or drop --deny-warnings to accept them",
                "{denied} warning{} on the new side and --deny-warnings: failing the run",
                if denied == 1 { "" } else { "s" },
            ),
            Exit::Failed,
        );
    }
    if args.detailed_exitcode && !diff.offers.is_empty() {
        ExitCode::from(Exit::Changes)
    } else {
        ExitCode::from(Exit::Ok)
    }
}
