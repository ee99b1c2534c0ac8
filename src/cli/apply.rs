use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct ApplyArgs {}

pub fn run(_args: ApplyArgs) -> ExitCode {
    super::fail(miette::miette!("`allot apply` is not built yet"), 2)
}
