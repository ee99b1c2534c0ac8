//! allot: policy-as-code for the stock a seller publishes to each Amazon marketplace and
//! fulfilment location. Data flows one way: syntax → check → sim → plan → spapi, with what allot
//! knows of Amazon in `amazon`, shared by sim, plan, spapi and sandbox (see docs/architecture.md).

pub mod amazon;
pub mod check;
pub mod cli;
pub mod diag;
pub mod fmt;
pub mod init;
mod input;
pub mod inventory;
pub mod listings;
pub mod lsp;
pub mod marketplaces;
pub mod model;
pub mod plan;
pub mod render;
pub mod sandbox;
pub mod sim;
pub mod span;
pub mod spapi;
pub mod syntax;
