//! Stage 1: policy text → `Ast`. The grammar lives in `grammar/allot.pest`.

pub mod ast;
