//! What a plugin can make the **host** keep, against `tests/guests/evil2` (contract 0.2):
//! counter names, log records and fields, error texts, dead letters and metadata, each over
//! its documented limit; and the 0.2 shapes (forged and stale handles, bad selections,
//! mixed lengths, nesting bombs, an empty column name, outputs past wasmtime's copy limit,
//! parallel instances that disagree on their schema).
//!
//! Each test asserts the exact error kind and message part (or the exact count of what was
//! dropped), that the next batch or run is correct, and that the host's memory stayed
//! bounded: every test runs its scenario in a child process of its own (this test binary,
//! re-run on that one test) and reads the child's peak resident memory (`VmHWM`), so
//! neither other tests nor the parent's own memory blur the figure. The bound is generous
//! (1 GiB); without the limits these attacks reach several gigabytes.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch};
use bytesize::ByteSize;
use quiver_host::{
    Call, ErrorKind, Limits, LoadError, Plugin, PluginError, Runtime, Sandbox, Transformer,
    TrapKind,
};
use quiver_tests::{load, plugins, runtime};

/// The environment variable that tells a child process which test's scenario to run.
const CHILD: &str = "QUIVER_EVIL2_CHILD";
/// What a child prints: its peak resident memory in bytes.
const PEAK: &str = "evil2-peak-rss-bytes:";
/// The bound on a scenario's peak resident memory.
const BOUND: u64 = 1 << 30;

