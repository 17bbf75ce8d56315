//! Steering a running pipeline with real plugin components: hot swaps at a batch boundary
//! (one and several instances, stateful stages, refusals, superseded swaps, a swap the
//! stream ends before), draining with `stop_intake`, and the observer hook.
//!
//! The sources are channels the test feeds, so a swap lands at a known batch: the test sends
//! k batches, waits until the stage has taken them all, swaps, then sends the rest. Waiting
//! polls the live counters with a generous timeout; nothing depends on how fast the machine
//! is.

use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use arrow_schema::SchemaRef;
use crossbeam_channel::{Sender, unbounded};
use quiver_host::{Call, Limits, Plugin, PluginId, Sandbox, Transformer};
use quiver_pipeline::engine::{BoxError, DeadLetterRecord};
use quiver_pipeline::{
    CallEvent, DeadLetter, ErrorEvent, ErrorPolicy, Progress, Replacement, RunError, RunObserver,
    RunOutcome, StagePlan, SwapError, SwapEvent, SwapOutcome, prepare, run,
};
use quiver_tests::{load, plugins, runtime};

/// Rows per batch in every test.
const ROWS: i64 = 10;
/// How long a test waits for the engine before it fails.
const PATIENCE: Duration = Duration::from_secs(120);

/// Batch `n`: rows `n * ROWS ..` with `id` (the row's position in the stream, never
/// transformed), `x` (= `id`, the column `map` transforms) and `k` (= `id % 10`, a key).
fn batch(n: i64) -> RecordBatch {
    let ids: Vec<i64> = (n * ROWS..(n + 1) * ROWS).collect();
    let keys: Vec<i64> = ids.iter().map(|i| i % 10).collect();
    RecordBatch::try_from_iter_with_nullable([
        (
            "id",
            Arc::new(Int64Array::from(ids.clone())) as ArrayRef,
            true,
        ),
        ("x", Arc::new(Int64Array::from(ids)) as ArrayRef, true),
        ("k", Arc::new(Int64Array::from(keys)) as ArrayRef, true),
    ])
    .unwrap()
}

fn schema() -> SchemaRef {
    batch(0).schema()
}

fn sandbox() -> Sandbox {
    Sandbox::with_limits(Limits {
        deadline: Duration::from_secs(10),
        max_consecutive_failures: 1000,
        ..Limits::default()
    })
}

fn stage(plugin: &Plugin, config: &str, parallelism: usize, on_error: ErrorPolicy) -> StagePlan {
    StagePlan {
        name: format!("{}-{parallelism}", plugin.name()),
        plugin: plugin.clone(),
        config: config.into(),
        sandbox: sandbox(),
        parallelism,
        on_error,
        batch_rows: None,
    }
}

