//! `allot sources [POLICY...]`: the seller's supply sources (Supply Sources API), and with
//! policies, the check that each `supply_source` they name is one of them and active. The same
//! check runs before `allot plan --current live` reads anything. Exit 0 fine, 1 a policy names
//! a supply source that is missing or not active (or a policy does not check), 2 usage,
//! credentials or SP-API error.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use miette::miette;
use serde::Serialize;

use super::Exit;
use crate::diag::Diagnostic;
use crate::marketplaces::Region;
use crate::model::Policy;
use crate::render::diagnostics::{SourceFile, human_all, want_color};
use crate::spapi::client::Client;
use crate::spapi::supply_sources::{self as ss, Matched, Problem, SupplySource};
use crate::syntax::ast::ItemKind;

/// A policy's `supply_source` that is not one of the seller's supply sources.
pub const SUPPLY_SOURCE_UNKNOWN: &str = "allot::supply-source-unknown";
/// A policy's `supply_source` that exists but is not Active.
pub const SUPPLY_SOURCE_INACTIVE: &str = "allot::supply-source-inactive";

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct SourcesArgs {
    /// Policy files or folders: check that every `supply_source` they name is one of the
    /// seller's supply sources (by ID or code) and Active.
    #[arg(value_name = "POLICY")]
    pub policies: Vec<PathBuf>,
    /// The region whose supply sources to list (NA, EU or FE). Default: the policies' region,
    /// else NA (multi-location inventory is a US program).
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    #[command(flatten, next_help_heading = "SP-API")]
    pub conn: super::apply::ConnectionArgs,
}

/// One `location ... supply_source "..."` of a policy, checked.
#[derive(Debug, Serialize)]
struct Checked<'a> {
    policy: &'a str,
    location: &'a str,
    supply_source: &'a str,
    /// The matching source's ID, if any.
    found: Option<&'a str>,
    matched: Option<Matched>,
    status: Option<&'a str>,
    ok: bool,
}

#[derive(Serialize)]
struct JsonOut<'a> {
    region: &'static str,
    supply_sources: &'a [SupplySource],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    checked: Vec<Checked<'a>>,
}

/// The regions whose supply sources a policy's locations can be (its marketplaces').
fn regions_of(policy: &Policy) -> Vec<Region> {
    let mut r: Vec<Region> = policy.marketplaces.iter().map(|m| m.region).collect();
    r.sort();
    r.dedup();
    r
}

/// Where each location's `supply_source` string is written in the file (its quotes).
fn supply_source_spans(file: &SourceFile) -> Vec<(String, crate::span::Span)> {
    match crate::syntax::parse(&file.text) {
        Ok(ast) => ast
            .items
            .iter()
            .filter_map(|i| match &i.kind {
                ItemKind::Location {
                    name,
                    supply_source: Some(s),
                } => Some((name.node.clone(), s.span)),
                _ => None,
            })
            .collect(),
        // The file checked clean a moment ago; without spans the errors are still named.
        Err(_) => Vec::new(),
    }
}

/// Labels the diagnostic at `span` when the string was found in the file.
fn at(d: Diagnostic, span: Option<crate::span::Span>, text: impl Into<String>) -> Diagnostic {
    match span {
        Some(s) => d.at(s, text),
        None => d,
    }
}

