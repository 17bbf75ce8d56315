//! The sandbox against `tests/guests/evil`: one test per attack, each showing that the host
//! survives, that the error names the kind, plugin and batch, and that the next batch on the
//! same stage comes out right; plus quarantine, fuel determinism, grants, the operator's
//! ceiling, accounting, and a runaway plugin beside a healthy pipeline.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use bytesize::ByteSize;
use quiver_host::{
    Call, DirGrant, ErrorKind, Grants, Limits, Metering, Plugin, PluginError, Runtime,
    RuntimeConfig, Sandbox, Transformer, TrapKind,
};
use quiver_tests::{evil_input, load, plugins, runtime};

const ROWS: usize = 1000;

/// Limits that make attacks end quickly: a short deadline, a small memory cap.
fn tight() -> Limits {
    Limits {
        memory: ByteSize::mib(32),
        deadline: Duration::from_millis(300),
        ..Limits::default()
    }
}

fn evil(runtime: &Runtime) -> Plugin {
    load(runtime, plugins::EVIL)
}

/// A stream of `evil` with `config`, on a runtime of its own, for batches of
/// [`evil_input`]'s schema.
fn stream(config: &str, sandbox: &Sandbox) -> Result<Transformer, PluginError> {
    let dir = tempfile::tempdir().unwrap();
    let plugin = evil(&runtime(dir.path()));
    plugin.transformer(config, evil_input(1, false).schema(), sandbox)
}

