//! `allot init`: write a starter policy from the seller's inventory (and current listings).
//! Reads the files, settles the marketplaces, locations and names, and leaves the policy itself
//! to `crate::init`, which verifies it before anything is written. Exit 0 written, 1 input
//! errors (and a generated policy that would not pass, which is a bug), 2 usage.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::plan::{ErrorFormat, report_records};
use super::{Exit, codes};
use crate::init::{self, Failure, InitLocation, Spec};
use crate::inventory;
use crate::listings;
use crate::marketplaces::{self, Marketplace};
use crate::model::{InventoryOptions, Location};
use crate::render::diagnostics::{SourceFile, human_all, want_color};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The inventory snapshot (CSV, Shopify CSV export, JSON or YAML) whose SKUs and locations
    /// the policy is written for.
    #[arg(long, value_name = "FILE")]
    pub inventory: PathBuf,
    /// The inventory's format, if not told by its extension and header.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub inventory_format: Option<inventory::Format>,
    /// What Amazon shows now (JSON, YAML, CSV or Amazon's All Listings report): the seller SKU
    /// naming (`{sku}-US`) and, without --marketplaces, the marketplaces are read from it.
    #[arg(long, value_name = "FILE")]
    pub current: Option<PathBuf>,
    /// The current listings' format, if not told by the extension and header.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub current_format: Option<listings::Format>,
    /// The marketplace of current-listings rows that name none (an All Listings report), e.g. `US`.
    #[arg(long, value_name = "CODE")]
    pub current_marketplace: Option<String>,
    /// The marketplaces to publish to, one region (e.g. `US,CA,MX`). Default: those the current
    /// listings name.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub marketplaces: Vec<String>,
    /// Your Merchant ID. Without it a clearly marked placeholder is written (it passes
    /// `allot check`; replace it before `allot apply`).
    #[arg(long, value_name = "ID")]
    pub seller: Option<String>,
    /// The policy's name. Default: the --out file's name without `.allot`, else `my-shop`.
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Write the policy to this file instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// Overwrite the --out file if it exists.
    #[arg(long)]
    pub force: bool,
    /// How an error (in the inventory, the current listings, or of `init` itself) is reported
    /// besides the text on standard error: `json`, `github` or `sarif` also print it on standard
    /// output as `allot check --format` prints diagnostics (code, file, line), as `allot plan`
    /// does.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ErrorFormat::Human)]
    pub error_format: ErrorFormat,
}

/// An input error: printed with its code and help, exit 1.
fn input_error(
    code: &'static str,
    message: impl std::fmt::Display,
    help: impl std::fmt::Display,
) -> ExitCode {
    super::fail(
        miette::miette!(code = code, help = help.to_string(), "{message}"),
        Exit::Failed,
    )
}

pub fn run(args: InitArgs) -> ExitCode {
    super::errout::set_format(args.error_format);
    match generate(&args) {
        Ok(code) => code,
        Err(code) => code,
    }
}

fn generate(args: &InitArgs) -> Result<ExitCode, ExitCode> {
    // Refused first: no point reading a large inventory for a file that will not be written.
    if let Some(out) = &args.out
        && out.exists()
        && !args.force
    {
        return Err(input_error(
            codes::INIT_OUT_EXISTS,
            format!("{} exists: nothing was written", out.display()),
            "pass --force to overwrite it, or choose another --out",
        ));
    }
    if args.current.is_none() && args.current_marketplace.is_some() {
        return Err(input_error(
            codes::CURRENT_MARKETPLACE,
            "--current-marketplace names the marketplace of a current-listings file, but no --current FILE was given",
            "give the current listings with --current FILE, or drop --current-marketplace",
        ));
    }
    let seller = match args.seller.as_deref().map(str::trim) {
        None => None,
        Some("") => {
            return Err(input_error(
                codes::INIT_SELLER,
                "--seller is blank",
                "give your Merchant ID (Seller Central: Settings → Account Info → Merchant Token), or leave --seller out to write a placeholder",
            ));
        }
        Some(s) => {
            if let Some(m) = marketplaces::by_id(s) {
                return Err(input_error(
                    codes::INIT_SELLER,
                    format!(
                        "--seller {s} is the marketplace ID of {} ({}), not a seller ID",
                        m.country, m.code
                    ),
                    "give your Merchant ID (Seller Central: Settings → Account Info → Merchant Token)",
                ));
            }
            Some(s.to_string())
        }
    };

    let (locations, stock, negative_as_zero) = read_inventory(args)?;
    let current = read_current(args)?;
    let marketplaces = choose_marketplaces(args, current.as_ref())?;

    let name = args
        .name
        .clone()
        .or_else(|| {
            args.out
                .as_ref()
                .and_then(|p| p.file_stem())
                .map(|s| s.to_string_lossy().into_owned())
        })
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| "my-shop".to_string());
    let spec = Spec {
        name,
        seller,
        marketplaces,
        locations,
        stock: &stock,
        negative_as_zero,
        current: current.as_ref(),
        inventory_file: args.inventory.display().to_string(),
        current_file: args.current.as_ref().map(|p| p.display().to_string()),
        out_file: args.out.as_ref().map(|p| p.display().to_string()),
        date: time::OffsetDateTime::now_utc().date().to_string(),
    };
    let generated = match init::generate(&spec) {
        Ok(g) => g,
        Err(f) => return Err(report_bug(f)),
    };
    let shown = args
        .out
        .as_ref()
        .map_or("<generated>".to_string(), |p| p.display().to_string());
    if !generated.warnings.is_empty() {
        let file = SourceFile {
            name: shown.clone(),
            text: generated.text.clone(),
        };
        eprint!(
            "{}",
            human_all(&file, &generated.warnings, want_color(false))
        );
    }
    if spec.seller.is_none() {
        eprintln!(
            "note: no --seller given: the policy's seller is the placeholder \"{}\"; replace it with your Merchant ID",
            init::SELLER_PLACEHOLDER
        );
    }
    match &args.out {
        None => {
            super::errout::output_written(false);
            let mut out = std::io::stdout().lock();
            match out.write_all(generated.text.as_bytes()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                Err(e) => {
                    return Err(super::fail(
                        codes::report::output("the policy", e),
                        Exit::Failed,
                    ));
                }
            }
        }
        Some(path) => {
            write_file(path, &generated.text, args.force)?;
            eprintln!(
                "wrote {}: next, `allot check {0}` and `allot test {0}`",
                path.display()
            );
        }
    }
    Ok(ExitCode::from(Exit::Ok))
}