/// `map` config multiplying `x` by `scale`.
fn scale(scale: i64) -> String {
    format!(r#"{{"columns":[{{"column":"x","scale":{scale}}}]}}"#)
}

/// `n` transformers of `plugin` with `config` for the input schema of `progress`'s stage 0.
fn replacement(progress: &Progress, plugin: &Plugin, config: &str, n: usize) -> Replacement {
    let input = progress.stages[0]
        .1
        .input_schema()
        .expect("the run started");
    Replacement {
        plugin: plugin.clone(),
        transformers: (0..n)
            .map(|_| new_transformer(plugin, config, input.clone()))
            .collect(),
    }
}

fn new_transformer(plugin: &Plugin, config: &str, input: SchemaRef) -> Transformer {
    plugin
        .transformer(config, input, &sandbox())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A [`CallEvent`] as the observer saw it.
#[derive(Debug)]
struct SeenCall {
    stage: usize,
    finish: bool,
    rows_in: u64,
    rows_out: u64,
    error_kind: Option<&'static str>,
}

/// An [`ErrorEvent`] as the observer saw it.
#[derive(Debug)]
struct SeenError {
    stage: usize,
    plugin: PluginId,
    rows: u64,
    first_row: u64,
    policy: ErrorPolicy,
    fatal: bool,
}

/// Every event the observer saw, in order.
#[derive(Default)]
struct Recorder {
    calls: Mutex<Vec<SeenCall>>,
    errors: Mutex<Vec<SeenError>>,
    swaps: Mutex<Vec<(usize, SwapEvent)>>,
}

impl RunObserver for Recorder {
    fn call(&self, stage: usize, e: &CallEvent<'_>) {
        self.calls.lock().unwrap().push(SeenCall {
            stage,
            finish: e.finish,
            rows_in: e.rows_in,
            rows_out: e.rows_out,
            error_kind: e.error_kind,
        });
    }

    fn error(&self, stage: usize, e: &ErrorEvent<'_>) {
        self.errors.lock().unwrap().push(SeenError {
            stage,
            plugin: e.plugin.clone(),
            rows: e.rows,
            first_row: e.first_row,
            policy: e.policy,
            fatal: e.fatal,
        });
    }

    fn swap(&self, stage: usize, e: &SwapEvent) {
        self.swaps.lock().unwrap().push((stage, e.clone()));
    }
}

#[derive(Default)]
struct Letters(Vec<DeadLetterRecord>);

impl DeadLetter for Letters {
    fn write(&mut self, record: &DeadLetterRecord) -> Result<(), BoxError> {
        self.0.push(record.clone());
        Ok(())
    }
}

type Finished = (Result<RunOutcome, RunError>, Vec<RecordBatch>, Letters);

/// A run on its own thread, fed batch by batch by the test.
struct Running {
    progress: Arc<Progress>,
    feed: Option<Sender<RecordBatch>>,
    sent: i64,
    handle: JoinHandle<Finished>,
}

impl Running {
    fn start(plans: Vec<StagePlan>, observer: Option<Arc<Recorder>>) -> Self {
        let prepared = prepare(schema(), plans).unwrap_or_else(|e| panic!("{e:?}"));
        let mut progress = Progress::new(prepared.stage_schemas().into_iter().map(|(n, _)| n));
        if let Some(o) = observer {
            progress = progress.with_observer(o);
        }
        let progress = Arc::new(progress);
        let (tx, rx) = unbounded::<RecordBatch>();
        let p = progress.clone();
        let handle = std::thread::spawn(move || {
            let mut sink = Vec::new();
            let mut letters = Letters::default();
            let source = Box::new(rx.into_iter().map(Ok::<_, BoxError>));
            let result = run(prepared, source, &mut sink, Some(&mut letters), &p);
            (result, sink, letters)
        });
        Self {
            progress,
            feed: Some(tx),
            sent: 0,
            handle,
        }
    }

    /// Send the next `n` batches (lost if the run has already stopped reading).
    fn send(&mut self, n: i64) {
        for _ in 0..n {
            let tx = self.feed.as_ref().expect("the feed is open");
            let _ = tx.send(batch(self.sent));
            self.sent += 1;
        }
    }

    /// Wait until stage 0 has taken every batch sent so far.
    fn settle(&self) {
        let sent = self.sent as u64;
        wait_for("stage 0 to take every batch sent", || {
            batches_in(&self.progress) >= sent
        });
    }

    /// End the stream and wait for the run.
    fn end(mut self) -> Finished {
        self.feed = None;
        self.handle.join().expect("the run thread")
    }
}

fn batches_in(progress: &Progress) -> u64 {
    progress.stages[0]
        .1
        .batches_in
        .load(std::sync::atomic::Ordering::SeqCst)
}

fn wait_for(what: &str, done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < PATIENCE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn column(batches: &[RecordBatch], name: &str) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name(name)
                .unwrap()
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .iter()
                .map(Option::unwrap)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn load_u64(c: &std::sync::atomic::AtomicU64) -> u64 {
    c.load(std::sync::atomic::Ordering::SeqCst)
}

/// Every row once, in order, `x = id * before` up to row `at` and `x = id * after` from it.
fn assert_switched_at(sink: &[RecordBatch], rows: i64, at: i64, before: i64, after: i64) {
    let ids = column(sink, "id");
    assert_eq!(
        ids,
        (0..rows).collect::<Vec<_>>(),
        "every row, once, in order"
    );
    let xs = column(sink, "x");
    for (id, x) in ids.iter().zip(&xs) {
        let factor = if *id < at { before } else { after };
        assert_eq!(*x, id * factor, "row {id}: switch at row {at}");
    }
}

#[test]
fn a_swap_takes_effect_at_the_next_batch_every_row_once_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let map = load(&rt, plugins::MAP);
    let recorder = Arc::new(Recorder::default());
    let mut running = Running::start(
        vec![stage(&map, &scale(2), 1, ErrorPolicy::Fail)],
        Some(recorder.clone()),
    );
    running.send(5);
    running.settle();
    let counters = &running.progress.stages[0].1;
    assert_eq!(counters.plugin().as_deref(), Some(&**map.id()));
    assert_eq!(counters.parallelism(), Some(1));
    let ticket = running
        .progress
        .swap(0, replacement(&running.progress, &map, &scale(3), 1))
        .unwrap();
    assert_eq!(ticket.switch_batch(), 5);
    running.send(5);
    let applied = ticket.wait(PATIENCE);
    assert_eq!(
        applied,
        Some(SwapOutcome::Applied {
            at_batch: 5,
            at_row: 50
        })
    );
    let progress = running.progress.clone();
    let (result, sink, _) = running.end();
    let outcome = result.unwrap();
    assert!(!outcome.stopped_early);
    assert_switched_at(&sink, 100, 50, 2, 3);

    let stats = &outcome.stages[0];
    assert_eq!(stats.rows_in, 100);
    assert_eq!(stats.swaps.len(), 1);
    let s = &stats.swaps[0];
    assert_eq!((s.at_batch, s.at_row), (5, 50));
    assert_eq!(
        (&*s.from_sha256, &*s.to_sha256),
        (map.sha256(), map.sha256())
    );
    // Both versions' usage: the old instance and the new one.
    assert_eq!(stats.instances_created, 2);
    let c = &progress.stages[0].1;
    assert_eq!(load_u64(&c.instances_created), 2);
    assert_eq!(load_u64(&c.peak_memory_bytes), stats.peak_memory_bytes);
    // Per instance: create, output-schema (at least) and then 5 process calls and a finish.
    let events = recorder.calls.lock().unwrap().len() as u64;
    assert_eq!(events, 12, "10 process calls and 2 finish calls");
    assert!(load_u64(&c.calls) >= events);
    assert_eq!(c.swaps(), stats.swaps);
    // After the run nothing more is accepted.
    assert_eq!(
        progress
            .swap(0, replacement(&progress, &map, &scale(5), 1))
            .unwrap_err(),
        SwapError::RunOver
    );
    let swaps = recorder.swaps.lock().unwrap();
    let outcomes: Vec<_> = swaps.iter().map(|(_, e)| e.outcome.clone()).collect();
    assert_eq!(outcomes, [Ok(applied.unwrap()), Err(SwapError::RunOver)]);
    assert_eq!(swaps[0].1.from, *map.id());
}

#[test]
fn a_replacement_that_does_not_fit_is_refused_and_the_run_goes_on_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let map = load(&rt, plugins::MAP);
    let pass = load(&rt, plugins::PASSTHROUGH);

    // Not started yet.
    let idle = Progress::new(["idle".to_owned()]);
    let early = Replacement {
        plugin: map.clone(),
        transformers: vec![new_transformer(&map, &scale(3), schema())],
    };
    assert_eq!(idle.swap(0, early).unwrap_err(), SwapError::NotRunning);

    let recorder = Arc::new(Recorder::default());
    let mut running = Running::start(
        vec![stage(&map, &scale(2), 1, ErrorPolicy::Fail)],
        Some(recorder.clone()),
    );
    running.send(3);
    running.settle();
    let progress = running.progress.clone();

    // An extra output column: the sink was built for the stage's output schema.
    let wider = replacement(
        &progress,
        &map,
        r#"{"columns":[{"column":"x","scale":3,"output":"y"}]}"#,
        1,
    );
    let err = progress.swap(0, wider).unwrap_err();
    let SwapError::Schema { side, field, .. } = &err else {
        panic!("expected a schema error, got {err:?}")
    };
    assert_eq!((*side, field.as_deref()), ("output", Some("y")), "{err}");

    // A transformer created for another input schema.
    let other: SchemaRef = Arc::new(arrow_schema::Schema::new(vec![
        arrow_schema::Field::new("id", arrow_schema::DataType::Int64, true),
        arrow_schema::Field::new("x", arrow_schema::DataType::Float64, true),
        arrow_schema::Field::new("k", arrow_schema::DataType::Int64, true),
    ]));
    let float = Replacement {
        plugin: pass.clone(),
        transformers: vec![new_transformer(&pass, "{}", other)],
    };
    let err = progress.swap(0, float).unwrap_err();
    let SwapError::Schema { side, field, .. } = &err else {
        panic!("expected a schema error, got {err:?}")
    };
    assert_eq!((*side, field.as_deref()), ("input", Some("x")), "{err}");

    // One transformer per instance; a plugin that is not the replacement's.
    assert_eq!(
        progress
            .swap(0, replacement(&progress, &map, &scale(3), 2))
            .unwrap_err(),
        SwapError::Parallelism {
            expected: 1,
            got: 2
        }
    );
    let mixed = Replacement {
        plugin: pass.clone(),
        transformers: vec![new_transformer(&map, &scale(3), schema())],
    };
    assert!(matches!(
        progress.swap(0, mixed).unwrap_err(),
        SwapError::Plugin { index: 0, .. }
    ));
    assert!(matches!(
        progress
            .swap(1, replacement(&progress, &map, &scale(3), 1))
            .unwrap_err(),
        SwapError::NoSuchStage {
            stage: 1,
            stages: 1
        }
    ));

    running.send(3);
    let (result, sink, _) = running.end();
    let outcome = result.unwrap();
    assert_switched_at(&sink, 60, 60, 2, 2);
    assert!(outcome.stages[0].swaps.is_empty());
    assert_eq!(outcome.stages[0].sha256, map.sha256());
    // The refusals the observer saw (not NoSuchStage: there is no such stage to report on).
    let swaps = recorder.swaps.lock().unwrap();
    assert_eq!(swaps.len(), 4);
    assert!(swaps.iter().all(|(_, e)| e.outcome.is_err()));
}

#[test]
fn parallel_instances_switch_at_the_same_batch() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let map = load(&rt, plugins::MAP);
    let pass = load(&rt, plugins::PASSTHROUGH);
    let mut running = Running::start(vec![stage(&map, &scale(2), 2, ErrorPolicy::Fail)], None);
    running.send(6);
    running.settle();
    let ticket = running
        .progress
        .swap(0, replacement(&running.progress, &pass, "{}", 2))
        .unwrap();
    running.send(7);
    assert_eq!(
        ticket.wait(PATIENCE),
        Some(SwapOutcome::Applied {
            at_batch: 6,
            at_row: 60
        })
    );
    let (result, sink, _) = running.end();
    let outcome = result.unwrap();
    // `passthrough` leaves `x` as it is: factor 1 from row 60 on.
    assert_switched_at(&sink, 130, 60, 2, 1);
    let stats = &outcome.stages[0];
    assert_eq!(
        stats.plugin, "passthrough",
        "the version running at the end"
    );
    assert_eq!(stats.sha256, pass.sha256());
    assert_eq!(stats.swaps.len(), 1);
    assert_eq!(stats.swaps[0].from_sha256, map.sha256());
    assert_eq!(stats.swaps[0].to_sha256, pass.sha256());
    // Two old instances, and a new one for each instance that took a batch past the switch
    // point (one instance may happen to take all seven).
    assert!(
        (3..=4).contains(&stats.instances_created),
        "{}",
        stats.instances_created
    );
}

