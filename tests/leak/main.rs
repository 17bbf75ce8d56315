//! No leak across repeated attacks: every `evil` mode, 100 times over, and the host's
//! resident memory ends where it started (within a generous bound).
//!
//! A test binary of its own with a single test, so that no other test's allocations move
//! this process's resident set while it is measured.

use std::time::Duration;

use bytesize::ByteSize;
use quiver_host::{Limits, Sandbox};
use quiver_tests::{evil_input, load, plugins, rss_bytes, runtime};

/// Attacks of each mode.
const ROUNDS: usize = 100;

/// Modes that fail in `process`; each attack discards an instance and the next call builds
/// a fresh one.
const PROCESS_MODES: &[&str] = &[
    "loop-process",
    "memory-bomb",
    "stack-overflow",
    "shadow-stack-overflow",
    "output-flood",
    "many-batches",
    "wrong-row-count",
    "offsets-out-of-bounds",
    "invalid-utf8",
    "short-validity",
    "wrong-schema",
    "panic",
    "unreachable",
    "read-file",
    "read-env",
    "open-socket",
    "stderr-flood",
    "stdout-flood",
    "sleep",
    "busy-clock",
    "exit",
];

/// Modes that fail while the transformer is being created (`loop-finish` is attacked
/// separately, at the end of a stream each time).
const CREATE_MODES: &[&str] = &["loop-create", "panic-create", "bad-declared-schema"];

#[test]
fn host_memory_returns_to_its_level_after_100_attacks_of_every_mode() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let evil = load(&rt, plugins::EVIL);
    let hostile = evil_input(1000, true);
    let limits = Limits {
        memory: ByteSize::mib(32),
        deadline: Duration::from_millis(20),
        captured_output: ByteSize::kib(16),
        max_consecutive_failures: 1000,
        ..Limits::default()
    };
    let sandbox = Sandbox::with_limits(limits);
    let config = |mode: &str| format!(r#"{{"mode":"{mode}","bytes":1048576}}"#);

    let attack_all = |rounds: usize| {
        for mode in PROCESS_MODES {
            let mut t = evil
                .transformer(&config(mode), hostile.schema(), &sandbox)
                .unwrap_or_else(|e| panic!("{mode}: {e}"));
            for _ in 0..rounds {
                // Floods succeed; every other mode fails. Either way the host goes on.
                let _ = t.process(&hostile);
            }
            assert!(!t.is_quarantined(), "{mode}");
        }
        for _ in 0..rounds {
            let mut t = evil
                .transformer(&config("loop-finish"), hostile.schema(), &sandbox)
                .unwrap();
            assert!(t.finish().is_err(), "loop-finish");
        }
        for mode in CREATE_MODES {
            for _ in 0..rounds {
                assert!(
                    evil.transformer(&config(mode), hostile.schema(), &sandbox)
                        .is_err(),
                    "{mode}"
                );
            }
        }
    };

    // Warm up: first instances, lazily built tables, allocator arenas.
    attack_all(3);
    let before = rss_bytes();
    attack_all(ROUNDS);
    let after = rss_bytes();
    let grown = after.saturating_sub(before);
    eprintln!(
        "resident memory before {} MiB, after {} attacks of {} modes {} MiB",
        before >> 20,
        ROUNDS,
        PROCESS_MODES.len() + CREATE_MODES.len() + 1,
        after >> 20
    );
    // A leak of even one guest memory (32 MiB) per 10 attacks would be 300+ MiB here.
    assert!(
        grown < 64 << 20,
        "resident memory grew by {} MiB over {ROUNDS} rounds of attacks",
        grown >> 20
    );
}