/// The diagnostics of one policy's supply sources against `sources` (statuses known).
pub fn diagnostics(
    file: &SourceFile,
    policy: &Policy,
    region: Region,
    sources: &[SupplySource],
) -> Vec<Diagnostic> {
    let spans = supply_source_spans(file);
    let wanted = policy
        .locations
        .iter()
        .filter_map(|l| Some((l.name.as_str(), l.supply_source.as_deref()?)));
    let mut out = Vec::new();
    for (location, code, problem) in ss::check(wanted, sources) {
        let span = spans.iter().find(|(n, _)| n == location).map(|(_, s)| *s);
        let d = match problem {
            Problem::Unknown { nearest } => {
                let help = match nearest {
                    Some(n) => format!(
                        "did you mean {n}? `allot sources` lists the seller's supply sources"
                    ),
                    None if sources.is_empty() => format!(
                        "the seller has no supply source in region {}: create it first \
                         (createSupplySource, or Seller Central), as multi-location inventory requires",
                        region.as_str()
                    ),
                    None => "`allot sources` lists the seller's supply sources: use one's ID \
                             (or code), or create this one first (createSupplySource)"
                        .to_string(),
                };
                let d = Diagnostic::error(
                    SUPPLY_SOURCE_UNKNOWN,
                    format!(
                        "location `{location}`: the seller has no supply source `{}` in region {} (by ID or code)",
                        crate::diag::clip(code),
                        region.as_str()
                    ),
                )
                .help(help)
                ;
                at(d, span, "not one of the seller's supply sources")
            }
            Problem::NotActive { alias, status } => {
                let d = Diagnostic::error(
                SUPPLY_SOURCE_INACTIVE,
                format!(
                    "location `{location}`: supply source `{}` ({alias}) is {status}, not Active",
                    crate::diag::clip(code)
                ),
            )
            .help(if status == "Archived" {
                "an archived supply source cannot take quantities again: create a new one and use its ID".to_string()
            } else {
                "activate it (updateSupplySourceStatus, or Seller Central) before publishing quantities to it".to_string()
            })
            ;
                at(d, span, status)
            }
        };
        out.push(d);
    }
    out
}

/// The supply-source check of `plan --current live` and `allot sources POLICY`: every
/// `supply_source` of every policy against the seller's sources in its region. Prints the
/// problems (located) and returns false if there are any.
pub async fn check_policies(
    client: &Client,
    policies: &[(&SourceFile, &Policy)],
) -> Result<bool, crate::spapi::SpApiError> {
    let color = want_color(std::io::stderr().is_terminal());
    let mut ok = true;
    let mut listed: Vec<(Region, Vec<SupplySource>)> = Vec::new();
    for (file, policy) in policies {
        if policy.locations.iter().all(|l| l.supply_source.is_none()) {
            continue;
        }
        for region in regions_of(policy) {
            let sources = sources_of(client, region, &mut listed, policy).await?;
            let diags = diagnostics(file, policy, region, sources);
            if !diags.is_empty() {
                ok = false;
                eprint!("{}", human_all(file, &diags, color));
            }
        }
    }
    Ok(ok)
}

/// The region's supply sources, listed once, with the status of those `policy` names.
async fn sources_of<'a>(
    client: &Client,
    region: Region,
    listed: &'a mut Vec<(Region, Vec<SupplySource>)>,
    policy: &Policy,
) -> Result<&'a [SupplySource], crate::spapi::SpApiError> {
    let i = match listed.iter().position(|(r, _)| *r == region) {
        Some(i) => i,
        None => {
            listed.push((region, ss::list(client, region).await?));
            listed.len() - 1
        }
    };
    let sources = &mut listed[i].1;
    for l in &policy.locations {
        let Some(code) = l.supply_source.as_deref() else {
            continue;
        };
        let Some(k) = ss::find(sources, code).map(|(s, _)| s.supply_source_id.clone()) else {
            continue;
        };
        if let Some(s) = sources
            .iter_mut()
            .find(|s| s.supply_source_id == k && s.status.is_none())
        {
            s.status = ss::get(client, region, &k).await?.status;
        }
    }
    Ok(&listed[i].1)
}

