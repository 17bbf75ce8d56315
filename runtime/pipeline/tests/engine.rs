//! The engine end to end with real plugin components: order under parallelism, re-chunking,
//! every error policy, quarantine, and schema negotiation errors.

use std::sync::Arc;
use std::time::Duration;

use arrow_array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use quiver_host::{ErrorKind, Limits, Plugin, Runtime, Sandbox};
use quiver_pipeline::engine::{BoxError, DeadLetterRecord};
use quiver_pipeline::{DeadLetter, ErrorPolicy, Progress, RunError, StagePlan, prepare, run};
use quiver_tests::{load, plugins, runtime};

/// `rows` rows in batches of `per_batch`; rows whose id is a multiple of `every` carry
/// `attack = true` (0: none do).
fn input(rows: i64, per_batch: i64, every: i64) -> Vec<RecordBatch> {
    (0..rows)
        .step_by(per_batch as usize)
        .map(|start| {
            let ids: Vec<i64> = (start..(start + per_batch).min(rows)).collect();
            let s: StringArray = ids.iter().map(|i| Some(format!("r{i}"))).collect();
            let attack: BooleanArray = ids
                .iter()
                .map(|i| Some(every > 0 && i % every == 0))
                .collect();
            RecordBatch::try_from_iter_with_nullable([
                ("x", Arc::new(Int64Array::from(ids)) as ArrayRef, true),
                ("s", Arc::new(s) as ArrayRef, true),
                ("attack", Arc::new(attack) as ArrayRef, true),
            ])
            .unwrap()
        })
        .collect()
}

fn stage(plugin: &Plugin, config: &str, parallelism: usize, on_error: ErrorPolicy) -> StagePlan {
    StagePlan {
        name: format!("{}-{parallelism}", plugin.name()),
        plugin: plugin.clone(),
        config: config.into(),
        sandbox: Sandbox::with_limits(Limits {
            deadline: Duration::from_secs(10),
            max_consecutive_failures: 1000,
            ..Limits::default()
        }),
        parallelism,
        on_error,
        batch_rows: None,
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

fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .unwrap()
                .iter()
                .map(Option::unwrap)
                .collect::<Vec<_>>()
        })
        .collect()
}

fn execute(
    rt: &Runtime,
    plans: Vec<StagePlan>,
    batches: Vec<RecordBatch>,
    dead_letter: Option<&mut Letters>,
) -> (
    Result<quiver_pipeline::RunOutcome, RunError>,
    Vec<RecordBatch>,
) {
    let _ = rt;
    let schema = batches[0].schema();
    let prepared = prepare(schema, plans).unwrap_or_else(|e| panic!("{e:?}"));
    let progress = Progress::new(prepared.stage_schemas().into_iter().map(|(n, _)| n));
    let mut sink: Vec<RecordBatch> = Vec::new();
    let source = Box::new(batches.into_iter().map(Ok::<_, BoxError>));
    let result = run(
        prepared,
        source,
        &mut sink,
        dead_letter.map(|d| d as &mut dyn DeadLetter),
        &progress,
    );
    (result, sink)
}

#[test]
fn parallel_instances_keep_the_input_order_and_batches_are_rechunked() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let pass = load(&rt, plugins::PASSTHROUGH);
    let map = load(&rt, plugins::MAP);
    let mut first = stage(&pass, "{}", 4, ErrorPolicy::Fail);
    first.batch_rows = Some(1000);
    let mut second = stage(
        &map,
        r#"{"columns":[{"column":"x","scale":2}]}"#,
        3,
        ErrorPolicy::Fail,
    );
    second.batch_rows = Some(333);
    let (result, sink) = execute(&rt, vec![first, second], input(50_000, 97, 0), None);
    let outcome = result.unwrap();
    assert_eq!(outcome.rows_read, 50_000);
    assert_eq!(outcome.rows_written, 50_000);
    assert_eq!(ids(&sink), (0..50_000).map(|i| i * 2).collect::<Vec<_>>());
    // Stage 0 saw batches re-cut to 1000 rows, stage 1 to 333.
    assert_eq!(outcome.stages[0].batches_in, 50);
    assert_eq!(outcome.stages[1].batches_in, 50_000_u64.div_ceil(333));
    assert_eq!(outcome.stages[0].instances_created, 4);
    assert_eq!(outcome.stages[0].sha256, pass.sha256());
}

