//! The store as a whole, through its public API: many messages over many segment rolls,
//! damaged segments, retention and disk-full refusal.

mod damage;
mod million;
mod retention;
mod support;
