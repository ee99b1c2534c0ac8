//! `allot explain POLICY --inventory FILE SKU`: trace one inventory SKU through the policy.
//! Exit 0, or 1 on an error (bad policy, inventory, I/O, simulation error).

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::Exit;
use super::plan::{InputArgs, load};
use crate::render::preview;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The policy file.
    #[arg(value_name = "POLICY")]
    pub policy: std::path::PathBuf,
    #[command(flatten)]
    pub input: InputArgs,
    /// The inventory SKU to trace (it may be missing from the inventory), or a seller SKU the
    /// policy publishes (`YOGA-1-US`): its inventory SKU is traced.
    #[arg(value_name = "SKU")]
    pub sku: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: ExplainArgs) -> ExitCode {
    super::errout::set_format(args.input.error_format);
    let loaded = match load(std::slice::from_ref(&args.policy), &args.input) {
        // Never dropped: see `Loaded`.
        Ok(l) => std::mem::ManuallyDrop::new(l),
        Err(code) => return code,
    };
    let Some(member) = loaded.members.first() else {
        return ExitCode::from(Exit::Failed);
    };
    // A SKU that is no inventory SKU may be a seller SKU: trace the inventory SKU behind it.
    let source = if member.stock.get(&args.sku).is_none() {
        crate::sim::seller_sku_source(&member.policy, &member.stock, &args.sku)
    } else {
        None
    };
    let sku = source
        .as_ref()
        .map_or(args.sku.as_str(), |s| &s.inventory_sku);
    let trace = match crate::sim::explain(
        &member.policy,
        &member.stock,
        loaded.current.as_ref(),
        sku,
        loaded.options,
    ) {
        Ok(t) => t,
        Err(e) => {
            eprint!("{}", e.human(&[&member.file]));
            super::plan::report_records(loaded.error_format, &e.records(&[&member.file]));
            return ExitCode::from(Exit::Failed);
        }
    };
    let trace = crate::sim::Trace {
        seller_sku: source,
        ..trace
    };
    super::errout::output_written(args.format == Format::Json);
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let res = match args.format {
        Format::Text => preview::trace_text(&mut out, &member.policy, &trace),
        Format::Json => preview::trace_json(&mut out, &member.policy, &trace),
    };
    if let Err(e) = res.and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return super::fail(super::codes::report::output("the trace", e), Exit::Failed);
    }
    if !trace.in_inventory && trace.seller_sku.is_none() {
        // Traced as a SKU without stock rows: say so, and what was probably meant.
        let near = member
            .stock
            .items()
            .find(|i| i.sku().eq_ignore_ascii_case(&args.sku))
            .map(|i| i.sku())
            .or_else(|| {
                crate::diag::did_you_mean(&args.sku, member.stock.items().map(|i| i.sku()))
            });
        eprintln!(
            "note: `{}` is not in {}{}, and no rule publishes it as a seller SKU{}",
            args.sku,
            args.input
                .inventory
                .iter()
                .map(|p| if super::plan::is_stdin(p) {
                    "<stdin>".to_string()
                } else {
                    p.display().to_string()
                })
                .collect::<Vec<_>>()
                .join(", "),
            if trace.decided.is_none() {
                " and no rule matches it"
            } else {
                ""
            },
            near.map_or(String::new(), |n| format!(
                "; did you mean the inventory SKU `{n}`?"
            ))
        );
    }
    ExitCode::from(Exit::Ok)
}
