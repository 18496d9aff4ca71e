//! The store as a whole, through its public API: many messages over many segment rolls,
//! damaged segments, retention and disk-full refusal.

// Test code: a failed unwrap or index is a failed test, which is what it should be.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod damage;
mod lifecycle;
mod million;
mod reads;
mod retention;
mod support;
