//! The hyper connector (being written).
