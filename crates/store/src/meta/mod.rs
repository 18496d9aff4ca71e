//! Broker metadata files (in progress).
