//! Errors of the inventory stage: every bad row is located (file, line, column) and says how to
//! fix it. Rendering is plain text so it works for files far too large for a source snippet.

use std::fmt;

/// How many row errors are kept; the rest are counted ("and N more").
pub const MAX_ROW_ERRORS: usize = 50;

/// One bad row (or cell) of an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// 1-based line of the row in the file.
    pub line: u64,
    /// 1-based column: the field number for CSV, the character column for JSON and YAML.
    pub column: Option<u64>,
    /// The column name or JSON key the error is about.
    pub field: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

impl RowError {
    pub fn new(line: u64, message: impl Into<String>) -> Self {
        RowError {
            line,
            column: None,
            field: None,
            message: message.into(),
            help: None,
        }
    }

    /// Name the field; `column` (when known) replaces the row's column.
    pub fn field(mut self, column: Option<u64>, field: impl Into<String>) -> Self {
        if column.is_some() {
            self.column = column;
        }
        self.field = Some(field.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// An error about one CSV cell: 0-based column `col` named `field`, from a
    /// `(message, help)` pair as the cell parsers return it.
    pub fn cell(line: u64, col: usize, field: impl Into<String>, e: (String, String)) -> Self {
        let (message, help) = e;
        RowError::new(line, message)
            .field(Some(col as u64 + 1), field)
            .help(help)
    }
}

/// Collects row errors up to `MAX_ROW_ERRORS`, counting the rest.
#[derive(Debug, Default)]
pub struct RowErrors {
    pub errors: Vec<RowError>,
    pub more: usize,
}

impl RowErrors {
    pub fn push(&mut self, e: RowError) {
        if self.errors.len() < MAX_ROW_ERRORS {
            self.errors.push(e);
        } else {
            self.more += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    /// Every error pushed, kept or only counted.
    pub fn count(&self) -> usize {
        self.errors.len() + self.more
    }

    /// The value, or None with its error recorded: lets a row report every bad cell at once.
    pub fn keep<T>(&mut self, r: Result<T, RowError>) -> Option<T> {
        r.map_err(|e| self.push(e)).ok()
    }
}

/// Why an input file (inventory or current listings) could not be read. No partial result is
/// ever produced: one bad row fails the whole file.
#[derive(Debug)]
pub enum InputError {
    /// The file could not be opened or read.
    Io {
        path: String,
        source: std::io::Error,
    },
    /// The file as a whole is unusable (bad header, not JSON, unknown format…).
    File {
        path: String,
        line: Option<u64>,
        column: Option<u64>,
        message: String,
        help: Option<String>,
    },
    /// One or more rows are wrong; every one is listed (up to the limit).
    Rows {
        path: String,
        errors: Vec<RowError>,
        more: usize,
    },
}

/// The inventory stage's error type.
pub type InventoryError = InputError;

impl InputError {
    pub fn file(path: &str, message: impl Into<String>) -> Self {
        InputError::File {
            path: path.to_string(),
            line: None,
            column: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn file_at(
        path: &str,
        line: u64,
        column: Option<u64>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Self {
        InputError::File {
            path: path.to_string(),
            line: Some(line),
            column,
            message: message.into(),
            help,
        }
    }

    pub fn rows(path: &str, rows: RowErrors) -> Self {
        InputError::Rows {
            path: path.to_string(),
            errors: rows.errors,
            more: rows.more,
        }
    }

    /// How many problems the error reports (for tests and summaries).
    pub fn count(&self) -> usize {
        match self {
            InputError::Rows { errors, more, .. } => errors.len() + more,
            _ => 1,
        }
    }
}

fn write_row(f: &mut fmt::Formatter<'_>, path: &str, e: &RowError) -> fmt::Result {
    write!(f, "error: {path}:{}", e.line)?;
    // A field name is the file's header text: clipped like any quoted input.
    let field = e.field.as_deref().map(crate::diag::clip);
    match (&e.column, &field) {
        (Some(c), Some(name)) => write!(f, ", column {c} ({name})")?,
        (None, Some(name)) => write!(f, " ({name})")?,
        (Some(c), None) => write!(f, ", column {c}")?,
        (None, None) => {}
    }
    writeln!(f, ": {}", e.message)?;
    if let Some(h) = &e.help {
        writeln!(f, "  help: {h}")?;
    }
    Ok(())
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InputError::Io { path, source } => {
                writeln!(f, "error: cannot read {path}: {source}")
            }
            InputError::File {
                path,
                line,
                column,
                message,
                help,
            } => {
                write!(f, "error: {path}")?;
                if let Some(l) = line {
                    write!(f, ":{l}")?;
                }
                if let Some(c) = column {
                    write!(f, ":{c}")?;
                }
                writeln!(f, ": {message}")?;
                if let Some(h) = help {
                    writeln!(f, "  help: {h}")?;
                }
                Ok(())
            }
            InputError::Rows { path, errors, more } => {
                for e in errors {
                    write_row(f, path, e)?;
                }
                if *more > 0 {
                    writeln!(f, "... and {more} more errors in {path}")?;
                }
                let n = errors.len() + more;
                writeln!(
                    f,
                    "{path}: {n} error{}; nothing was read (fix them and run again)",
                    if n == 1 { "" } else { "s" }
                )
            }
        }
    }
}

impl std::error::Error for InputError {}