#[test]
fn a_swap_under_load_splits_the_stream_at_one_batch_boundary() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let map = load(&rt, plugins::MAP);
    let pass = load(&rt, plugins::PASSTHROUGH);
    let mut running = Running::start(vec![stage(&map, &scale(2), 3, ErrorPolicy::Fail)], None);
    // The stage is busy when the swap arrives: batches keep coming.
    running.send(200);
    wait_for("stage 0 to be under way", || {
        batches_in(&running.progress) >= 20
    });
    let ticket = running
        .progress
        .swap(0, replacement(&running.progress, &pass, "{}", 3))
        .unwrap();
    running.send(100);
    let Some(SwapOutcome::Applied { at_batch, at_row }) = ticket.wait(PATIENCE) else {
        panic!("the swap did not take effect")
    };
    assert_eq!(at_batch, ticket.switch_batch());
    assert_eq!(at_row, at_batch * ROWS as u64);
    let (result, sink, _) = running.end();
    let outcome = result.unwrap();
    assert_switched_at(&sink, 3000, at_row as i64, 2, 1);
    assert_eq!(outcome.stages[0].swaps[0].at_row, at_row);
}

#[test]
fn a_stateful_stage_is_finished_before_the_switch_and_the_new_version_starts_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let dedupe = load(&rt, plugins::DEDUPE);
    let recorder = Arc::new(Recorder::default());
    let config = r#"{"keys":["k"]}"#;
    let mut running = Running::start(
        vec![stage(&dedupe, config, 1, ErrorPolicy::Fail)],
        Some(recorder.clone()),
    );
    // Keys 0..10 in every batch: the first batch keeps all ten, the next ones none.
    running.send(3);
    running.settle();
    let ticket = running
        .progress
        .swap(0, replacement(&running.progress, &dedupe, config, 1))
        .unwrap();
    running.send(3);
    assert!(matches!(
        ticket.wait(PATIENCE),
        Some(SwapOutcome::Applied { at_batch: 3, .. })
    ));
    let (result, sink, _) = running.end();
    let outcome = result.unwrap();
    // The new instance has seen no key yet: batch 3 is kept whole, 4 and 5 dropped.
    assert_eq!(
        column(&sink, "id"),
        (0..10).chain(30..40).collect::<Vec<_>>()
    );
    let stats = &outcome.stages[0];
    assert_eq!(
        stats.counters.get("rows-dropped"),
        Some(&40),
        "both versions"
    );
    // The old instance's `finish` ran before the new one's first call.
    let calls: Vec<bool> = recorder
        .calls
        .lock()
        .unwrap()
        .iter()
        .map(|c| c.finish)
        .collect();
    assert_eq!(
        calls,
        [false, false, false, true, false, false, false, true],
        "3 calls, finish, 3 calls, finish"
    );
}

