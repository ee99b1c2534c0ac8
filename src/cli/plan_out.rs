//! The saved-plan flags of `allot plan` (`--out`, `--emit`, `--all`, `--patch-op`,
//! `--issue-locale`) and the one call that turns the preview's offers into `plan.json`.
//! Kept apart from `plan.rs` so the preview and the saved plan come from the same run:
//! `plan.rs` computes the offers once, renders them, then hands the same values to [`save`].

use std::path::{Path, PathBuf};

use clap::{Args, ValueEnum};

use crate::model::{Location, OfferChange, Summary};
use crate::plan::{self, BuildOptions, EmitChoice, Inputs, PatchOp, Plan};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EmitArg {
    /// One Listings Items PATCH request per seller SKU.
    Patch,
    /// JSON_LISTINGS_FEED documents (25,000 messages or 10 MiB each).
    Feed,
    /// Feeds above 5,000 operations, patches otherwise.
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PatchOpArg {
    /// Change only the quantities sent; keep handling time and other channels.
    Merge,
    /// Replace the whole fulfillment_availability (drops handling time and unnamed channels).
    Replace,
}

#[derive(Debug, Clone, Args)]
pub struct SaveArgs {
    /// Also save the plan to PATH, for `allot show` and `allot apply` (the same run as the preview).
    #[arg(long, value_name = "PATH")]
    pub out: Option<PathBuf>,
    /// How `apply` sends the plan.
    #[arg(long, value_enum, default_value = "auto", requires = "out")]
    pub emit: EmitArg,
    /// Write every offer, including those the current listings already show.
    #[arg(long, requires = "out")]
    pub all: bool,
    /// JSON Patch operation on fulfillment_availability.
    #[arg(long, value_enum, default_value = "merge", requires = "out")]
    pub patch_op: PatchOpArg,
    /// Language of Amazon's issue messages, e.g. en_US, de_DE, fr_FR.
    #[arg(long, default_value = "en_US", value_parser = parse_locale, requires = "out")]
    pub issue_locale: String,
}

fn parse_locale(s: &str) -> Result<String, String> {
    let ok = s.len() >= 2
        && s.len() <= 16
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if ok {
        Ok(s.to_string())
    } else {
        Err(format!(
            "`{s}` is not a locale: write language_COUNTRY, e.g. en_US, de_DE, ja_JP"
        ))
    }
}

/// The files the preview was made from, as given on the command line.
pub struct InputPaths<'a> {
    /// One or more policy files (several policies of one seller planned together).
    pub policies: &'a [&'a Path],
    /// One or more; `-` is standard input, whose bytes are `stdin`.
    pub inventory: &'a [PathBuf],
    pub stdin: Option<&'a [u8]>,
    /// `None` for no current listings or `--current live`.
    pub current: Option<&'a Path>,
}

/// If `--out` was given: builds the saved plan from the preview's own offers and writes it.
/// Returns the plan written, or `None` without `--out`.
pub fn save(
    args: &SaveArgs,
    policy_name: &str,
    seller_id: &str,
    locations: &[Location],
    changes: &[OfferChange],
    summary: &Summary,
    files: InputPaths<'_>,
) -> miette::Result<Option<Plan>> {
    let Some(out) = &args.out else {
        return Ok(None);
    };
    let opts = build_options(args, files)?;
    let mut plan = plan::build(policy_name, seller_id, changes, summary, opts)?;
    plan.locations = plan::written_locations(locations, |code| {
        plan.operations
            .iter()
            .any(|op| op.channels.iter().any(|c| c.channel == code))
    });
    plan::seal(&mut plan);
    plan::write(&plan, out)?;
    Ok(Some(plan))
}

/// The choices and input digests a saved plan records (`--emit`, `--patch-op`, `--all`,
/// `--issue-locale`, the SHA-256 of every input file, the time).
pub fn build_options(args: &SaveArgs, files: InputPaths<'_>) -> miette::Result<BuildOptions> {
    let digest = |what: &str, p: &Path| {
        plan::digest_inputs(p).map_err(|e| {
            miette::miette!(
                code = super::codes::PLAN_INPUT,
                help =
                    "the plan records the SHA-256 of its input files; check the file is readable",
                "cannot hash the {what} file {}: {e}",
                p.display()
            )
        })
    };
    let (first, more) = files.policies.split_first().ok_or_else(|| {
        miette::miette!(
            code = super::codes::PLAN_INPUT,
            help = "give the policy file to plan: `allot plan POLICY --inventory FILE --out PATH`",
            "a plan needs at least one policy file"
        )
    })?;
    let inventory = |p: &PathBuf| match files.stdin {
        Some(bytes) if super::plan::is_stdin(p) => {
            Ok(plan::digest_bytes(plan::InputFile::STDIN, bytes))
        }
        _ => digest("inventory", p),
    };
    let (first_inventory, more_inventory) = match files.inventory.split_first() {
        Some((first, more)) => (
            inventory(first)?,
            more.iter().map(inventory).collect::<Result<Vec<_>, _>>()?,
        ),
        None => {
            return Err(miette::miette!(
                code = super::codes::PLAN_INPUT,
                help = "give the inventory to plan from: `--inventory FILE`",
                "a plan needs at least one inventory"
            ));
        }
    };
    let inputs = Inputs {
        policy: digest("policy", first)?,
        more_policies: more
            .iter()
            .map(|p| digest("policy", p))
            .collect::<Result<_, _>>()?,
        inventory: first_inventory,
        more_inventory,
        current: files
            .current
            .map(|p| digest("current listings", p))
            .transpose()?,
    };
    Ok(BuildOptions {
        emit: match args.emit {
            EmitArg::Patch => EmitChoice::Patch,
            EmitArg::Feed => EmitChoice::Feed,
            EmitArg::Auto => EmitChoice::Auto,
        },
        patch_op: match args.patch_op {
            PatchOpArg::Merge => PatchOp::Merge,
            PatchOpArg::Replace => PatchOp::Replace,
        },
        all: args.all,
        issue_locale: args.issue_locale.clone(),
        inputs,
        created_at: now_rfc3339(),
    })
}