/// The inventory's locations as policy names and its stock read against them. Untidy negative
/// counts are read as 0 (and the policy says so) rather than refused: init describes the data
/// as it is.
fn read_inventory(
    args: &InitArgs,
) -> Result<(Vec<InitLocation>, inventory::Stock, bool), ExitCode> {
    let printed = |e: inventory::InventoryError| {
        eprint!("{e}");
        report_records(args.error_format, &e.records());
        ExitCode::from(Exit::Failed)
    };
    let raw = inventory::location_names(&args.inventory, args.inventory_format).map_err(printed)?;
    if raw.is_empty() {
        return Err(input_error(
            codes::INIT_NO_STOCK,
            format!(
                "{} has no stock rows: there is nothing to write a policy for",
                args.inventory.display()
            ),
            "give an inventory export with one row per SKU and location",
        ));
    }
    let mut locations = Vec::with_capacity(raw.len());
    for r in &raw {
        match init::location_name(r) {
            Ok(l) => locations.push(l),
            Err(message) => {
                return Err(input_error(
                    codes::INIT_LOCATION_NAME,
                    message,
                    "rename the location in your inventory system (or the export) with ASCII letters, digits, spaces or `_`",
                ));
            }
        }
    }
    let declared: Vec<Location> = locations
        .iter()
        .map(|l| Location {
            name: l.name.clone(),
            supply_source: None,
        })
        .collect();
    let read = |opts| inventory::read(&args.inventory, args.inventory_format, &declared, opts);
    match read(InventoryOptions::default()) {
        Ok(stock) => Ok((locations, stock, false)),
        Err(first) => {
            // The only rows the option lets through are negative counts.
            let lenient = InventoryOptions {
                negative_as_zero: true,
                ..InventoryOptions::default()
            };
            match read(lenient) {
                Ok(stock) => Ok((locations, stock, true)),
                Err(_) => Err(printed(first)),
            }
        }
    }
}

fn read_current(args: &InitArgs) -> Result<Option<crate::model::Current>, ExitCode> {
    let Some(path) = &args.current else {
        return Ok(None);
    };
    let marketplace = match args.current_marketplace.as_deref() {
        None => None,
        Some(m) => match listings::marketplace(m) {
            Ok(code) => Some(code),
            Err((msg, help)) => {
                return Err(input_error(
                    codes::CURRENT_MARKETPLACE,
                    format!("--current-marketplace: {msg}"),
                    help,
                ));
            }
        },
    };
    let l = listings::read(path, args.current_format, marketplace.as_deref()).map_err(|e| {
        eprint!("{e}");
        report_records(args.error_format, &e.records());
        ExitCode::from(Exit::Failed)
    })?;
    for w in &l.warnings {
        eprintln!("warning: {w}");
    }
    Ok(Some(l.current))
}

