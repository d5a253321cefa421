//! The test layout itself: with `autotests = false`, Cargo no longer builds
//! a file dropped into `tests/` (say, from a branch made before the move to
//! one binary), and a file in `tests/wire/` runs only once `main.rs` names
//! it with `mod`. Both would be skipped in silence; these tests say so.
use std::path::Path;

fn rust_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".rs"))
        .collect();
    names.sort();
    names
}

#[test]
fn no_test_file_is_left_outside_tests_wire() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let stray = rust_files(&tests);
    assert!(
        stray.is_empty(),
        "{stray:?} in tests/ would not run: move each to tests/wire/ and add its mod line to tests/wire/main.rs"
    );
}

#[test]
fn every_file_in_tests_wire_is_a_module() {
    let wire = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/wire");
    let main = std::fs::read_to_string(wire.join("main.rs")).expect("read tests/wire/main.rs");
    let declared: Vec<&str> = main.lines().filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';')).collect();
    for file in rust_files(&wire) {
        let module = file.trim_end_matches(".rs");
        if module != "main" {
            assert!(declared.contains(&module), "tests/wire/{file} would not run: add `mod {module};` to main.rs");
        }
    }
}
