use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct ShowArgs {}

pub fn run(_args: ShowArgs) -> ExitCode {
    super::fail(miette::miette!("`allot show` is not built yet"), 2)
}
