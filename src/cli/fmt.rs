use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct FmtArgs {}

pub fn run(_args: FmtArgs) -> ExitCode {
    super::fail(miette::miette!("`allot fmt` is not built yet"), 2)
}