#[test]
fn a_failing_finish_at_the_switch_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let evil = load(&rt, plugins::EVIL);
    let pass = load(&rt, plugins::PASSTHROUGH);
    // `loop-finish` passes batches through and loops forever in `finish`: the deadline ends it.
    let mut plan = stage(&evil, r#"{"mode":"loop-finish"}"#, 1, ErrorPolicy::Skip);
    plan.sandbox.limits.deadline = Duration::from_millis(300);
    let mut running = Running::start(vec![plan], None);
    running.send(2);
    running.settle();
    let ticket = running
        .progress
        .swap(0, replacement(&running.progress, &pass, "{}", 1))
        .unwrap();
    running.send(2);
    let outcome = ticket.wait(PATIENCE);
    assert!(
        matches!(&outcome, Some(SwapOutcome::Failed(m)) if m.contains("deadline")),
        "{outcome:?}"
    );
    let (result, _, _) = running.end();
    let Err(RunError::Stage { error, .. }) = result else {
        panic!("expected a stage failure, got {result:?}")
    };
    assert_eq!(error.call, Call::Finish);
    assert_eq!(error.plugin.name, "evil", "the old version failed");
}

#[test]
fn a_newer_swap_supersedes_a_waiting_one_and_a_swap_past_the_last_batch_ends_with_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let map = load(&rt, plugins::MAP);
    let recorder = Arc::new(Recorder::default());
    let mut running = Running::start(
        vec![stage(&map, &scale(2), 1, ErrorPolicy::Fail)],
        Some(recorder.clone()),
    );
    running.send(3);
    running.settle();
    let progress = running.progress.clone();
    let first = progress
        .swap(0, replacement(&progress, &map, &scale(3), 1))
        .unwrap();
    let second = progress
        .swap(0, replacement(&progress, &map, &scale(5), 1))
        .unwrap();
    assert_eq!(first.wait(PATIENCE), Some(SwapOutcome::Superseded));
    assert_eq!(second.switch_batch(), 3);
    running.send(2);
    assert_eq!(
        second.wait(PATIENCE),
        Some(SwapOutcome::Applied {
            at_batch: 3,
            at_row: 30
        })
    );
    running.settle();
    let third = progress
        .swap(0, replacement(&progress, &map, &scale(7), 1))
        .unwrap();
    assert_eq!(third.switch_batch(), 5);
    assert_eq!(third.outcome(), None, "waits for batch 5");
    let (result, sink, _) = running.end();
    assert_eq!(third.wait(PATIENCE), Some(SwapOutcome::RunEnded));
    let outcome = result.unwrap();
    assert_switched_at(&sink, 50, 30, 2, 5);
    assert_eq!(outcome.stages[0].swaps.len(), 1);
    let events: Vec<_> = recorder
        .swaps
        .lock()
        .unwrap()
        .iter()
        .map(|(_, e)| e.outcome.clone())
        .collect();
    assert_eq!(
        events,
        [
            Ok(SwapOutcome::Superseded),
            Ok(SwapOutcome::Applied {
                at_batch: 3,
                at_row: 30
            }),
            Ok(SwapOutcome::RunEnded)
        ]
    );
}

