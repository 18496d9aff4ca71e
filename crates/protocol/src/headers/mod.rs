//! Typed custom headers (filled in below).