/// Run `scenario` in a child process (this binary, filtered to `evil2::<test>`) and assert
/// that it passed and that its peak resident memory stayed under [`BOUND`]. In the child,
/// run the scenario itself and print the peak.
fn in_child(test: &str, scenario: impl FnOnce()) {
    if std::env::var(CHILD).as_deref() == Ok(test) {
        scenario();
        println!("\n{PEAK} {}", peak_rss());
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args([
            &format!("evil2::{test}"),
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, test)
        .output()
        .expect("running the test binary as a child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let tail = |s: &str| {
        s.chars()
            .rev()
            .take(6000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect::<String>()
    };
    assert!(
        out.status.success(),
        "the scenario failed in its child process:\n{}\n{}",
        tail(&stdout),
        tail(&stderr)
    );
    let peak: u64 = stdout
        .lines()
        .find_map(|l| l.split_once(PEAK).map(|(_, v)| v))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("the child printed no peak memory:\n{}", tail(&stdout)));
    eprintln!("{test}: peak resident memory {}", ByteSize::b(peak));
    assert!(
        peak < BOUND,
        "{test}: the host's peak resident memory was {}, over {}",
        ByteSize::b(peak),
        ByteSize::b(BOUND)
    );
}

/// This process's peak resident memory, in bytes.
fn peak_rss() -> u64 {
    quiver_job::peak_rss_bytes().expect("VmHWM in /proc/self/status")
}

/// A batch of `rows` rows: `x` (Int64) and `attack` (Boolean, `attack` in every row).
fn input(rows: usize, attack: bool) -> RecordBatch {
    RecordBatch::try_from_iter_with_nullable([
        (
            "x",
            Arc::new(Int64Array::from_iter_values(0..rows as i64)) as ArrayRef,
            true,
        ),
        (
            "attack",
            Arc::new(BooleanArray::from(vec![attack; rows])) as ArrayRef,
            true,
        ),
    ])
    .expect("a valid batch")
}

fn evil2(rt: &Runtime) -> Plugin {
    load(rt, plugins::EVIL2)
}

/// A stream of `evil2` with `config` and `limits`, for batches of [`input`]'s schema.
fn stream(rt: &Runtime, config: &str, limits: Limits) -> Result<Transformer, PluginError> {
    evil2(rt).transformer(
        config,
        input(1, false).schema(),
        &Sandbox::with_limits(limits),
    )
}

/// Batch 0 benign, batch 1 the attack, batch 2 benign again: returns the attack's error
/// after checking that both benign batches came out unchanged and the error names the
/// plugin, the call and the batch.
fn attack(config: &str) -> PluginError {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let mut t = stream(&rt, config, Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let (benign, hostile) = (input(100, false), input(100, true));
    assert_eq!(t.process(&benign).unwrap(), vec![benign.clone()]);
    let err = t.process(&hostile).unwrap_err();
    assert_eq!(err.plugin.name, "evil2");
    assert_eq!(err.call, Call::Process);
    assert_eq!(err.batch, Some(1), "{err}");
    assert_eq!(
        t.process(&benign)
            .unwrap_or_else(|e| panic!("after `{err}`: {e}")),
        vec![benign.clone()],
        "the batch after the attack"
    );
    err
}

/// The reason of an invalid output (panics on any other kind).
fn invalid_output(err: &PluginError) -> &str {
    match &err.kind {
        ErrorKind::InvalidOutput { reason, .. } => reason,
        other => panic!("expected an invalid output, got {other:?} ({err})"),
    }
}

/// A stream of the same plugin created after a refused one passes its batches through.
fn next_stream_is_fine(rt: &Runtime) {
    let mut t = stream(
        rt,
        r#"{"mode":"many-counter-names","count":0}"#,
        Limits::default(),
    )
    .unwrap_or_else(|e| panic!("the next stream: {e}"));
    pass_all(&mut t, 2, 10);
}

/// Every batch passes through unchanged, `attack` set on all of them.
fn pass_all(t: &mut Transformer, batches: usize, rows: usize) {
    for i in 0..batches {
        let b = input(rows, true);
        let out = t.process(&b).unwrap_or_else(|e| panic!("batch {i}: {e}"));
        assert_eq!(out, vec![b], "batch {i} passes through");
    }
}

#[test]
fn huge_counter_names_are_dropped_and_counted() {
    in_child("huge_counter_names_are_dropped_and_counted", || {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path());
        // 64 names of 4 MiB per call, over 4 calls: 1 GiB of names offered.
        let mut t = stream(
            &rt,
            r#"{"mode":"long-counter-names","count":64,"len":4194304}"#,
            Limits::default(),
        )
        .unwrap();
        pass_all(&mut t, 4, 10);
        assert!(t.counters().is_empty(), "{:?}", t.counters().keys().next());
        assert_eq!(t.usage().counters_dropped, 4 * 64);
        // Names up to `limits.counter_name` are kept.
        let limits = Limits {
            counter_name: ByteSize::kib(4),
            ..Limits::default()
        };
        let mut t = stream(
            &rt,
            r#"{"mode":"long-counter-names","count":3,"len":4096}"#,
            limits,
        )
        .unwrap();
        pass_all(&mut t, 2, 10);
        assert_eq!(t.counters().len(), 3);
        assert!(t.counters().values().all(|&v| v == 2));
        assert_eq!(t.usage().counters_dropped, 0);
    });
}

#[test]
fn new_counter_names_on_every_call_stop_at_the_stream_limit() {
    in_child(
        "new_counter_names_on_every_call_stop_at_the_stream_limit",
        || {
            let dir = tempfile::tempdir().unwrap();
            let rt = runtime(dir.path());
            // 1,024 new names per call over 200 calls: 204,800 names offered.
            let mut t = stream(&rt, r#"{"mode":"many-counter-names"}"#, Limits::default()).unwrap();
            pass_all(&mut t, 200, 10);
            assert_eq!(t.counters().len(), 1024, "limits.counters (default 1,024)");
            // The first call's names are the ones kept.
            assert!(t.counters().keys().all(|k| k.starts_with("c-1-")));
            assert_eq!(t.usage().counters_dropped, 199 * 1024);

            // Configurable, and a known name still counts once the limit is reached.
            let limits = Limits {
                counters: 10,
                ..Limits::default()
            };
            let mut t = stream(&rt, r#"{"mode":"many-counter-names","count":10}"#, limits).unwrap();
            pass_all(&mut t, 3, 10);
            assert_eq!(t.counters().len(), 10);
            assert_eq!(t.usage().counters_dropped, 20);
        },
    );
}

#[test]
fn a_million_empty_log_fields_are_dropped_and_counted() {
    in_child("a_million_empty_log_fields_are_dropped_and_counted", || {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path());
        let mut t = stream(&rt, r#"{"mode":"log-empty-fields"}"#, Limits::default()).unwrap();
        pass_all(&mut t, 5, 10);
        // Each record had 1,000,000 fields, over `limits.log_fields` (64): dropped, counted.
        assert_eq!(t.usage().logs_dropped, 5);
        // 64 empty fields fit.
        let mut t = stream(
            &rt,
            r#"{"mode":"log-empty-fields","count":64}"#,
            Limits::default(),
        )
        .unwrap();
        pass_all(&mut t, 2, 10);
        assert_eq!(t.usage().logs_dropped, 0);
    });
}

#[test]
fn very_many_empty_log_records_are_capped_per_call_and_per_run() {
    in_child(
        "very_many_empty_log_records_are_capped_per_call_and_per_run",
        || {
            let dir = tempfile::tempdir().unwrap();
            let rt = runtime(dir.path());
            // 1,000,000 empty records per call: 1,000 kept per call (`limits.log_records`).
            let mut t = stream(&rt, r#"{"mode":"log-many-empty"}"#, Limits::default()).unwrap();
            pass_all(&mut t, 3, 10);
            assert_eq!(t.usage().logs_dropped, 3 * (1_000_000 - 1_000));

            // Empty records are paid for (64 bytes each) against the per-run budget too:
            // 100,000 bytes keep 1,562 records over the whole stream.
            let limits = Limits {
                log_per_run: ByteSize::b(100_000),
                ..Limits::default()
            };
            let mut t = stream(&rt, r#"{"mode":"log-many-empty","count":1000}"#, limits).unwrap();
            pass_all(&mut t, 3, 10);
            let kept = 100_000 / quiver_host::LOG_RECORD_OVERHEAD;
            assert_eq!(t.usage().logs_dropped, 3_000 - kept);
        },
    );
}

#[test]
fn a_100_mb_error_message_is_truncated_with_a_marker() {
    in_child("a_100_mb_error_message_is_truncated_with_a_marker", || {
        let err = attack(r#"{"mode":"data-error"}"#);
        let ErrorKind::Data {
            column: None,
            row: None,
            message,
        } = &err.kind
        else {
            panic!("expected a row-less data error, got {err}");
        };
        assert_eq!(
            message.len(),
            (64 << 10) + "… [truncated, 100000000 bytes]".len()
        );
        assert!(
            message.ends_with("E… [truncated, 100000000 bytes]"),
            "{}",
            &message[65_000..]
        );
        assert!(err.to_string().len() < 70_000);
    });
}

#[test]
fn control_characters_in_plugin_text_are_escaped_for_humans() {
    in_child(
        "control_characters_in_plugin_text_are_escaped_for_humans",
        || {
            // A message that would retitle the terminal, clear it and forge an error line.
            let err = attack(
                r#"{"mode":"data-error","text":"\u001b]0;pwned\u0007\u001b[2J\r\nerror: forged"}"#,
            );
            let shown = err.to_string();
            assert!(
                shown.ends_with(r"bad input data: \u{1b}]0;pwned\u{7}\u{1b}[2J\r\nerror: forged"),
                "{shown}"
            );
            assert!(
                !shown.contains(['\u{1b}', '\u{7}', '\r', '\n']),
                "{shown:?}"
            );
            // The error itself keeps the text as the plugin sent it (JSON escapes it).
            let ErrorKind::Data { message, .. } = &err.kind else {
                panic!("{err}")
            };
            assert_eq!(message, "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\nerror: forged");
        },
    );
}

/// A pipeline document run in this process, with its report; `Err` is the failure's text.
fn run_pipeline(dir: &Path, text: &str) -> Result<quiver_job::RunReport, String> {
    let path = dir.join("pipeline.toml");
    std::fs::write(&path, text).unwrap();
    let loaded =
        quiver_spec::load_file(&path, &[], quiver_spec::Context::Cli).map_err(|e| e.to_string())?;
    let rt = Arc::new(runtime(&dir.join("cache")));
    let resolver = quiver_job::Resolver::new(rt);
    let io = quiver_job::Io::new().unwrap();
    let job = quiver_job::Job::open("evil2", &loaded.read, &resolver, &io, &loaded.base, None)
        .map_err(|e| e.to_string())?;
    let progress = quiver_pipeline::Progress::new(job.stage_names());
    job.run(&progress).map_err(|e| format!("{e:#}"))
}

/// `input.csv` in `dir`: `x` from 0 and `attack`, true on the rows where `attack(row)`.
fn write_csv(dir: &Path, rows: usize, attack: impl Fn(usize) -> bool) {
    use std::fmt::Write as _;
    let mut text = String::from("x,attack\n");
    for i in 0..rows {
        let _ = writeln!(text, "{i},{}", attack(i));
    }
    std::fs::write(dir.join("input.csv"), text).unwrap();
}

const SOURCE: &str = "[source]\npath = \"input.csv\"\nbatch_rows = 8192\n\
    [source.csv]\nschema = [{ name = \"x\", type = \"int64\" }, { name = \"attack\", type = \"boolean\" }]\n";

#[test]
fn a_100_mb_error_on_every_batch_under_skip_keeps_memory_bounded() {
    in_child(
        "a_100_mb_error_on_every_batch_under_skip_keeps_memory_bounded",
        || {
            let dir = tempfile::tempdir().unwrap();
            // 20 batches of 100 rows, every other one an attack of 100 MB.
            write_csv(dir.path(), 2_000, |i| (i / 100) % 2 == 1);
            let text = format!(
                "[source]\npath = \"input.csv\"\nbatch_rows = 100\n\
                 [source.csv]\nschema = [{{ name = \"x\", type = \"int64\" }}, {{ name = \"attack\", type = \"boolean\" }}]\n\n\
                 [[stage]]\nplugin = {:?}\nconfig = {{ mode = \"data-error\" }}\non_error = \"skip\"\n\n\
                 [sink]\npath = \"out.csv\"\n",
                plugins::EVIL2
            );
            let r = run_pipeline(dir.path(), &text).unwrap();
            assert_eq!(r.rows_skipped, 1_000);
            assert_eq!(r.rows_written, 1_000);
            assert_eq!(r.stages[0].errors.get("data"), Some(&10));
            let out = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
            assert_eq!(
                out.lines().count(),
                1 + 1_000,
                "the benign batches are all written"
            );
        },
    );
}

#[test]
fn the_run_report_counts_what_each_stage_dropped() {
    in_child("the_run_report_counts_what_each_stage_dropped", || {
        let dir = tempfile::tempdir().unwrap();
        // 10 batches of 100 rows through two stages: 1,024 new counter names per call, then
        // 2,000 empty log records per call (1,000 kept per call).
        write_csv(dir.path(), 1_000, |_| true);
        let text = format!(
            "[source]\npath = \"input.csv\"\nbatch_rows = 100\n\
             [source.csv]\nschema = [{{ name = \"x\", type = \"int64\" }}, {{ name = \"attack\", type = \"boolean\" }}]\n\n\
             [[stage]]\nname = \"counters\"\nplugin = {0:?}\nconfig = {{ mode = \"many-counter-names\" }}\n\n\
             [[stage]]\nname = \"logs\"\nplugin = {0:?}\nconfig = {{ mode = \"log-many-empty\", count = 2000 }}\n\n\
             [sink]\npath = \"out.csv\"\n",
            plugins::EVIL2
        );
        let r = run_pipeline(dir.path(), &text).unwrap();
        assert_eq!(r.rows_written, 1_000);
        let (counters, logs) = (&r.stages[0], &r.stages[1]);
        assert_eq!(counters.counters.len(), 1_024);
        assert_eq!(counters.counters_dropped, 9 * 1_024);
        assert_eq!(counters.logs_dropped, 0);
        assert_eq!(logs.logs_dropped, 10 * 1_000);
        assert_eq!(logs.counters_dropped, 0);
    });
}

#[test]
fn the_log_budget_for_the_run_is_the_stages_not_each_instances() {
    in_child(
        "the_log_budget_for_the_run_is_the_stages_not_each_instances",
        || {
            let dir = tempfile::tempdir().unwrap();
            // 20 batches of 1,000 empty records over two instances, a budget of 100,000
            // bytes for the run: 1,562 records of 64 bytes. Two budgets would keep 3,124;
            // instances running at once may overshoot the shared one by one call (1,000).
            write_csv(dir.path(), 2_000, |_| true);
            let text = format!(
                "[source]\npath = \"input.csv\"\nbatch_rows = 100\n\
                 [source.csv]\nschema = [{{ name = \"x\", type = \"int64\" }}, {{ name = \"attack\", type = \"boolean\" }}]\n\n\
                 [[stage]]\nplugin = {:?}\nconfig = {{ mode = \"log-many-empty\", count = 1000 }}\nparallelism = 2\n\
                 limits = {{ log_per_run = \"100000B\" }}\n\n\
                 [sink]\npath = \"out.csv\"\n",
                plugins::EVIL2
            );
            let r = run_pipeline(dir.path(), &text).unwrap();
            assert_eq!(r.rows_written, 2_000);
            let kept = 20_000 - r.stages[0].logs_dropped;
            let budget = 100_000 / quiver_host::LOG_RECORD_OVERHEAD;
            assert!(
                (budget..=budget + 1_000).contains(&kept),
                "{kept} records kept for a budget of {budget}"
            );
        },
    );
}

#[test]
fn a_row_less_error_over_an_8192_row_batch_is_dead_lettered_once_per_batch() {
    in_child(
        "a_row_less_error_over_an_8192_row_batch_is_dead_lettered_once_per_batch",
        || {
            let dir = tempfile::tempdir().unwrap();
            // Two batches of 8,192 rows, both failing with a 300 KB error naming no row
            // (kept whole: `error_message` raised to 1 MiB). Copied into every row that
            // would be 4.9 GB; referenced once per batch it is 600 KB.
            write_csv(dir.path(), 2 * 8192, |_| true);
            let text = format!(
                "{SOURCE}\n[[stage]]\nplugin = {:?}\nconfig = {{ mode = \"data-error\", len = 300000 }}\n\
                 on_error = \"dead-letter\"\nlimits = {{ error_message = \"1MiB\" }}\n\n\
                 [sink]\npath = \"out.csv\"\n\n[dead_letter]\npath = \"failed.parquet\"\n",
                plugins::EVIL2
            );
            let r = run_pipeline(dir.path(), &text).unwrap();
            assert_eq!(r.rows_dead_lettered, 2 * 8192);
            let failed = dir.path().join("failed.parquet");
            let size = std::fs::metadata(&failed).unwrap().len();
            assert!(size < 8 << 20, "the dead-letter file is {size} bytes");
            // pyarrow reads it: every row, one error text per batch (the texts name their
            // batch), 300 KB each, as a dictionary column.
            let python = quiver_tests::test_venv_bin("python");
            let out = std::process::Command::new(python)
                .arg("-c")
                .arg(
                    "import sys, pyarrow.parquet as pq\n\
                     t = pq.read_table(sys.argv[1])\n\
                     e = t.column('error').to_pylist()\n\
                     d = str(t.schema.field('error').type).startswith('dictionary')\n\
                     print(t.num_rows, len(set(e)), min(map(len, e)), t.column('row').to_pylist()[-1], d)",
                )
                .arg(&failed)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let said = String::from_utf8_lossy(&out.stdout);
            let fields: Vec<&str> = said.split_whitespace().collect();
            assert_eq!(fields[0], "16384", "{said}");
            assert_eq!(fields[1], "2", "one error text per batch: {said}");
            assert!(fields[2].parse::<usize>().unwrap() > 300_000, "{said}");
            assert_eq!(fields[3], "16383", "{said}");
            assert_eq!(
                fields[4], "True",
                "a dictionary-encoded error column: {said}"
            );
        },
    );
}

#[test]
fn an_empty_output_column_name_is_invalid_output_naming_the_plugin() {
    in_child(
        "an_empty_output_column_name_is_invalid_output_naming_the_plugin",
        || {
            let dir = tempfile::tempdir().unwrap();
            let rt = runtime(dir.path());
            let err =
                stream(&rt, r#"{"mode":"empty-column-name"}"#, Limits::default()).unwrap_err();
            assert_eq!(err.call, Call::OutputSchema);
            assert_eq!(err.plugin.name, "evil2");
            assert!(
                invalid_output(&err)
                    .contains("invalid type at node 2: field names must not be empty"),
                "{err}"
            );
            // The next stream of the same plugin is fine.
            let mut t = stream(
                &rt,
                r#"{"mode":"many-counter-names","count":0}"#,
                Limits::default(),
            )
            .unwrap();
            pass_all(&mut t, 1, 10);
        },
    );
}

#[test]
fn an_output_past_the_copy_limit_names_the_cause() {
    in_child("an_output_past_the_copy_limit_names_the_cause", || {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path());
        let limits = Limits {
            memory: ByteSize::mib(512),
            ..Limits::default()
        };
        let mut t = stream(&rt, r#"{"mode":"huge-output"}"#, limits).unwrap();
        let (benign, hostile) = (input(1, false), input(1, true));
        let passed = t.process(&benign).unwrap();
        assert_eq!(passed[0].num_rows(), 1);
        let err = t.process(&hostile).unwrap_err();
        assert!(
            invalid_output(&err).contains("more than 128 MiB across the boundary in one call"),
            "{err}"
        );
        assert!(!err.to_string().contains("trapped (trap)"), "{err}");
        // A fresh instance serves the next batch.
        let again = t.process(&benign).unwrap();
        assert_eq!(again, passed);
    });
}

/// `evil2` in a pipeline with `parallelism = 2` (each instance names its extra column at
/// random), followed by `passthrough`.
#[test]
fn instances_that_disagree_on_their_output_schema_fail_the_stage_naming_the_plugin() {
    in_child(
        "instances_that_disagree_on_their_output_schema_fail_the_stage_naming_the_plugin",
        || {
            let dir = tempfile::tempdir().unwrap();
            write_csv(dir.path(), 100, |_| false);
            let text = format!(
                "{SOURCE}\n[[stage]]\nname = \"disagree\"\nplugin = {:?}\nconfig = {{ mode = \"schema-per-instance\" }}\nparallelism = 2\n\n\
                 [[stage]]\nname = \"innocent\"\nplugin = {:?}\n\n\
                 [sink]\npath = \"out.csv\"\n",
                plugins::EVIL2,
                plugins::PASSTHROUGH
            );
            let err = run_pipeline(dir.path(), &text).unwrap_err();
            assert!(err.contains("evil2"), "{err}");
            assert!(
                err.contains("instances of one stage declared different output schemas"),
                "{err}"
            );
            assert!(
                !err.contains("innocent"),
                "the next stage is not blamed: {err}"
            );
            // The same plugin with one instance runs, and writes every row.
            let text = text.replace("parallelism = 2", "parallelism = 1");
            let r = run_pipeline(dir.path(), &text).unwrap();
            assert_eq!(r.rows_written, 100);
        },
    );
}

#[test]
fn a_forged_handle_is_refused() {
    in_child("a_forged_handle_is_refused", || {
        let err = attack(r#"{"mode":"forged-handle"}"#);
        assert!(
            invalid_output(&err).contains("a forged handle (unknown handle index 16777200)"),
            "{err}"
        );
    });
}

#[test]
fn a_handle_kept_from_an_earlier_batch_is_invalid_output() {
    in_child(
        "a_handle_kept_from_an_earlier_batch_is_invalid_output",
        || {
            let err = attack(r#"{"mode":"stale-handle"}"#);
            assert!(
                invalid_output(&err).contains("the column handle is not of this call"),
                "{err}"
            );
        },
    );
}

#[test]
fn hoarding_column_handles_stops_at_the_handle_limit() {
    in_child("hoarding_column_handles_stops_at_the_handle_limit", || {
        let err = attack(r#"{"mode":"hoard-handles"}"#);
        assert!(
            invalid_output(&err).contains("more than 65536 column handles are alive at once"),
            "{err}"
        );
    });
}

#[test]
fn a_filter_many_call_over_more_columns_than_handles_left_is_refused() {
    in_child(
        "a_filter_many_call_over_more_columns_than_handles_left_is_refused",
        || {
            // Past wasmtime's own bound on handles lent in a call: refused by it.
            let err = attack(r#"{"mode":"filter-many-flood"}"#);
            assert!(
                invalid_output(&err).contains("at most 65536 column handles"),
                "{err}"
            );
            // Under it, past the host's: refused before any input is resolved.
            let err = attack(r#"{"mode":"filter-many-flood","count":66000}"#);
            assert!(
                invalid_output(&err).contains("more than 65536 column handles are alive at once"),
                "{err}"
            );
        },
    );
}

#[test]
fn a_selection_of_rows_past_the_batch_is_invalid_output() {
    in_child(
        "a_selection_of_rows_past_the_batch_is_invalid_output",
        || {
            let err = attack(r#"{"mode":"indices-out-of-range"}"#);
            assert!(
                invalid_output(&err)
                    .contains("the selection takes row 105 of an input of 100 rows"),
                "{err}"
            );
        },
    );
}

#[test]
fn a_selection_longer_than_the_batch_is_invalid_output() {
    in_child(
        "a_selection_longer_than_the_batch_is_invalid_output",
        || {
            let err = attack(r#"{"mode":"indices-too-many"}"#);
            assert!(
                invalid_output(&err).contains("returned 10000000 rows for 100 input rows"),
                "{err}"
            );
            let err = attack(r#"{"mode":"mask-too-long"}"#);
            assert!(
                invalid_output(&err).contains("a selection cannot be longer than its batch"),
                "{err}"
            );
        },
    );
}

#[test]
fn an_output_mixing_columns_of_different_lengths_is_invalid_output() {
    in_child(
        "an_output_mixing_columns_of_different_lengths_is_invalid_output",
        || {
            let err = attack(r#"{"mode":"mixed-lengths"}"#);
            assert!(
                invalid_output(&err).contains("has 101 rows; the output needs 100"),
                "{err}"
            );
        },
    );
}

#[test]
fn a_list_of_lists_10000_deep_is_refused() {
    in_child("a_list_of_lists_10000_deep_is_refused", || {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path());
        // 10,002 nodes: refused on their number, before anything recursive runs.
        let err = stream(&rt, r#"{"mode":"deep-list"}"#, Limits::default()).unwrap_err();
        assert_eq!(err.call, Call::OutputSchema);
        assert!(
            invalid_output(&err)
                .contains("a type of 10003 nodes exceeds the limit max_nodes = 4096"),
            "{err}"
        );
        // 100 deep in few nodes: refused on its depth.
        let err = stream(
            &rt,
            r#"{"mode":"deep-list","count":100}"#,
            Limits::default(),
        )
        .unwrap_err();
        assert!(invalid_output(&err).contains("depth"), "{err}");
        next_stream_is_fine(&rt);
    });
}

#[test]
fn a_struct_of_100000_children_is_refused() {
    in_child("a_struct_of_100000_children_is_refused", || {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path());
        let err = stream(&rt, r#"{"mode":"wide-struct"}"#, Limits::default()).unwrap_err();
        assert_eq!(err.call, Call::OutputSchema);
        assert!(
            invalid_output(&err)
                .contains("a type of 100003 nodes exceeds the limit max_nodes = 4096"),
            "{err}"
        );
        // 2,000 fields in fewer nodes than the node limit: refused on the struct's width.
        let err = stream(
            &rt,
            r#"{"mode":"wide-struct","count":2000}"#,
            Limits::default(),
        )
        .unwrap_err();
        assert!(
            invalid_output(&err).contains("max_struct_children"),
            "{err}"
        );
    });
}

#[test]
fn metadata_with_a_50_mb_config_schema_is_refused() {
    in_child("metadata_with_a_50_mb_config_schema_is_refused", || {
        let dir = tempfile::tempdir().unwrap();
        let rt = runtime(dir.path());
        let err = rt
            .load_file(plugins::EVIL2_HUGE_SCHEMA.as_ref())
            .unwrap_err();
        let LoadError::InvalidMetadata { reason, .. } = &err else {
            panic!("expected invalid metadata, got {err}");
        };
        assert!(
            reason.contains("the config schema of plugin evil2 is 50000000 bytes; at most 1048576"),
            "{reason}"
        );
        // Nothing of it was kept: loading it again asks the plugin again and fails again.
        assert!(rt.load_file(plugins::EVIL2_HUGE_SCHEMA.as_ref()).is_err());
        // The ordinary build loads and runs.
        next_stream_is_fine(&rt);
    });
}

/// Host kernels are bounded like guest code: results kept by a plugin count against its
/// memory limit, and a kernel whose output would not fit traps as out of memory before the
/// host holds more than the limit; the next batch is correct.
#[test]
fn kernel_results_past_the_memory_limit_are_out_of_memory() {
    in_child(
        "kernel_results_past_the_memory_limit_are_out_of_memory",
        || {
            let err = attack(r#"{"mode":"kernel-hog"}"#);
            match &err.kind {
                ErrorKind::Trap { trap, .. } => assert_eq!(*trap, TrapKind::OutOfMemory, "{err}"),
                other => panic!("expected an out-of-memory trap, got {other:?} ({err})"),
            }
            assert!(
                err.to_string().contains("concat"),
                "the kernel is named: {err}"
            );
        },
    );
}

/// A regex whose compiled form is past the size limit is a config error naming the limit,
/// never a host allocation of that size.
#[test]
fn a_regex_past_the_size_limit_is_a_config_error() {
    let err = attack(r#"{"mode":"regex-bomb"}"#);
    match &err.kind {
        ErrorKind::Config { message, .. } => {
            assert!(message.contains("regex"), "{err}");
        }
        other => panic!("expected a config error, got {other:?} ({err})"),
    }
}

/// `hmac-sha256` reads key files only inside a granted directory (no `..`, no symlink out,
/// nothing over 64 KiB), takes a key's bytes without trailing whitespace and refuses one
/// under 16 bytes, names the file but never the key, and reads each file once per instance
/// so a stream hashes under one key. The stream goes on after every refusal.
#[test]
fn hmac_key_files_are_confined_trimmed_checked_and_read_once_per_instance() {
    use quiver_host::{DirGrant, Grants};

    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(&dir.path().join("cache"));
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    let outside = dir.path().join("outside.txt");
    std::fs::write(&outside, "a-secret-outside-the-grant-0123456789\n").unwrap();
    std::fs::write(keys.join("anon.key"), "test-key-not-a-secret-0123456789\n").unwrap();
    std::fs::write(keys.join("bare.key"), "test-key-not-a-secret-0123456789").unwrap();
    std::fs::write(keys.join("short.key"), "tiny-key-0123\n\n").unwrap();
    std::fs::write(keys.join("big.key"), vec![b'k'; 65 * 1024]).unwrap();
    std::os::unix::fs::symlink(&outside, keys.join("link.key")).unwrap();
    let sandbox = Sandbox::with_grants(Grants {
        dirs: vec![DirGrant {
            host: keys.clone(),
            guest: "/keys".into(),
        }],
        env: Vec::new(),
    });
    let open = |path: &str| {
        let config = serde_json::json!({ "mode": "key-file", "text": path }).to_string();
        evil2(&rt)
            .transformer(&config, input(1, false).schema(), &sandbox)
            .unwrap_or_else(|e| panic!("{e}"))
    };
    // The error of one hashing call, after which the stream passes a batch through.
    let call = |t: &mut Transformer| {
        let err = t.process(&input(3, true)).unwrap_err();
        let benign = input(3, false);
        assert_eq!(t.process(&benign).unwrap(), vec![benign.clone()]);
        err
    };
    let token = |t: &mut Transformer| {
        let err = call(t);
        match err.kind {
            ErrorKind::Internal(m) => {
                let token = m.strip_prefix("token ").unwrap_or_else(|| panic!("{m}"));
                assert_eq!(token.len(), 64, "{m}");
                token.to_owned()
            }
            other => panic!("expected the token, got {other:?}"),
        }
    };
    let refused = |path: &str, wanted: &str| {
        let err = call(&mut open(path));
        match &err.kind {
            ErrorKind::Config { message, .. } => {
                assert!(message.contains(wanted), "{path}: {err}");
                assert!(message.contains(path), "names the file: {err}");
                assert!(!message.contains("secret"), "no key bytes: {err}");
                assert!(!message.contains("tiny-key"), "no key bytes: {err}");
            }
            other => panic!("{path}: expected a config error, got {other:?} ({err})"),
        }
    };

    refused("/keys/../outside.txt", "are not allowed");
    refused("/keys/link.key", "leaves its granted directory");
    refused("/etc/passwd", "is not inside a granted directory");
    refused("/keys/short.key", "has 13 bytes");
    refused("/keys/big.key", "at most 65536");

    // A trailing newline is not part of the key.
    let mut stream = open("/keys/anon.key");
    let first = token(&mut stream);
    assert_eq!(token(&mut open("/keys/bare.key")), first);
    // The file changes under a running stream: its instance keeps the key it read.
    std::fs::write(keys.join("anon.key"), "another-key-entirely-9876543210\n").unwrap();
    assert_eq!(token(&mut stream), first);
    assert_ne!(
        token(&mut open("/keys/anon.key")),
        first,
        "a new instance reads it again"
    );
}
