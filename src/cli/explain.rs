//! `allot explain POLICY --inventory FILE SKU`: trace one inventory SKU through the policy.
//! Exit 0, or 1 on an error (bad policy, inventory, I/O, simulation error).

use std::io::Write;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

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
    #[command(flatten)]
    pub input: InputArgs,
    /// The inventory SKU to trace (it may be missing from the inventory).
    #[arg(value_name = "SKU")]
    pub sku: String,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

pub fn run(args: ExplainArgs) -> ExitCode {
    let loaded = match load(&args.input) {
        Ok(l) => l,
        Err(code) => return code,
    };
    let trace = match crate::sim::explain(
        &loaded.policy,
        &loaded.stock,
        loaded.current.as_ref(),
        &args.sku,
    ) {
        Ok(t) => t,
        Err(e) => {
            eprint!("{e}");
            return ExitCode::from(1);
        }
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let res = match args.format {
        Format::Text => preview::trace_text(&mut out, &loaded.policy, &trace),
        Format::Json => preview::trace_json(&mut out, &loaded.policy, &trace),
    };
    if let Err(e) = res.and_then(|()| out.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        return super::fail(miette::miette!("cannot write: {e}"), 1);
    }
    if !trace.in_inventory && trace.decided.is_none() {
        eprintln!(
            "note: `{}` is not in {} and no rule matches it",
            args.sku,
            args.input.inventory.display()
        );
    }
    ExitCode::SUCCESS
}
