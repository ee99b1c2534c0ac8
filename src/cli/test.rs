use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct TestArgs {}

pub fn run(_args: TestArgs) -> ExitCode {
    super::fail(miette::miette!("`allot test` is not built yet"), 2)
}
