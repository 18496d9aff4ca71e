//! Consume queues (in progress).
