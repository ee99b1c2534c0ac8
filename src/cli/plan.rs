use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct PlanArgs {}

pub fn run(_args: PlanArgs) -> ExitCode {
    super::fail(miette::miette!("`allot plan` is not built yet"), 2)
}
