use std::process::ExitCode;

fn main() -> ExitCode {
    allot::cli::main()
}
