//! Errors of the inventory stage: every bad row is located (file, line, column), has a stable
//! code (`codes`) and says how to fix it. Rendering is plain text so it works for files far too
//! large for a source snippet; `InputError::records` gives the same errors as the records check's
//! diagnostics render from (JSON, GitHub annotations, SARIF).

use std::fmt;

use crate::diag::{JsonDiagnostic, Severity};

/// The codes of input-file errors (`--inventory` and `--current` files alike: one reader
/// plumbing, one family). Stable: never renamed once shipped; each is documented in
/// `docs/inventory.md` with a failing example that `tests/fixtures.rs` reads and checks.
pub mod codes {
    /// The file cannot be opened or read.
    pub const UNREADABLE: &str = "allot::inventory::unreadable";
    /// The file is not UTF-8 text.
    pub const NOT_UTF8: &str = "allot::inventory::not-utf8";
    /// The file is not valid CSV, JSON or YAML, or not the shape an input file has.
    pub const BAD_SYNTAX: &str = "allot::inventory::bad-syntax";
    /// The header lacks a column the format needs.
    pub const MISSING_COLUMN: &str = "allot::inventory::missing-column";
    /// Two header columns have one name.
    pub const DUPLICATE_COLUMN: &str = "allot::inventory::duplicate-column";
    /// A row has more or fewer fields than the header.
    pub const FIELD_COUNT: &str = "allot::inventory::field-count";
    /// An item of a JSON or YAML list is not a map with the keys an item has.
    pub const BAD_ITEM: &str = "allot::inventory::bad-item";
    /// A SKU cell is blank, padded or holds a character a SKU cannot.
    pub const BAD_SKU: &str = "allot::inventory::bad-sku";
    /// A location cell names no location of the policy.
    pub const UNKNOWN_LOCATION: &str = "allot::inventory::unknown-location";
    /// A quantity cell is not a count allot can take.
    pub const BAD_QUANTITY: &str = "allot::inventory::bad-quantity";
    /// Another cell (a channel, a marketplace, an attribute) holds a value it cannot.
    pub const BAD_VALUE: &str = "allot::inventory::bad-value";
    /// A second row for one SKU and location (or one seller SKU and channel).
    pub const DUPLICATE_ROW: &str = "allot::inventory::duplicate-row";
    /// Two rows (or files) give one SKU different values where they must agree.
    pub const CONFLICTING_VALUE: &str = "allot::inventory::conflicting-value";
    /// A SKU's stock over its rows does not fit in a quantity.
    pub const STOCK_OVERFLOW: &str = "allot::inventory::stock-overflow";
    /// One file given twice.
    pub const REPEATED_FILE: &str = "allot::inventory::repeated-file";

    /// Every code an input file can be refused with.
    pub const ALL: &[&str] = &[
        UNREADABLE,
        NOT_UTF8,
        BAD_SYNTAX,
        MISSING_COLUMN,
        DUPLICATE_COLUMN,
        FIELD_COUNT,
        BAD_ITEM,
        BAD_SKU,
        UNKNOWN_LOCATION,
        BAD_QUANTITY,
        BAD_VALUE,
        DUPLICATE_ROW,
        CONFLICTING_VALUE,
        STOCK_OVERFLOW,
        REPEATED_FILE,
    ];
}

/// How many row errors are kept; the rest are counted ("and N more").
pub const MAX_ROW_ERRORS: usize = 50;

/// One bad row (or cell) of an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowError {
    /// One of `codes` (a static string: building an error allocates no more than before).
    pub code: &'static str,
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
    pub fn new(code: &'static str, line: u64, message: impl Into<String>) -> Self {
        RowError {
            code,
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
    pub fn cell(
        code: &'static str,
        line: u64,
        col: usize,
        field: impl Into<String>,
        e: (String, String),
    ) -> Self {
        let (message, help) = e;
        RowError::new(code, line, message)
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
        /// One of `codes`.
        code: &'static str,
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
    pub fn file(code: &'static str, path: &str, message: impl Into<String>) -> Self {
        InputError::File {
            code,
            path: path.to_string(),
            line: None,
            column: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn file_at(
        code: &'static str,
        path: &str,
        line: u64,
        column: Option<u64>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> Self {
        InputError::File {
            code,
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

    /// The file the error is about.
    pub fn path(&self) -> &str {
        match self {
            InputError::Io { path, .. }
            | InputError::File { path, .. }
            | InputError::Rows { path, .. } => path,
        }
    }

    /// The code of the (first) problem.
    pub fn code(&self) -> &'static str {
        match self {
            InputError::Io { .. } => codes::UNREADABLE,
            InputError::File { code, .. } => code,
            InputError::Rows { errors, .. } => errors.first().map_or(codes::BAD_SYNTAX, |e| e.code),
        }
    }

    /// Every problem as the records check's diagnostics are rendered from (JSON, GitHub
    /// annotations, SARIF): one per row error kept, at its line and column (1 when unknown, as
    /// those formats need one). A field name goes in front of the message, as the text says it.
    pub fn records(&self) -> Vec<JsonDiagnostic> {
        let record = |code: &str,
                      line: Option<u64>,
                      column: Option<u64>,
                      message: String,
                      help: Option<String>| {
            let line = line.unwrap_or(1).max(1) as usize;
            let column = column.unwrap_or(1).max(1) as usize;
            JsonDiagnostic {
                file: self.path().to_string(),
                code: code.to_string(),
                severity: Severity::Error,
                message,
                help,
                line,
                column,
                end_line: line,
                end_column: column,
                related: Vec::new(),
            }
        };
        match self {
            InputError::Io { source, .. } => vec![record(
                codes::UNREADABLE,
                None,
                None,
                format!("cannot read {}: {source}", self.path()),
                None,
            )],
            InputError::File {
                code,
                line,
                column,
                message,
                help,
                ..
            } => vec![record(code, *line, *column, message.clone(), help.clone())],
            InputError::Rows { errors, .. } => errors
                .iter()
                .map(|e| {
                    let message = match &e.field {
                        Some(f) => format!("{}: {}", crate::diag::clip(f), e.message),
                        None => e.message.clone(),
                    };
                    record(e.code, Some(e.line), e.column, message, e.help.clone())
                })
                .collect(),
        }
    }
}

fn write_row(f: &mut fmt::Formatter<'_>, path: &str, e: &RowError) -> fmt::Result {
    write!(f, "error[{}]: {path}:{}", e.code, e.line)?;
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
                writeln!(
                    f,
                    "error[{}]: cannot read {path}: {source}",
                    codes::UNREADABLE
                )
            }
            InputError::File {
                code,
                path,
                line,
                column,
                message,
                help,
            } => {
                write!(f, "error[{code}]: {path}")?;
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