#[test]
fn dead_letters_and_errors_name_the_version_that_failed() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let pass = load(&rt, plugins::PASSTHROUGH);
    let evil = load(&rt, plugins::EVIL);
    let mut running = Running::start(vec![stage(&pass, "{}", 1, ErrorPolicy::DeadLetter)], None);
    running.send(2);
    running.settle();
    // `evil` sends one row too many for every batch (the data has no `attack` column).
    let ticket = running
        .progress
        .swap(
            0,
            replacement(&running.progress, &evil, r#"{"mode":"wrong-row-count"}"#, 1),
        )
        .unwrap();
    running.send(2);
    assert!(matches!(
        ticket.wait(PATIENCE),
        Some(SwapOutcome::Applied { at_row: 20, .. })
    ));
    let (result, sink, letters) = running.end();
    let outcome = result.unwrap();
    assert_eq!(column(&sink, "id"), (0..20).collect::<Vec<_>>());
    assert_eq!(outcome.rows_dead_lettered, 20);
    let positions: Vec<u64> = letters.0.iter().map(|r| r.first_row).collect();
    assert_eq!(positions, [20, 30]);
    for r in &letters.0 {
        assert_eq!(r.plugin.sha256, evil.sha256());
        assert_eq!(r.error.plugin.sha256, evil.sha256());
    }
}