pub fn run(args: SourcesArgs) -> ExitCode {
    let region = match args.region.as_deref() {
        None => None,
        Some(r) => match Region::parse(&r.trim().to_ascii_uppercase()) {
            Some(r) => Some(r),
            None => {
                return super::fail(
                    miette!(
                        code = super::codes::SOURCES_REGION,
                        help = "give NA, EU or FE (the SP-API region of the seller's account)",
                        "--region: unknown region `{}`",
                        crate::diag::clip(r)
                    ),
                    Exit::Usage,
                );
            }
        },
    };
    let (checked, _) = if args.policies.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        match super::plan::load_policies(&args.policies, super::plan::ErrorFormat::Human) {
            Ok(c) => c,
            Err(code) => return code,
        }
    };
    let mut regions: Vec<Region> = checked.iter().flat_map(|(_, p)| regions_of(p)).collect();
    regions.sort();
    regions.dedup();
    let region = match (region, regions.as_slice()) {
        (Some(r), _) => r,
        (None, []) => Region::NA,
        (None, [r]) => *r,
        (None, _) => {
            return super::fail(
                miette!(
                    code = super::codes::SOURCES_REGION,
                    help = "check one region at a time: give --region NA, EU or FE",
                    "the policies name marketplaces of several regions"
                ),
                Exit::Usage,
            );
        }
    };
    let client = match super::apply::make_client(&args.conn) {
        Ok(c) => c,
        Err(r) => return super::fail(r, Exit::Usage),
    };
    let rt = match super::apply::runtime() {
        Ok(rt) => rt,
        Err(r) => return super::fail(r, Exit::Usage),
    };
    let sources = match rt.block_on(ss::list_with_status(&client, region)) {
        Ok(s) => s,
        Err(e) => {
            return super::fail(
                miette!(
                    code = super::codes::SOURCES,
                    help = "check the credentials, --endpoint and that the seller authorised the app's Supply Sources role",
                    "cannot list the supply sources: {e}"
                ),
                Exit::Usage,
            );
        }
    };
    let color = want_color(std::io::stderr().is_terminal());
    let mut problems = 0usize;
    let mut rows = Vec::new();
    for (file, policy) in &checked {
        let diags = diagnostics(file, policy, region, &sources);
        problems += diags.len();
        if !diags.is_empty() {
            eprint!("{}", human_all(file, &diags, color));
        }
        for l in &policy.locations {
            let Some(code) = l.supply_source.as_deref() else {
                continue;
            };
            let found = ss::find(&sources, code);
            rows.push(Checked {
                policy: &file.name,
                location: &l.name,
                supply_source: code,
                found: found.map(|(s, _)| s.supply_source_id.as_str()),
                matched: found.map(|(_, m)| m),
                status: found.and_then(|(s, _)| s.status.as_deref()),
                ok: found.is_some_and(|(s, _)| s.status.as_deref() == Some("Active")),
            });
        }
    }
    let printed = match args.format {
        Format::Json => serde_json::to_string_pretty(&JsonOut {
            region: region.as_str(),
            supply_sources: &sources,
            checked: rows,
        })
        .map(|t| println!("{t}"))
        .map_err(|e| e.to_string()),
        Format::Table => {
            print!("{}", table(region, &sources, &rows));
            Ok(())
        }
    };
    if let Err(e) = printed {
        return super::fail(super::codes::report::output("the list", e), Exit::Usage);
    }
    if problems > 0 {
        eprintln!(
            "{problems} supply source problem{}: plans that write these locations would fail",
            if problems == 1 { "" } else { "s" }
        );
        return ExitCode::from(Exit::Failed);
    }
    ExitCode::from(Exit::Ok)
}

fn table(region: Region, sources: &[SupplySource], rows: &[Checked]) -> String {
    let mut out = String::new();
    if sources.is_empty() {
        out.push_str(&format!(
            "No supply sources in region {}.\n",
            region.as_str()
        ));
    } else {
        let used = |s: &SupplySource| {
            let names: Vec<&str> = rows
                .iter()
                .filter(|r| r.found == Some(s.supply_source_id.as_str()))
                .map(|r| r.location)
                .collect();
            names.join(", ")
        };
        let head = [
            "ALIAS",
            "SUPPLY SOURCE ID",
            "CODE",
            "STATUS",
            "PLACE",
            "POLICY LOCATION",
        ];
        let cells: Vec<[String; 6]> = sources
            .iter()
            .map(|s| {
                [
                    s.alias.clone(),
                    s.supply_source_id.clone(),
                    s.supply_source_code.clone(),
                    s.status.clone().unwrap_or_else(|| "?".into()),
                    s.place.clone(),
                    used(s),
                ]
            })
            .collect();
        let cols = if rows.is_empty() { 5 } else { 6 };
        let mut width = head.map(|h| h.chars().count());
        for r in &cells {
            for (w, c) in width.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut l = String::new();
            for (i, c) in cells.iter().enumerate().take(cols) {
                if i + 1 == cols {
                    l.push_str(c);
                } else {
                    l.push_str(&format!("{c:<w$}  ", w = width[i]));
                }
            }
            l.trim_end().to_string() + "\n"
        };
        out.push_str(&line(&head.map(String::from)));
        for r in &cells {
            out.push_str(&line(r));
        }
    }
    let missing: Vec<&Checked> = rows.iter().filter(|r| r.found.is_none()).collect();
    for r in missing {
        out.push_str(&format!(
            "\n{} location `{}`: supply_source `{}` is not one of these\n",
            r.policy, r.location, r.supply_source
        ));
    }
    out
}