#[test]
fn skip_drops_failing_batches_counts_them_and_keeps_the_rest_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let evil = load(&rt, plugins::EVIL);
    // Batches of 10 rows; every batch holding a multiple of 70 panics.
    let (result, sink) = execute(
        &rt,
        vec![stage(&evil, r#"{"mode":"panic"}"#, 2, ErrorPolicy::Skip)],
        input(1000, 10, 70),
        None,
    );
    let outcome = result.unwrap();
    let dropped: Vec<i64> = (0..1000)
        .filter(|i| (i / 10 * 10..i / 10 * 10 + 10).any(|j| j % 70 == 0))
        .collect();
    let kept: Vec<i64> = (0..1000).filter(|i| !dropped.contains(i)).collect();
    assert_eq!(ids(&sink), kept);
    assert_eq!(outcome.stages[0].rows_skipped, dropped.len() as u64);
    assert_eq!(outcome.stages[0].errors.get("panic"), Some(&15));
    assert_eq!(outcome.rows_written + outcome.stages[0].rows_skipped, 1000);
}

#[test]
fn dead_letter_receives_each_failing_batch_with_its_error_and_position() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let evil = load(&rt, plugins::EVIL);
    let mut letters = Letters::default();
    let (result, sink) = execute(
        &rt,
        vec![stage(
            &evil,
            r#"{"mode":"wrong-row-count"}"#,
            1,
            ErrorPolicy::DeadLetter,
        )],
        input(100, 10, 35),
        Some(&mut letters),
    );
    let outcome = result.unwrap();
    assert_eq!(outcome.rows_dead_lettered, 30);
    assert_eq!(ids(&sink).len(), 70);
    let positions: Vec<u64> = letters.0.iter().map(|r| r.first_row).collect();
    assert_eq!(positions, vec![0, 30, 70]);
    for r in &letters.0 {
        assert_eq!(r.plugin.name, "evil");
        assert!(
            matches!(r.error.kind, ErrorKind::InvalidOutput { .. }),
            "{}",
            r.error
        );
        assert_eq!(r.batch.num_rows(), 10);
    }
}

#[test]
fn a_data_error_naming_a_row_dead_letters_that_row_alone() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let map = load(&rt, plugins::MAP);
    let mut letters = Letters::default();
    // x * 2^57 overflows int64 from x = 64 on: `map` reports a data error naming the first
    // such row of each call. Batches of 10; rows 64..=99 are bad, 0..=63 good.
    let (result, sink) = execute(
        &rt,
        vec![stage(
            &map,
            r#"{"columns":[{"column":"x","scale":144115188075855872}]}"#,
            1,
            ErrorPolicy::DeadLetter,
        )],
        input(100, 10, 0),
        Some(&mut letters),
    );
    let outcome = result.unwrap();
    assert_eq!(outcome.rows_dead_lettered, 36);
    let kept: Vec<i64> = ids(&sink);
    assert_eq!(
        kept,
        (0..64).map(|x| x << 57).collect::<Vec<_>>(),
        "every good row, in order, once"
    );
    let positions: Vec<u64> = letters.0.iter().map(|r| r.first_row).collect();
    assert_eq!(positions, (64..100).collect::<Vec<u64>>());
    for r in &letters.0 {
        assert_eq!(r.batch.num_rows(), 1, "only the bad row is dead-lettered");
        let x = r
            .batch
            .column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .value(0);
        assert_eq!(x as u64, r.first_row, "the row at its position");
        assert!(
            matches!(&r.error.kind, ErrorKind::Data { column: Some(c), .. } if c == "x"),
            "{}",
            r.error
        );
    }
    assert_eq!(outcome.stages[0].rows_in, 100);
    assert_eq!(outcome.stages[0].rows_out, 64);
}

#[test]
fn row_isolation_is_bounded_per_batch_and_the_rest_is_dead_lettered_whole() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let map = load(&rt, plugins::MAP);
    let mut letters = Letters::default();
    let limit = quiver_pipeline::engine::MAX_ISOLATED_ROWS as u64;
    // One batch of 64 good rows and 300 bad ones (x * 2^57 overflows from x = 64 on).
    let (result, sink) = execute(
        &rt,
        vec![stage(
            &map,
            r#"{"columns":[{"column":"x","scale":144115188075855872}]}"#,
            1,
            ErrorPolicy::DeadLetter,
        )],
        input(364, 364, 0),
        Some(&mut letters),
    );
    let outcome = result.unwrap();
    // Every row is accounted for: the good ones out, the bad ones dead-lettered.
    assert_eq!(ids(&sink).len(), 64);
    assert_eq!(outcome.rows_dead_lettered, 300);
    let singles = letters.0.iter().filter(|r| r.batch.num_rows() == 1).count() as u64;
    assert_eq!(singles, limit, "rows isolated one by one, up to the bound");
    let last = letters.0.last().unwrap();
    assert_eq!(
        last.batch.num_rows() as u64,
        300 - limit,
        "the rest as one record"
    );
    assert_eq!(last.first_row, 64 + limit);
}