#[test]
fn stop_intake_drains_the_run_and_everything_read_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let map = load(&rt, plugins::MAP);
    let mut plan = stage(&map, &scale(2), 2, ErrorPolicy::Fail);
    // Re-cut to 15 rows: the drain must flush the rechunker's last partial batch too.
    plan.batch_rows = Some(15);
    let prepared = prepare(schema(), vec![plan]).unwrap();
    let progress = Arc::new(Progress::new(["map".to_owned()]));
    // The source asks for the drain itself while producing batch 3: the flag is checked
    // before the next batch is asked for, so batches 0..=3 are read, and nothing after.
    let p = progress.clone();
    let source = Box::new((0..1000).map(move |n| {
        if n == 3 {
            p.stop_intake();
        }
        Ok::<_, BoxError>(batch(n))
    }));
    let mut sink = Vec::new();
    let outcome = run(prepared, source, &mut sink, None, &progress).unwrap();
    assert!(outcome.stopped_early);
    assert!(progress.is_stopping());
    assert_eq!(outcome.rows_read, 40);
    assert_eq!(outcome.rows_written, 40);
    assert_switched_at(&sink, 40, 40, 2, 2);
    assert_eq!(outcome.stages[0].batches_in, 3, "15 + 15 + 10 rows");
}

#[test]
fn stop_intake_with_a_waiting_source_ends_after_the_next_batch_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let map = load(&rt, plugins::MAP);
    let mut running = Running::start(vec![stage(&map, &scale(2), 1, ErrorPolicy::Fail)], None);
    running.send(4);
    running.settle();
    // The source thread waits in `next()`: the flag is seen once a batch arrives (or the feed
    // closes). Batches sent after that are not read.
    running.progress.stop_intake();
    running.send(1);
    let progress = running.progress.clone();
    let sent_after = running.feed.clone().unwrap();
    let (result, sink, _) = running.end();
    // The feed is still open: the run ended on the flag, not on the end of the source.
    drop(sent_after);
    let outcome = result.unwrap();
    assert!(outcome.stopped_early);
    let read = outcome.rows_read;
    assert!(read == 40 || read == 50, "{read}");
    assert_eq!(outcome.rows_written, read, "everything read is written");
    assert_eq!(load_u64(&progress.rows_written), read);
    assert_switched_at(&sink, read as i64, read as i64, 2, 2);
}