/// Attack once on batch 1 between two benign batches; return the attack's error after
/// checking the benign batches came through unchanged and the error names plugin and batch.
fn attack(mode: &str, limits: Limits) -> PluginError {
    attack_with(
        &format!(r#"{{"mode":"{mode}"}}"#),
        Sandbox::with_limits(limits),
    )
}

fn attack_with(config: &str, sandbox: Sandbox) -> PluginError {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let plugin = evil(&rt);
    let benign = evil_input(ROWS, false);
    let hostile = evil_input(ROWS, true);
    let mut t = plugin
        .transformer(config, benign.schema(), &sandbox)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(t.process(&benign).unwrap(), vec![benign.clone()]);
    let err = t.process(&hostile).unwrap_err();
    assert_eq!(err.plugin.name, "evil");
    assert_eq!(err.plugin.version, "0.1.0");
    assert_eq!(err.plugin.sha256, plugin.sha256());
    assert_eq!(err.call, Call::Process);
    assert_eq!(err.batch, Some(1), "{err}");
    // The same stage serves the next batch correctly (on a fresh instance after a trap).
    assert_eq!(
        t.process(&benign)
            .unwrap_or_else(|e| panic!("after `{err}`: {e}")),
        vec![benign.clone()]
    );
    assert!(t.finish().unwrap().is_empty());
    assert!(!t.is_quarantined());
    err
}

fn trap_kind(err: &PluginError) -> Option<TrapKind> {
    match &err.kind {
        ErrorKind::Trap { trap, .. } => Some(*trap),
        _ => None,
    }
}

fn invalid_output(err: &PluginError) -> (Option<String>, String) {
    match &err.kind {
        ErrorKind::InvalidOutput { column, reason } => (column.clone(), reason.clone()),
        other => panic!("expected an invalid output, got {other}"),
    }
}

#[test]
fn infinite_loop_in_process_hits_the_deadline() {
    let err = attack("loop-process", tight());
    assert_eq!(trap_kind(&err), Some(TrapKind::Deadline), "{err}");
}

#[test]
fn memory_bomb_hits_the_memory_cap() {
    let err = attack("memory-bomb", tight());
    assert_eq!(trap_kind(&err), Some(TrapKind::OutOfMemory), "{err}");
}

#[test]
fn unbounded_recursion_overflows_the_stack() {
    let err = attack("stack-overflow", tight());
    assert_eq!(trap_kind(&err), Some(TrapKind::StackOverflow), "{err}");
}

#[test]
fn overflowing_the_data_stack_in_linear_memory_is_a_trap() {
    // Rust keeps large locals on a stack in linear memory; running off its bottom is an
    // out-of-bounds access, caught by the guard pages like any other.
    let err = attack("shadow-stack-overflow", tight());
    assert_eq!(trap_kind(&err), Some(TrapKind::Other), "{err}");
    assert!(
        err.to_string().contains("out of bounds memory access"),
        "{err}"
    );
}

#[test]
fn output_flood_is_refused_by_the_output_ratio() {
    let err = attack("output-flood", tight());
    let (_, reason) = invalid_output(&err);
    assert!(
        reason.contains("1000000 rows for 1000 input rows"),
        "{reason}"
    );
    assert!(reason.contains("output_rows_ratio"), "{reason}");
}

#[test]
fn a_million_empty_batches_are_refused() {
    let err = attack("many-batches", tight());
    let (_, reason) = invalid_output(&err);
    assert!(reason.contains("1000000 batches"), "{reason}");
}

#[test]
fn wrong_row_count_is_invalid_output() {
    let err = attack("wrong-row-count", tight());
    let (column, reason) = invalid_output(&err);
    assert_eq!(column.as_deref(), Some("x"), "{reason}");
}

#[test]
fn offsets_out_of_bounds_are_invalid_output() {
    let err = attack("offsets-out-of-bounds", tight());
    let (column, reason) = invalid_output(&err);
    assert_eq!(column.as_deref(), Some("s"), "{reason}");
    assert!(reason.contains("offset"), "{reason}");
}

#[test]
fn invalid_utf8_is_invalid_output() {
    let err = attack("invalid-utf8", tight());
    let (column, reason) = invalid_output(&err);
    assert_eq!(column.as_deref(), Some("s"), "{reason}");
    assert!(reason.to_lowercase().contains("utf-8"), "{reason}");
}

#[test]
fn short_validity_bitmap_is_invalid_output() {
    let err = attack("short-validity", tight());
    let (column, reason) = invalid_output(&err);
    assert_eq!(column.as_deref(), Some("x"), "{reason}");
    assert!(reason.contains("validity"), "{reason}");
}

#[test]
fn a_batch_unlike_the_declared_schema_is_invalid_output() {
    let err = attack("wrong-schema", tight());
    let (_, reason) = invalid_output(&err);
    assert!(
        reason.contains("4 columns but the declared output schema has 3"),
        "{reason}"
    );
}

#[test]
fn panic_is_reported_with_its_message() {
    let err = attack("panic", tight());
    assert_eq!(trap_kind(&err), Some(TrapKind::Panic), "{err}");
    let ErrorKind::Trap { message, .. } = &err.kind else {
        unreachable!()
    };
    assert!(
        message.contains("evil plugin panicked on purpose in process"),
        "{message}"
    );
    assert!(err.stderr.contains("panicked at"), "{}", err.stderr);
    assert!(err.stderr.len() <= 4096, "{}", err.stderr.len());
}

#[test]
fn unreachable_is_a_trap() {
    let err = attack("unreachable", tight());
    assert_eq!(trap_kind(&err), Some(TrapKind::Panic), "{err}");
}

#[test]
fn host_files_are_invisible() {
    let err = attack("read-file", tight());
    let ErrorKind::Internal(message) = &err.kind else {
        panic!("expected the plugin's own report, got {err}")
    };
    assert!(
        message.starts_with("read-file: cannot read /etc/passwd"),
        "{message}"
    );
    assert!(!message.contains("root:"), "{message}");
}

#[test]
fn host_environment_is_invisible() {
    // PATH is set in every test process, so a leak would show.
    let err = attack_with(
        r#"{"mode":"read-env","variable":"PATH"}"#,
        Sandbox::with_limits(tight()),
    );
    let ErrorKind::Internal(message) = &err.kind else {
        panic!("expected the plugin's own report, got {err}")
    };
    assert!(
        message.starts_with("read-env: cannot read PATH"),
        "{message}"
    );
}

#[test]
fn opening_a_socket_is_a_denied_capability() {
    let err = attack("open-socket", tight());
    let ErrorKind::CapabilityDenied { capability, cause } = &err.kind else {
        panic!("expected capability denied, got {err}")
    };
    assert!(capability.contains("TCP socket"), "{capability}");
    assert!(
        matches!(&**cause, ErrorKind::Internal(m) if m.contains("cannot connect")),
        "{cause}"
    );
}

#[test]
fn sleeping_past_the_deadline_is_cut_short() {
    // The plugin sleeps for an hour in a loop; the host cuts each sleep at the deadline.
    let err = attack("sleep", tight());
    assert_eq!(trap_kind(&err), Some(TrapKind::Deadline), "{err}");
}

#[test]
fn busy_waiting_on_the_clock_hits_the_deadline() {
    let err = attack("busy-clock", tight());
    assert_eq!(trap_kind(&err), Some(TrapKind::Deadline), "{err}");
}

#[test]
fn exit_is_a_trap_not_the_end_of_the_host() {
    let err = attack("exit", tight());
    assert_eq!(trap_kind(&err), Some(TrapKind::Exit), "{err}");
    // WASI 0.2's exit carries only success or failure.
    assert!(
        err.to_string().contains("the plugin called exit(1)"),
        "{err}"
    );
}

/// A flood of captured output is not an error: the batch comes through, only the tail of
/// the output is kept, and every byte is counted.
fn flood(mode: &str) {
    let dir = tempfile::tempdir().unwrap();
    let plugin = evil(&runtime(dir.path()));
    let hostile = evil_input(ROWS, true);
    let limits = Limits {
        captured_output: ByteSize::kib(16),
        ..tight()
    };
    let bytes = 8 << 20;
    let mut t = plugin
        .transformer(
            &format!(r#"{{"mode":"{mode}","bytes":{bytes}}}"#),
            hostile.schema(),
            &Sandbox::with_limits(limits),
        )
        .unwrap();
    for _ in 0..3 {
        assert_eq!(t.process(&hostile).unwrap(), vec![hostile.clone()]);
    }
    let usage = t.usage();
    let written = if mode == "stderr-flood" {
        usage.stderr_bytes
    } else {
        usage.stdout_bytes
    };
    assert_eq!(written, 3 * bytes);
    assert_eq!(usage.instances_created, 1);
}

#[test]
fn stderr_flood_is_bounded_and_counted() {
    flood("stderr-flood");
}

#[test]
fn stdout_flood_is_bounded_and_counted() {
    flood("stdout-flood");
}

#[test]
fn infinite_loop_in_create_hits_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = evil(&runtime(dir.path()));
    let input = evil_input(10, false);
    let sandbox = Sandbox::with_limits(tight());
    let err = plugin
        .transformer(r#"{"mode":"loop-create"}"#, input.schema(), &sandbox)
        .unwrap_err();
    assert_eq!(err.call, Call::Create);
    assert_eq!(trap_kind(&err), Some(TrapKind::Deadline), "{err}");
    // The same plugin still serves a sane config.
    let mut t = plugin
        .transformer(r#"{"mode":"none"}"#, input.schema(), &sandbox)
        .unwrap();
    assert_eq!(t.process(&input).unwrap(), vec![input.clone()]);
}

#[test]
fn panic_in_create_is_reported_with_its_message() {
    let err = stream(r#"{"mode":"panic-create"}"#, &Sandbox::default()).unwrap_err();
    assert_eq!(err.call, Call::Create);
    assert_eq!(trap_kind(&err), Some(TrapKind::Panic), "{err}");
    assert!(
        err.to_string().contains("panicked on purpose in create"),
        "{err}"
    );
}

#[test]
fn infinite_loop_in_finish_hits_the_deadline_after_output_was_delivered() {
    let input = evil_input(ROWS, true);
    let mut t = stream(r#"{"mode":"loop-finish"}"#, &Sandbox::with_limits(tight())).unwrap();
    assert_eq!(t.process(&input).unwrap(), vec![input.clone()]);
    let err = t.finish().unwrap_err();
    assert_eq!(err.call, Call::Finish);
    assert_eq!(trap_kind(&err), Some(TrapKind::Deadline), "{err}");
}

#[test]
fn an_undeclarable_output_schema_is_refused_at_create() {
    let err = stream(r#"{"mode":"bad-declared-schema"}"#, &Sandbox::default()).unwrap_err();
    assert_eq!(err.call, Call::OutputSchema);
    assert!(matches!(err.kind, ErrorKind::InvalidOutput { .. }), "{err}");
}

#[test]
fn repeated_failures_quarantine_the_stage() {
    let hostile = evil_input(ROWS, true);
    let benign = evil_input(ROWS, false);
    let limits = Limits {
        deadline: Duration::from_millis(100),
        max_consecutive_failures: 3,
        ..tight()
    };
    let mut t = stream(r#"{"mode":"loop-process"}"#, &Sandbox::with_limits(limits)).unwrap();
    // Failures separated by successes never add up.
    for _ in 0..4 {
        assert!(t.process(&hostile).is_err());
        assert_eq!(t.process(&benign).unwrap(), vec![benign.clone()]);
    }
    assert!(!t.is_quarantined());
    for _ in 0..3 {
        let err = t.process(&hostile).unwrap_err();
        assert_eq!(trap_kind(&err), Some(TrapKind::Deadline), "{err}");
    }
    assert!(t.is_quarantined());
    let instances = t.usage().instances_created;
    let err = t.process(&benign).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Quarantined { failures: 3 }, "{err}");
    assert_eq!(err.batch, Some(11));
    assert!(t.finish().is_err());
    // Quarantine means no further restarts.
    assert_eq!(t.usage().instances_created, instances);
    assert_eq!(t.usage().errors.get("deadline"), Some(&7));
}

/// Fuel burned by `batches` runs of the `spin` mode in a fresh runtime, and the verdict.
fn spin(cache: &Path, fuel: u64, batches: usize) -> (Result<(), ErrorKind>, u64) {
    let rt = runtime(cache);
    let plugin = rt
        .load_file_metered(Path::new(plugins::EVIL), Metering::Fuel)
        .unwrap();
    let input = evil_input(ROWS, true);
    let limits = Limits {
        fuel: Some(fuel),
        deadline: Duration::from_secs(60),
        ..Limits::default()
    };
    let mut t = plugin
        .transformer(
            r#"{"mode":"spin","iterations":200000}"#,
            input.schema(),
            &Sandbox::with_limits(limits),
        )
        .unwrap();
    let mut verdict = Ok(());
    for _ in 0..batches {
        if let Err(e) = t.process(&input) {
            verdict = Err(e.kind);
            break;
        }
    }
    (verdict, t.usage().fuel_consumed.unwrap())
}

#[test]
fn fuel_budgets_give_the_same_verdict_on_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, burned) = spin(dir.path(), 1_000_000_000, 3);
    assert_eq!(ok, Ok(()));
    assert!(burned > 3 * 200_000, "{burned}");
    // Same input, same code: the same fuel, to the unit, on every run (and every machine).
    for _ in 0..2 {
        assert_eq!(spin(dir.path(), 1_000_000_000, 3), (Ok(()), burned));
    }
    // A budget just under what one batch needs fails, the same way, every time.
    // Three `process` calls burn nearly all of it; half of one is not enough.
    let half_a_batch = burned / 6;
    let (verdict, _) = spin(dir.path(), half_a_batch, 3);
    let Err(ErrorKind::Trap { trap, .. }) = &verdict else {
        panic!("expected fuel exhaustion, got {verdict:?}")
    };
    assert_eq!(*trap, TrapKind::FuelExhausted);
    for _ in 0..2 {
        assert_eq!(spin(dir.path(), half_a_batch, 3).0, verdict);
    }
}

#[test]
fn an_infinite_loop_under_a_fuel_budget_runs_out_of_fuel() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let plugin = rt
        .load_file_metered(Path::new(plugins::EVIL), Metering::Fuel)
        .unwrap();
    let input = evil_input(ROWS, true);
    let limits = Limits {
        fuel: Some(50_000_000),
        deadline: Duration::from_secs(60),
        ..Limits::default()
    };
    let mut t = plugin
        .transformer(
            r#"{"mode":"loop-process"}"#,
            input.schema(),
            &Sandbox::with_limits(limits),
        )
        .unwrap();
    let err = t.process(&input).unwrap_err();
    assert_eq!(trap_kind(&err), Some(TrapKind::FuelExhausted), "{err}");
}

#[test]
fn a_fuel_budget_needs_a_metered_plugin() {
    let limits = Limits {
        fuel: Some(1000),
        ..Limits::default()
    };
    let err = stream(r#"{"mode":"none"}"#, &Sandbox::with_limits(limits)).unwrap_err();
    assert!(
        matches!(&err.kind, ErrorKind::Config { key, .. } if key == "limits.fuel"),
        "{err}"
    );
}

#[test]
fn granted_directories_and_variables_are_readable() {
    let models = tempfile::tempdir().unwrap();
    std::fs::write(models.path().join("model.txt"), "weights: 0.25 0.75").unwrap();
    let grants = Grants {
        dirs: vec![DirGrant {
            host: models.path().to_owned(),
            guest: "/models".into(),
        }],
        env: vec!["PATH".into()],
    };
    let err = attack_with(
        r#"{"mode":"read-file","path":"/models/model.txt"}"#,
        Sandbox::with_grants(grants.clone()),
    );
    assert_eq!(
        err.kind,
        ErrorKind::Internal(
            "read-file: read 18 bytes of /models/model.txt: weights: 0.25 0.75".into()
        )
    );
    let err = attack_with(
        r#"{"mode":"read-env","variable":"PATH"}"#,
        Sandbox::with_grants(grants.clone()),
    );
    let path = std::env::var("PATH").unwrap();
    assert_eq!(
        err.kind,
        ErrorKind::Internal(format!("read-env: PATH={path}"))
    );
    // The grant is of that directory only.
    let err = attack_with(r#"{"mode":"read-file"}"#, Sandbox::with_grants(grants));
    assert!(
        matches!(&err.kind, ErrorKind::Internal(m) if m.starts_with("read-file: cannot read")),
        "{err}"
    );
}

#[test]
fn grants_that_cannot_be_honoured_are_config_errors() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = evil(&runtime(dir.path()));
    let input = evil_input(10, false);
    let bad = [
        (
            Grants {
                env: vec!["QUIVER_TEST_SURELY_UNSET_VARIABLE".into()],
                ..Grants::default()
            },
            "grants.env[0]",
        ),
        (
            Grants {
                dirs: vec![DirGrant {
                    host: dir.path().join("missing"),
                    guest: "/data".into(),
                }],
                ..Grants::default()
            },
            "grants.dirs[0].host",
        ),
        (
            Grants {
                dirs: vec![DirGrant {
                    host: dir.path().to_owned(),
                    guest: "relative".into(),
                }],
                ..Grants::default()
            },
            "grants.dirs[0].guest",
        ),
    ];
    for (grants, key) in bad {
        let err = plugin
            .transformer(
                r#"{"mode":"none"}"#,
                input.schema(),
                &Sandbox::with_grants(grants),
            )
            .unwrap_err();
        assert!(
            matches!(&err.kind, ErrorKind::Config { key: k, .. } if k == key),
            "{key}: {err}"
        );
    }
}

#[test]
fn limits_above_the_operators_ceiling_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let rt = Runtime::new(RuntimeConfig {
        cache_dir: Some(dir.path().to_owned()),
        ceiling: Limits {
            memory: ByteSize::mib(64),
            deadline: Duration::from_secs(5),
            ..Limits::default_ceiling()
        },
        ..RuntimeConfig::default()
    })
    .unwrap();
    let plugin = evil(&rt);
    let input = evil_input(10, false);
    for (limits, key) in [
        (
            Limits {
                memory: ByteSize::mib(128),
                ..Limits::default()
            },
            "limits.memory",
        ),
        (
            Limits {
                memory: ByteSize::mib(64),
                deadline: Duration::from_secs(6),
                ..Limits::default()
            },
            "limits.deadline",
        ),
    ] {
        let err = plugin
            .transformer(
                r#"{"mode":"none"}"#,
                input.schema(),
                &Sandbox::with_limits(limits),
            )
            .unwrap_err();
        assert!(
            matches!(&err.kind, ErrorKind::Config { key: k, message } if k == key && message.contains("ceiling")),
            "{key}: {err}"
        );
    }
}

#[test]
fn usage_accounts_for_memory_instances_and_errors() {
    let hostile = evil_input(ROWS, true);
    let benign = evil_input(ROWS, false);
    let mut t = stream(r#"{"mode":"memory-bomb"}"#, &Sandbox::with_limits(tight())).unwrap();
    t.process(&benign).unwrap();
    t.process(&hostile).unwrap_err();
    t.process(&hostile).unwrap_err();
    t.process(&benign).unwrap();
    let u = t.usage();
    assert_eq!(u.instances_created, 3);
    assert_eq!(u.errors.get("out-of-memory"), Some(&2));
    assert!(u.peak_memory_bytes > 16 << 20, "{}", u.peak_memory_bytes);
    assert!(u.peak_memory_bytes <= 32 << 20, "{}", u.peak_memory_bytes);
    assert_eq!(u.calls, 3 * 2 + 4); // create + output-schema per instance, 4 process
    assert_eq!(u.fuel_consumed, None);
}

#[test]
fn a_runaway_plugin_does_not_delay_a_pipeline_beside_it() {
    // Both pipelines share one runtime (one engine, one epoch ticker), each on its own
    // thread. The runaway's deadline is long; the healthy pipeline must be done well before
    // it, i.e. its progress does not wait on the runaway at all.
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let evil = evil(&rt);
    let passthrough = load(&rt, plugins::PASSTHROUGH);
    let (tx, rx) = mpsc::channel();
    let runaway = {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let input = evil_input(ROWS, true);
            let limits = Limits {
                deadline: Duration::from_secs(10),
                ..Limits::default()
            };
            let mut t = evil
                .transformer(
                    r#"{"mode":"loop-process"}"#,
                    input.schema(),
                    &Sandbox::with_limits(limits),
                )
                .unwrap();
            tx.send("runaway started").unwrap();
            let err = t.process(&input).unwrap_err();
            assert_eq!(trap_kind(&err), Some(TrapKind::Deadline), "{err}");
            tx.send("runaway stopped").unwrap();
        })
    };
    assert_eq!(rx.recv().unwrap(), "runaway started");
    let healthy = std::thread::spawn(move || {
        let input = evil_input(ROWS, false);
        let mut t = passthrough
            .transformer("{}", input.schema(), &Sandbox::default())
            .unwrap();
        for _ in 0..200 {
            assert_eq!(t.process(&input).unwrap(), vec![input.clone()]);
        }
        t.finish().unwrap();
        tx.send("healthy done").unwrap();
    });
    assert_eq!(rx.recv().unwrap(), "healthy done");
    assert_eq!(rx.recv().unwrap(), "runaway stopped");
    healthy.join().unwrap();
    runaway.join().unwrap();
}
