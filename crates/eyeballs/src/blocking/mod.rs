//! The blocking API (being written).
