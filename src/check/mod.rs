//! Stage 2: `Ast` → checked `model::Policy` + diagnostics (names, types, Amazon's rules).