pub fn now_rfc3339() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        // RFC 3339 formatting of a UTC time within years 0..9999 cannot fail.
        .unwrap_or_else(|_| now.unix_timestamp().to_string())
}

/// One line for stderr after saving, e.g. `saved plan.json: 12 operations (patch, merge)`.
pub fn saved_note(path: &Path, plan: &crate::plan::PlanHeader, operations: usize) -> String {
    let emit = match plan.emit {
        plan::Emit::Patch => "Listings Items PATCH requests",
        plan::Emit::Feed => "JSON_LISTINGS_FEED documents",
    };
    let op = match plan.patch_op {
        PatchOp::Merge => "merge",
        PatchOp::Replace => "replace",
    };
    format!(
        "saved {}: {} operations as {emit} ({op}); review with `allot show {}`",
        path.display(),
        operations,
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct T {
        #[command(flatten)]
        save: SaveArgs,
    }

    #[test]
    fn flags_parse_and_need_out() {
        let t = T::try_parse_from(["t"]).unwrap();
        assert!(t.save.out.is_none());
        assert_eq!(t.save.emit, EmitArg::Auto);
        assert_eq!(t.save.patch_op, PatchOpArg::Merge);
        assert_eq!(t.save.issue_locale, "en_US");
        let t = T::try_parse_from([
            "t",
            "--out",
            "p.json",
            "--emit",
            "feed",
            "--all",
            "--patch-op",
            "replace",
            "--issue-locale",
            "de_DE",
        ])
        .unwrap();
        assert_eq!(t.save.emit, EmitArg::Feed);
        assert!(t.save.all);
        assert_eq!(t.save.patch_op, PatchOpArg::Replace);
        assert!(T::try_parse_from(["t", "--emit", "feed"]).is_err());
        assert!(T::try_parse_from(["t", "--out", "p", "--issue-locale", "en US"]).is_err());
    }

    #[test]
    fn now_is_rfc3339_utc_to_the_second() {
        let s = now_rfc3339();
        assert_eq!(s.len(), 20, "{s}");
        assert!(s.ends_with('Z'));
    }

    #[test]
    fn save_writes_a_plan_that_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let policy = dir.path().join("p.allot");
        let inventory = vec![dir.path().join("inv.csv")];
        std::fs::write(&policy, "policy").unwrap();
        std::fs::write(&inventory[0], "sku\n").unwrap();
        let out = dir.path().join("plan.json");
        let t = T::try_parse_from(["t", "--out", out.to_str().unwrap()]).unwrap();
        let policies = [policy.as_path()];
        let files = || InputPaths {
            policies: &policies,
            inventory: &inventory,
            stdin: None,
            current: None,
        };
        let plan = save(&t.save, "p", "S", &[], &[], &Summary::default(), files())
            .unwrap()
            .unwrap();
        assert_eq!(plan::read(&out).unwrap(), plan);
        plan::check_inputs(&plan).unwrap();
        let missing = InputPaths {
            policies: &policies,
            inventory: &[dir.path().join("gone.csv")],
            stdin: None,
            current: None,
        };
        let err = save(&t.save, "p", "S", &[], &[], &Summary::default(), missing).unwrap_err();
        assert!(err.to_string().contains("cannot hash the inventory file"));
        // `allot::plan::input` cannot be made from outside (the run has just read the file):
        // here is its code.
        assert_eq!(
            err.code().map(|c| c.to_string()).as_deref(),
            Some(super::super::codes::PLAN_INPUT)
        );
        let none = T::try_parse_from(["t"]).unwrap();
        assert!(
            save(&none.save, "p", "S", &[], &[], &Summary::default(), files())
                .unwrap()
                .is_none()
        );
    }
}
