//! Renderers, one per output format (human, json, markdown).
