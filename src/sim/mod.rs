//! Stage 3: the allocation engine, Amazon's model and the preview.

pub mod amazon;
