//! Tidy tests: the invariants of ARCHITECTURE.md that can be checked on the source tree,
//! run by plain `cargo test` (rust-analyzer's tidy tests do the same). Each test names the
//! invariant it holds; breaking one fails here with the offending file and line.

use std::path::{Path, PathBuf};

/// The workspace root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives in the workspace root")
        .to_owned()
}

/// Every `.rs` file under `dir`, skipping build output and dependencies.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() {
                if !(name.starts_with('.') || name == "target" || name == "node_modules") {
                    stack.push(p);
                }
            } else if name.ends_with(".rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// Lines of `text` that are code, not comments (a `//` comment to the end of the line is
/// cut; good enough for the macro and function names these tests look for).
fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(i, l)| {
        let code = match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        };
        (i + 1, code)
    })
}

/// Where `needle` appears in code under `dirs`, as `file:line`, except in `allowed` files.
fn occurrences(dirs: &[&str], needle: &str, allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for dir in dirs {
        for file in rust_files(&root().join(dir)) {
            let r = rel(&file);
            if allowed.contains(&r.as_str()) || r.starts_with("tests/tidy/") {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("reading a source file");
            for (line, code) in code_lines(&text) {
                if code.contains(needle) {
                    found.push(format!("{r}:{line}: {}", code.trim()));
                }
            }
        }
    }
    found
}

/// Invariant: `bindgen!` output lives only in `runtime/host/src/bindings.rs` (host) and
/// `generate!` only in the `bindings` module of `sdk/rust/src/lib.rs` (guests; the hostile
/// test guest uses the SDK's module too).
#[test]
fn bindings_are_generated_in_one_module_per_side() {
    let everywhere = ["runtime", "sdk", "plugins", "tests", "benches"];
    let host = occurrences(&everywhere, "bindgen!", &["runtime/host/src/bindings.rs"]);
    assert!(
        host.is_empty(),
        "bindgen! outside runtime/host/src/bindings.rs:\n{}",
        host.join("\n")
    );
    let guest = occurrences(&everywhere, "generate!", &["sdk/rust/src/lib.rs"]);
    assert!(
        guest.is_empty(),
        "generate! outside sdk/rust/src/lib.rs:\n{}",
        guest.join("\n")
    );
}

/// The library crates: everything under `runtime/` but the `quiver` binary.
const LIBRARIES: &[&str] = &[
    "runtime/fault/src",
    "runtime/columnar/src",
    "runtime/host/src",
    "runtime/io/src",
    "runtime/pipeline/src",
    "runtime/spec/src",
    "runtime/firstparty/src",
    "runtime/job/src",
    "runtime/server/src",
    "runtime/kernels/src",
];

/// Invariant: only `runtime/cli` knows argv, stdout and exit codes; libraries return errors
/// with a fault class and log through `tracing`.
#[test]
fn libraries_neither_print_nor_exit() {
    let mut found = Vec::new();
    for needle in [
        "println!",
        "print!(",
        "eprintln!",
        "eprint!(",
        "dbg!(",
        "process::exit",
        "ExitCode",
        "exit_code",
        "std::env::args",
    ] {
        found.extend(occurrences(LIBRARIES, needle, &[]));
    }
    assert!(
        found.is_empty(),
        "library code that prints, exits or reads argv (return an error with a fault class, \
         or log with tracing):\n{}",
        found.join("\n")
    );
}

/// House style: every source file opens with a `//!` paragraph saying what it is for.
#[test]
fn every_source_file_opens_with_a_doc_paragraph() {
    let mut missing = Vec::new();
    for dir in ["runtime", "sdk", "plugins", "tests", "benches"] {
        for file in rust_files(&root().join(dir)) {
            let text = std::fs::read_to_string(&file).expect("reading a source file");
            if !text.trim_start().starts_with("//!") {
                missing.push(rel(&file));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a //! paragraph at the top:\n{}",
        missing.join("\n")
    );
}

/// Invariant: between any two threads of a run there is a bounded channel — the engine
/// makes no unbounded channel (the dead-letter channel included).
#[test]
fn the_engine_has_no_unbounded_channel() {
    let found = occurrences(&["runtime/pipeline/src"], "unbounded", &[]);
    assert!(
        found.is_empty(),
        "unbounded channels in the engine:\n{}",
        found.join("\n")
    );
}

/// Test-only guests live in `tests/guests/`, never beside the shipped plugins (which the
/// binary embeds: everything under `plugins/` ships).
#[test]
fn test_guests_are_not_shipped() {
    for name in ["evil", "tagger", "bench-kernels"] {
        assert!(
            !root().join("plugins").join(name).exists(),
            "plugins/{name} is a test-only guest: it belongs in tests/guests/"
        );
        assert!(root().join("tests/guests").join(name).is_dir());
    }
}

/// The committed C bindings (`sdk/c/bindings/`) are exactly what `wit-bindgen c` generates
/// from `wit/` today (`tests/build.rs` generates them with the same crates, pinned to the
/// same version): a WIT change cannot leave C plugins on a stale contract.
#[test]
fn committed_c_bindings_equal_freshly_generated_ones() {
    let fresh = Path::new(env!("OUT_DIR")).join("c-bindings");
    let committed = root().join("sdk/c/bindings");
    let list = |dir: &Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let names = list(&fresh);
    assert_eq!(
        list(&committed),
        names,
        "sdk/c/bindings holds other files than wit-bindgen-c generates; run sdk/c/gen-bindings.sh"
    );
    for name in names {
        let want = std::fs::read(fresh.join(&name)).expect("a generated file");
        let have = std::fs::read(committed.join(&name)).expect("a committed file");
        assert!(
            want == have,
            "sdk/c/bindings/{name} differs from what wit-bindgen-c generates from wit/; run \
             sdk/c/gen-bindings.sh"
        );
    }
}
