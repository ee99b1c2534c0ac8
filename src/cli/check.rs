use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct CheckArgs {}

pub fn run(_args: CheckArgs) -> ExitCode {
    super::fail(miette::miette!("`allot check` is not built yet"), 2)
}
