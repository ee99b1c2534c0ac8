use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct ExplainArgs {}

pub fn run(_args: ExplainArgs) -> ExitCode {
    super::fail(miette::miette!("`allot explain` is not built yet"), 2)
}
