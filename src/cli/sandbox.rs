use std::process::ExitCode;

use clap::Args;

#[derive(Debug, Args)]
pub struct SandboxArgs {}

pub fn run(_args: SandboxArgs) -> ExitCode {
    super::fail(miette::miette!("`allot sandbox` is not built yet"), 2)
}