#[test]
fn fail_stops_the_run_with_the_stage_and_batch() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let evil = load(&rt, plugins::EVIL);
    let (result, _) = execute(
        &rt,
        vec![stage(&evil, r#"{"mode":"panic"}"#, 1, ErrorPolicy::Fail)],
        input(1000, 10, 500),
        None,
    );
    let Err(RunError::Stage { stage, error }) = result else {
        panic!("expected a stage failure, got {result:?}")
    };
    assert_eq!(stage, "evil-1");
    assert_eq!(error.batch, Some(0));
}

#[test]
fn a_quarantined_stage_stops_the_run_even_under_skip() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let evil = load(&rt, plugins::EVIL);
    let mut plan = stage(&evil, r#"{"mode":"panic"}"#, 1, ErrorPolicy::Skip);
    plan.sandbox.limits.max_consecutive_failures = 3;
    let (result, _) = execute(&rt, vec![plan], input(100, 10, 1), None);
    let Err(RunError::Stage { error, .. }) = result else {
        panic!("expected a stage failure, got {result:?}")
    };
    assert!(
        matches!(
            error.kind,
            ErrorKind::Trap { .. } | ErrorKind::Quarantined { .. }
        ),
        "{error}"
    );
}

#[test]
fn dead_letter_without_a_sink_is_refused_before_any_data_flows() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let pass = load(&rt, plugins::PASSTHROUGH);
    let (result, sink) = execute(
        &rt,
        vec![stage(&pass, "{}", 1, ErrorPolicy::DeadLetter)],
        input(10, 10, 0),
        None,
    );
    assert!(matches!(result, Err(RunError::DeadLetter(_))), "{result:?}");
    assert!(sink.is_empty());
}

#[test]
fn prepare_names_the_stage_whose_config_does_not_fit_the_schema_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let pass = load(&rt, plugins::PASSTHROUGH);
    let filter = load(&rt, plugins::FILTER);
    let schema = input(1, 1, 0)[0].schema();
    let errors = prepare(
        schema,
        vec![
            stage(&pass, "{}", 1, ErrorPolicy::Fail),
            stage(
                &filter,
                r#"{"column":"missing","op":"eq","value":1}"#,
                1,
                ErrorPolicy::Fail,
            ),
        ],
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].index, 1);
    assert!(matches!(&errors[0].error.kind, ErrorKind::Config { key, .. } if key == "column"));
}

/// A sink that checks the mark contract: when told `reached(m)`, every row of the first `m`
/// source batches is already written (`rows_of[m]` rows in all, a filter dropping some).
#[derive(Default)]
struct Marked {
    batches: Vec<RecordBatch>,
    /// (mark, rows written at that moment).
    reached: Vec<(u64, usize)>,
}

impl quiver_pipeline::BatchSink for Marked {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), BoxError> {
        self.batches.push(batch.clone());
        Ok(())
    }
    fn wants_marks(&self) -> bool {
        true
    }
    fn reached(&mut self, mark: u64) -> Result<(), BoxError> {
        let rows = self.batches.iter().map(RecordBatch::num_rows).sum();
        self.reached.push((mark, rows));
        Ok(())
    }
}

#[test]
fn marks_never_run_ahead_of_the_rows_written_through_rechunking_filters_and_parallelism() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let pass = load(&rt, plugins::PASSTHROUGH);
    let filter = load(&rt, plugins::FILTER);
    // Source batches of 97 rows; stage 0 re-cuts to 40 rows on 3 instances; the filter
    // drops every row with x < 300 (whole source batches produce nothing at first), then
    // keeps x >= 300; the sink sees what is left.
    let mut first = stage(&pass, "{}", 3, ErrorPolicy::Fail);
    first.batch_rows = Some(40);
    let second = stage(
        &filter,
        r#"{"column":"x","op":"ge","value":300}"#,
        2,
        ErrorPolicy::Fail,
    );
    let batches = input(5_000, 97, 0);
    let n = batches.len() as u64;
    let schema = batches[0].schema();
    let prepared = prepare(schema, vec![first, second]).unwrap();
    let progress = Progress::new(prepared.stage_schemas().into_iter().map(|(n, _)| n));
    let mut sink = Marked::default();
    let source = Box::new(batches.into_iter().map(Ok::<_, BoxError>));
    run(prepared, source, &mut sink, None, &progress).unwrap();
    // Rows of the first m source batches that pass the filter.
    let kept = |m: u64| ((m * 97).min(5_000) as usize).saturating_sub(300);
    let mut last = 0;
    for &(mark, written) in &sink.reached {
        assert!(mark > last, "marks grow: {:?}", sink.reached);
        assert!(
            written >= kept(mark),
            "mark {mark} reached with {written} rows written, {} needed",
            kept(mark)
        );
        last = mark;
    }
    assert_eq!(last, n, "the last mark covers every source batch");
    // Batches that the filter emptied still moved the mark: it was reached before any row.
    assert!(
        sink.reached.iter().any(|&(m, w)| w == 0 && m >= 2),
        "{:?}",
        sink.reached
    );
    assert_eq!(ids(&sink.batches), (300..5_000).collect::<Vec<_>>());
}
