//! The guide: how eyeballs fits into the HTTP clients and frameworks people use.
