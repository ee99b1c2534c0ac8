//! The formatter (`allot fmt`): one canonical layout, comments kept.
