//! `allot show plan.json`: a saved plan as the preview shows it, or the raw requests it sends.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use super::Exit;
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
    if args.requests {
        return requests(&args);
    }
    // First pass: the whole file verified (version, digest, duplicate keys, invariants) before
    // anything is printed; the renderers read it again, one operation at a time.
    let verified = match crate::plan::verify(&args.plan, |_| {}) {
        Ok(v) => v,
        Err(e) => return super::fail(e.into(), Exit::Failed),
    };
    let shown = render::Shown::File(&verified);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let r = match args.format {
        Format::Table => render::write_table(&shown, &mut out),
        Format::Markdown => render::write_markdown(&shown, args.max_chars)
            .and_then(|text| Ok(out.write_all(text.as_bytes())?)),
        Format::Json => render::write_json(&shown, &mut out),
    };
    let r = r.and_then(|()| Ok(out.flush()?));
    match r {
        Ok(()) | Err(render::RenderError::Enough) => ExitCode::from(Exit::Ok),
        // A closed pipe (`allot show ... | head`) is the reader's choice, not a failure.
        Err(render::RenderError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::from(Exit::Ok)
        }
        Err(render::RenderError::Io(e)) => super::fail(
            super::codes::report::output("to standard output", e),
            Exit::Failed,
        ),
        Err(render::RenderError::Plan(e)) => super::fail(e.into(), Exit::Failed),
    }
}

/// `--requests`: the encoded requests or feed documents, each made only when it is printed.
/// The plan is verified, then read again one operation at a time. A plan sent as feeds is
/// read once more before: its documents are laid out (five bytes an operation), then read
/// once per region, each document printed when its last operation is read.
fn requests(args: &ShowArgs) -> ExitCode {
    let verified = match crate::plan::verify(&args.plan, |_| {}) {
        Ok(v) => v,
        Err(e) => return super::fail(e.into(), Exit::Failed),
    };
    let format = match args.format {
        Format::Table => render::RequestsFormat::Text,
        Format::Markdown => render::RequestsFormat::Markdown,
        Format::Json => render::RequestsFormat::Json,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match verified.header.emit {
        crate::plan::Emit::Patch => render::write_patch_requests(&mut out, &verified, format),
        crate::plan::Emit::Feed => render::write_feed_requests(&mut out, &verified, format),
    };
    let written = written.and_then(|()| {
        // The text and Markdown end with a new line already.
        if format == render::RequestsFormat::Json {
            out.write_all(b"\n")?;
        }
        Ok(out.flush()?)
    });
    match written {
        Ok(()) | Err(render::RenderError::Enough) => ExitCode::from(Exit::Ok),
        // A closed pipe (`allot show ... | head`) is the reader's choice, not a failure.
        Err(render::RenderError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            ExitCode::from(Exit::Ok)
        }
        Err(render::RenderError::Io(e)) => super::fail(
            super::codes::report::output("to standard output", e),
            Exit::Failed,
        ),
        Err(render::RenderError::Plan(e)) => super::fail(e.into(), Exit::Failed),
    }
}