/// `--marketplaces`, else those the current listings name (in the built-in table's order); one
/// region, as the checker requires of one seller ID.
fn choose_marketplaces(
    args: &InitArgs,
    current: Option<&crate::model::Current>,
) -> Result<Vec<Marketplace>, ExitCode> {
    let mut chosen: Vec<Marketplace> = Vec::new();
    for raw in args
        .marketplaces
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
    {
        let Some(m) = marketplaces::lookup_data(raw) else {
            let help = marketplaces::unknown_hint(raw)
                .or_else(|| {
                    crate::diag::did_you_mean(raw, marketplaces::codes())
                        .map(|s| format!("did you mean `{s}`?"))
                })
                .unwrap_or_else(|| "run `allot marketplaces` for the codes".into());
            return Err(input_error(
                codes::INIT_MARKETPLACES,
                format!(
                    "--marketplaces: unknown marketplace `{}`",
                    crate::diag::clip(raw)
                ),
                help,
            ));
        };
        if !chosen.iter().any(|c| c.id == m.id) {
            chosen.push(m);
        }
    }
    if chosen.is_empty()
        && let Some(current) = current
    {
        let named: std::collections::BTreeSet<&str> = current
            .listed_in
            .values()
            .flat_map(|ms| ms.iter())
            .collect();
        chosen = marketplaces::builtin()
            .into_iter()
            .filter(|m| named.contains(m.code.as_str()))
            .collect();
    }
    if chosen.is_empty() {
        return Err(input_error(
            codes::INIT_MARKETPLACES,
            if current.is_some() {
                "no marketplaces: the current listings name none"
            } else {
                "no marketplaces: give --marketplaces (or current listings that name them)"
            },
            "pass --marketplaces with the codes you sell in, e.g. `--marketplaces US,CA,MX` (one region; `allot marketplaces` lists them), or --current-marketplace for an All Listings report",
        ));
    }
    let mut regions: Vec<_> = chosen.iter().map(|m| m.region).collect();
    regions.sort();
    regions.dedup();
    if regions.len() > 1 {
        let parts: Vec<String> = regions
            .iter()
            .map(|r| {
                let codes: Vec<&str> = chosen
                    .iter()
                    .filter(|m| m.region == *r)
                    .map(|m| m.code.as_str())
                    .collect();
                format!("{} ({})", r.as_str(), codes.join(", "))
            })
            .collect();
        return Err(input_error(
            codes::INIT_MARKETPLACES,
            format!(
                "these marketplaces span several regions: {}",
                parts.join(", ")
            ),
            "a seller ID belongs to one region's unified account: run `allot init` once per region with --marketplaces of that region (each policy with its own `seller`)",
        ));
    }
    Ok(chosen)
}

fn write_file(path: &Path, text: &str, force: bool) -> Result<(), ExitCode> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true);
    if force {
        opts.create(true).truncate(true);
    } else {
        // Exists-check and create in one step: a file made meanwhile is not overwritten.
        opts.create_new(true);
    }
    let result = opts
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    result.map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            input_error(
                codes::INIT_OUT_EXISTS,
                format!("{} exists: nothing was written", path.display()),
                "pass --force to overwrite it, or choose another --out",
            )
        } else {
            input_error(
                codes::OUTPUT,
                format!("cannot write {}: {e}", path.display()),
                "check that the folder exists and can be written",
            )
        }
    })
}

/// A generated policy that would not pass is init's fault, not the user's: say so, show why,
/// and write nothing.
fn report_bug(f: Failure) -> ExitCode {
    match f {
        Failure::Invalid { text, diagnostics } => {
            let file = SourceFile {
                name: "<generated>".into(),
                text: text.clone(),
            };
            eprint!("{}", human_all(&file, &diagnostics, want_color(false)));
            eprintln!("--- the generated policy ---\n{text}");
        }
        Failure::Tests { text, message } => {
            eprintln!("{message}");
            if !text.is_empty() {
                eprintln!("--- the generated policy ---\n{text}");
            }
        }
    }
    super::fail(generated_invalid(), Exit::Failed)
}

/// A generated policy that does not pass: a bug of init's, no input can be blamed.
fn generated_invalid() -> miette::Report {
    miette::miette!(
        code = codes::INIT_GENERATED_INVALID,
        help = "this is a bug in allot init: please report it with the inventory's locations and SKU names (shown above)",
        "allot init generated a policy that does not pass check, test or fmt --check: nothing was written"
    )
}

#[cfg(test)]
mod tests {
    /// `allot::init::generated-invalid` cannot be made from outside (init checks, tests and
    /// fmt-checks what it generates, and tests/cli_init.rs shows it passing): its code here.
    #[test]
    fn generated_invalid_has_its_code() {
        let r = super::generated_invalid();
        assert_eq!(
            r.code().map(|c| c.to_string()).as_deref(),
            Some(super::codes::INIT_GENERATED_INVALID)
        );
        assert!(r.help().is_some());
    }
}
