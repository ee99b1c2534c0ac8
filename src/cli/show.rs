//! `allot show plan.json`: a saved plan as the preview shows it, or the raw requests it sends.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::render::plan as render;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Table,
    Markdown,
    Json,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The saved plan (written by `allot plan ... --out PATH`).
    pub plan: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Print the raw requests instead (method, path with query, body), or the feed documents
    /// when the plan is sent as feeds.
    #[arg(long)]
    pub requests: bool,
    /// Markdown only: the most characters the comment may have (GitHub allows 65,536).
    #[arg(long, value_name = "N", default_value_t = 60_000)]
    pub max_chars: usize,
}

pub fn run(args: ShowArgs) -> ExitCode {
    let plan = match crate::plan::read(&args.plan) {
        Ok(p) => p,
        Err(e) => return super::fail(e.into(), 1),
    };
    let text = if args.requests {
        let requests = match render::requests(&plan) {
            Ok(r) => r,
            Err(e) => return super::fail(e.into(), 1),
        };
        match args.format {
            Format::Table => render::requests_text(&requests),
            Format::Markdown => render::requests_markdown(&requests),
            Format::Json => render::requests_json(&requests),
        }
    } else {
        match args.format {
            Format::Table => render::table(&plan),
            Format::Markdown => render::markdown(&plan, args.max_chars),
            Format::Json => render::json(&plan),
        }
    };
    let mut text = text;
    if !text.ends_with('\n') {
        text.push('\n');
    }
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        // A closed pipe (`allot show ... | head`) is the reader's choice, not a failure.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            super::fail(miette::miette!("cannot write to standard output: {e}"), 1)
        }
        _ => ExitCode::SUCCESS,
    }
}
