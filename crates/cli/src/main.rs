//! The ferromq binary.
fn main() {}
