//! Message encoding (filled in below).
