//! CONFORMANCE.md cites tests by `file::name` (`resolution::he_3_5_…`,
//! `blocking_lab::by_name::…`, `crates/eyeballs/tests/parity.rs::one_table_both_drivers`):
//! every one of them must exist, so that the table cannot silently point at a test that was
//! renamed or removed.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The citations of the table: code spans of the form `a::b` whose last part is a snake_case
/// name and whose first part names a file (a test file, or a path ending in `.rs`).
fn citations(table: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for span in table.split('`').skip(1).step_by(2) {
        let parts: Vec<&str> = span.split("::").collect();
        let [first, .., last] = parts.as_slice() else {
            continue;
        };
        let is_name = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        let file = first
            .rsplit('/')
            .next()
            .unwrap_or(first)
            .trim_end_matches(".rs");
        // Glob-like citations (`he_4_2_*`) and type paths (`Engine::screen_answer`) are not
        // test names.
        if is_name(file) && parts[1..].iter().all(|p| is_name(p)) {
            found.insert((file.to_owned(), (*last).to_owned()));
        }
    }
    found
}

#[test]
fn every_cited_test_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let table = fs::read_to_string(root.join("CONFORMANCE.md")).expect("CONFORMANCE.md");
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    let mut missing = Vec::new();
    let cited = citations(&table);
    assert!(
        cited.len() > 50,
        "the table cites only {} tests",
        cited.len()
    );
    for (file, name) in &cited {
        let sources: Vec<String> = files
            .iter()
            .filter(|p| p.file_stem().is_some_and(|s| s == file.as_str()))
            .filter_map(|p| fs::read_to_string(p).ok())
            .collect();
        if sources.is_empty() {
            // Not a file: a module path such as `eyeballs_proto::sim` or a type's method.
            continue;
        }
        let defined = sources.iter().any(|src| {
            src.contains(&format!("fn {name}(")) || src.contains(&format!("mod {name} "))
        });
        if !defined {
            missing.push(format!("{file}::{name}"));
        }
    }
    assert!(
        missing.is_empty(),
        "cited in CONFORMANCE.md but not found: {missing:?}"
    );
}