#[test]
fn the_observer_sees_every_call_and_every_skipped_batch() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let evil = load(&rt, plugins::EVIL);
    let map = load(&rt, plugins::MAP);
    let recorder = Arc::new(Recorder::default());
    let plans = vec![
        stage(&evil, r#"{"mode":"panic"}"#, 2, ErrorPolicy::Skip),
        stage(&map, &scale(2), 1, ErrorPolicy::Fail),
    ];
    let prepared = prepare(evil_schema(), plans).unwrap();
    let progress = Progress::new(["evil".to_owned(), "map".to_owned()])
        .with_observer(recorder.clone() as Arc<dyn RunObserver>);
    // 100 batches; every 7th one sets the attack off.
    let source = Box::new((0..100).map(|n| Ok::<_, BoxError>(evil_batch(n, n % 7 == 0))));
    let mut sink = Vec::new();
    let outcome = run(prepared, source, &mut sink, None, &progress).unwrap();
    let failing = (0..100).filter(|n| n % 7 == 0).count() as u64;
    assert_eq!(outcome.stages[0].errors.get("panic"), Some(&failing));

    let calls = recorder.calls.lock().unwrap();
    let per_stage = |stage: usize, finish: bool| {
        calls
            .iter()
            .filter(|c| c.stage == stage && c.finish == finish)
            .count() as u64
    };
    assert_eq!(per_stage(0, false), 100, "one process call per batch");
    assert_eq!(per_stage(0, true), 2, "one finish per instance");
    assert_eq!(per_stage(1, false), 100 - failing);
    assert_eq!(per_stage(1, true), 1);
    let failed_calls: Vec<_> = calls.iter().filter(|c| c.error_kind.is_some()).collect();
    assert_eq!(failed_calls.len() as u64, failing);
    assert!(
        failed_calls
            .iter()
            .all(|c| c.stage == 0 && c.error_kind == Some("panic"))
    );
    let rows_in: u64 = calls
        .iter()
        .filter(|c| c.stage == 0)
        .map(|c| c.rows_in)
        .sum();
    assert_eq!(rows_in, 1000);
    let rows_out: u64 = calls
        .iter()
        .filter(|c| c.stage == 1)
        .map(|c| c.rows_out)
        .sum();
    assert_eq!(rows_out, outcome.rows_written);

    let errors = recorder.errors.lock().unwrap();
    assert_eq!(errors.len() as u64, failing);
    let mut first_rows: Vec<u64> = errors.iter().map(|e| e.first_row).collect();
    first_rows.sort_unstable();
    assert_eq!(
        first_rows,
        (0..100)
            .filter(|n| n % 7 == 0)
            .map(|n| n * ROWS as u64)
            .collect::<Vec<_>>()
    );
    for e in errors.iter() {
        assert_eq!((e.stage, &*e.plugin.name, e.rows), (0, "evil", 10));
        assert_eq!((e.policy, e.fatal), (ErrorPolicy::Skip, false));
    }
    // The live usage counters agree with the final statistics.
    let c = &progress.stages[0].1;
    assert_eq!(
        load_u64(&c.instances_created),
        outcome.stages[0].instances_created
    );
    assert_eq!(
        load_u64(&c.peak_memory_bytes),
        outcome.stages[0].peak_memory_bytes
    );
    let busy_ms = load_u64(&c.busy_ns) as f64 / 1e6;
    assert!((busy_ms - outcome.stages[0].busy_ms).abs() < 1e-3);
    assert!(load_u64(&c.calls) >= 102);
    assert_eq!(outcome.stages[0].errors.len(), 1, "panics only");
}

/// A batch for `evil`: `x` (Int64) and `attack` (true in every row when `attack`), rows
/// `n * ROWS ..`.
fn evil_batch(n: i64, attack: bool) -> RecordBatch {
    let ids: Vec<i64> = (n * ROWS..(n + 1) * ROWS).collect();
    RecordBatch::try_from_iter_with_nullable([
        ("x", Arc::new(Int64Array::from(ids)) as ArrayRef, true),
        (
            "attack",
            Arc::new(arrow_array::BooleanArray::from(vec![attack; ROWS as usize])) as ArrayRef,
            true,
        ),
    ])
    .unwrap()
}

fn evil_schema() -> SchemaRef {
    evil_batch(0, false).schema()
}
