//! Renderers, one per output format (human, json, markdown). Stages build values; only the CLI
//! decides where rendered text goes.

pub mod diagnostics;
pub mod diff;
pub mod plan;
pub mod preview;
