//! JSON bodies (filled in below).
