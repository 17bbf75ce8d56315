//! Distributed runs of the real `quiver` binary: a coordinator (`quiver run --workers`) and
//! `quiver worker` processes on a real NATS server with JetStream. The output of 24 tasks on
//! 3 workers is exactly the single-process output; so is the output when a worker is
//! SIGKILLed in the middle of writing a task's part (the task runs again elsewhere and the
//! half-written part never appears); workers drain and exit 0 on SIGTERM, their metrics
//! files adding up to the run (tasks, rows, redeliveries, lag); stateful stages
//! are refused with the reason; a large Parquet file becomes one task per run of row groups,
//! with the single-process output too; an input whose schema differs fails the run as it
//! fails one process.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quiver_tests::nats::Nats;

const FILES: usize = 24;
const ROWS_PER_FILE: usize = 20_000;

fn inputs(dir: &Path) {
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for f in 0..FILES {
        let mut text = String::from("id,amount,name\n");
        for r in 0..ROWS_PER_FILE {
            let id = f * ROWS_PER_FILE + r;
            text.push_str(&format!("{id},{}.5,n{}\n", id % 977, id % 13));
        }
        std::fs::write(input.join(format!("f{f:03}.csv")), text).unwrap();
    }
}

fn pipeline(dir: &Path, stages: &str, sink: &str) -> PathBuf {
    let p = dir.join("pipeline.toml");
    std::fs::write(
        &p,
        format!(
            "[source]\npath = \"in/\"\nbatch_rows = 4096\n\n{stages}\n[sink]\npath = \"{sink}/\"\nformat = \"csv\"\n"
        ),
    )
    .unwrap();
    p
}

const STAGES: &str = "[[stage]]\nplugin = \"map\"\nconfig = { columns = [{ column = \"amount\", scale = 2.0 }] }\n\n[[stage]]\nplugin = \"filter\"\nconfig = { column = \"amount\", op = \"ge\", value = 100 }\n";

fn quiver(cache: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quiver"));
    c.env("QUIVER_CACHE_DIR", cache).stdin(Stdio::null());
    c
}

fn worker(cache: &Path, url: &str, name: &str) -> Child {
    quiver(cache)
        .args([
            "worker",
            "--nats",
            url,
            "--name",
            name,
            "--task-ack-wait",
            "2s",
        ])
        .arg("--metrics-file")
        .arg(cache.join(format!("{name}.prom")))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn coordinator(cache: &Path, url: &str, pipeline: &Path, report: &Path) -> Child {
    quiver(cache)
        .args([
            "run",
            "--quiet",
            "--task-ack-wait",
            "2s",
            "--workers",
            url,
            "--report",
        ])
        .arg(report)
        .arg(pipeline)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Every data line of every CSV part below `dir`, sorted; and whether any entry is hidden.
fn rows(dir: &Path) -> (Vec<String>, bool) {
    let mut lines = Vec::new();
    let mut hidden = false;
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            hidden = true;
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        lines.extend(text.lines().skip(1).map(str::to_owned));
    }
    lines.sort();
    (lines, hidden)
}

/// The single-process run's rows (also compiles the plugins into the shared cache).
fn single(dir: &Path) -> Vec<String> {
    let rows = single_rows(dir);
    assert!(
        rows.len() > FILES * ROWS_PER_FILE / 2,
        "the filter keeps most rows"
    );
    rows
}

/// The rows of the pipeline over `dir/in/` run in one process into `dir/single/`.
fn single_rows(dir: &Path) -> Vec<String> {
    let p = pipeline(dir, STAGES, "single");
    let out = quiver(dir)
        .args(["run", "--quiet"])
        .arg(&p)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    rows(&dir.join("single")).0
}

fn finish(coordinator: Child, report: &Path) -> serde_json::Value {
    let out = coordinator.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "coordinator: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&std::fs::read(report).unwrap()).unwrap()
}

/// `metric` summed over the metrics files of `workers` (written by each as it exits).
fn metric(cache: &Path, workers: &[&str], metric: &str) -> f64 {
    workers
        .iter()
        .map(|w| {
            let text = std::fs::read_to_string(cache.join(format!("{w}.prom"))).unwrap();
            let line = format!("{metric}{{worker=\"{w}\"}} ");
            text.lines()
                .find_map(|l| l.strip_prefix(&line))
                .unwrap_or_else(|| panic!("no {metric} for {w}: {text}"))
                .parse::<f64>()
                .unwrap()
        })
        .sum()
}

/// SIGTERM every worker: each drains and exits 0 within a few seconds.
fn drain(workers: Vec<Child>) {
    for w in &workers {
        // SAFETY: plain kill(2) on a child we own.
        unsafe { libc::kill(w.id() as i32, libc::SIGTERM) };
    }
    for w in workers {
        let out = w.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a worker did not drain cleanly: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn twenty_four_tasks_on_three_workers_write_exactly_the_single_process_output() {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    inputs(dir.path());
    let expected = single(dir.path());
    let workers: Vec<Child> = (1..=3)
        .map(|i| worker(dir.path(), &nats.url(), &format!("w{i}")))
        .collect();
    let p = pipeline(dir.path(), STAGES, "dist");
    let report = dir.path().join("report.json");
    let started = Instant::now();
    let r = finish(coordinator(dir.path(), &nats.url(), &p, &report), &report);
    eprintln!("distributed run in {:?}: {r}", started.elapsed());
    let (got, hidden) = rows(&dir.path().join("dist"));
    assert!(!hidden, "no staging leftovers in the output");
    assert_eq!(got.len(), expected.len());
    assert!(
        got == expected,
        "the distributed output differs from the single-process one"
    );
    assert_eq!(r["tasks"], FILES);
    assert_eq!(r["rows_read"], FILES * ROWS_PER_FILE);
    assert!(
        r["workers"].as_object().unwrap().len() >= 2,
        "tasks were shared: {r}"
    );
    drain(workers);
    // Each worker's metrics file, last written as it drained, adds up to the run.
    // (A task runs twice only if a worker was too slow to report; then both runs count.)
    let all = ["w1", "w2", "w3"];
    let d = dir.path();
    let again = metric(d, &all, "quiver_worker_redeliveries_total");
    assert!(again >= r["tasks_redelivered"].as_f64().unwrap(), "{r}");
    assert_eq!(
        metric(d, &all, "quiver_worker_tasks_done_total"),
        FILES as f64 + again
    );
    assert_eq!(metric(d, &all, "quiver_worker_tasks_failed_total"), 0.0);
    let written = metric(d, &all, "quiver_worker_rows_written_total");
    if again == 0.0 {
        assert_eq!(written, r["rows_written"].as_f64().unwrap(), "{r}");
    }
    assert_eq!(metric(d, &all, "quiver_worker_lag_tasks"), 0.0);
    assert!(metric(d, &all, "quiver_worker_busy_seconds_total") > 0.0);
}

#[test]
fn a_worker_killed_mid_task_loses_nothing_and_its_half_written_part_never_appears() {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    inputs(dir.path());
    let expected = single(dir.path());
    let p = pipeline(dir.path(), STAGES, "dist");
    let report = dir.path().join("report.json");
    let coord = coordinator(dir.path(), &nats.url(), &p, &report);
    // One worker alone, killed while a part of some task is half written (a hidden
    // `.partial` file in the staging directory that is still there after the kill).
    let mut killed_mid_write = false;
    for attempt in 0..5 {
        let mut victim = worker(dir.path(), &nats.url(), &format!("victim{attempt}"));
        let started = Instant::now();
        let staging_partial = || -> bool {
            std::fs::read_dir(dir.path()).unwrap().any(|e| {
                let p = e.unwrap().path();
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with(".dist.quiver-")
                    && partial_below(&p)
            })
        };
        while !staging_partial() && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_millis(1));
        }
        victim.kill().unwrap();
        victim.wait().unwrap();
        if staging_partial() {
            killed_mid_write = true;
            break;
        }
    }
    assert!(
        killed_mid_write,
        "could not catch a worker in the middle of a task"
    );
    let workers: Vec<Child> = (1..=3)
        .map(|i| worker(dir.path(), &nats.url(), &format!("w{i}")))
        .collect();
    let r = finish(coord, &report);
    eprintln!("with a worker killed: {r}");
    let (got, hidden) = rows(&dir.path().join("dist"));
    assert!(
        !hidden,
        "the killed attempt's half-written part is not in the output"
    );
    assert_eq!(got.len(), expected.len(), "every row exactly once");
    assert!(
        got == expected,
        "the output differs from the single-process one"
    );
    assert!(r["tasks_redelivered"].as_u64().unwrap() >= 1, "{r}");
    drain(workers);
    // The victim's task came back to one of the three, and its metrics say so.
    let all = ["w1", "w2", "w3"];
    assert!(metric(dir.path(), &all, "quiver_worker_redeliveries_total") >= 1.0);
}

/// One process fails on an input whose schema differs from the first's; so does a
/// distributed run, where each task reads its input alone: the coordinator pins the schema
/// in every task, and the worker refuses the odd file with the same data error (exit 65),
/// so no part of another schema is committed beside the others.
#[test]
fn an_input_whose_schema_differs_fails_the_distributed_run_as_it_fails_one_process() {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("in")).unwrap();
    for f in 0..5 {
        std::fs::write(
            d.join(format!("in/f{f}.csv")),
            format!("id,amount,name\n{f},1.5,a\n"),
        )
        .unwrap();
    }
    // Inferred on its own, this file's `amount` is text.
    std::fs::write(d.join("in/f5.csv"), "id,amount,name\n5,n/a,b\n").unwrap();
    let p = pipeline(d, "[[stage]]\nplugin = \"passthrough\"\n", "dist");
    let single = quiver(d).args(["run", "--quiet"]).arg(&p).output().unwrap();
    let single_err = String::from_utf8_lossy(&single.stderr);
    assert_eq!(single.status.code(), Some(65), "{single_err}");
    // (One process parses the file with the first files' types and fails on its value.)
    assert!(
        single_err.contains("f5.csv") && single_err.contains("\"amount\""),
        "{single_err}"
    );

    let workers: Vec<Child> = (1..=2)
        .map(|i| worker(d, &nats.url(), &format!("w{i}")))
        .collect();
    let out = coordinator(d, &nats.url(), &p, &d.join("report.json"))
        .wait_with_output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(65), "{err}");
    assert!(
        err.contains("f5.csv")
            && err.contains("column \"amount\"")
            && err.contains("the schema differs"),
        "{err}"
    );
    assert!(err.contains("nothing was committed"), "{err}");
    let left: Vec<_> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("dist"))
        .collect();
    assert!(left.is_empty(), "no output and no staging left: {left:?}");
    drain(workers);
}

fn partial_below(dir: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|e| {
        let p = e.path();
        if p.is_dir() {
            partial_below(&p)
        } else {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with(".partial")
        }
    })
}

#[test]
fn a_stateful_stage_is_refused_in_a_distributed_run_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("in")).unwrap();
    std::fs::write(dir.path().join("in/a.csv"), "id,amount,name\n1,2.5,a\n").unwrap();
    let p = pipeline(
        dir.path(),
        "[[stage]]\nplugin = \"dedupe\"\nconfig = { keys = [\"id\"] }\n",
        "dist",
    );
    // Refused before any connection: the URL is never dialled.
    let out = quiver(dir.path())
        .args(["run", "--workers", "nats://127.0.0.1:1"])
        .arg(&p)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(78),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("stage.0") && err.contains("dedupe") && err.contains("one process"),
        "{err}"
    );
}

/// `in/big.parquet` (8 row groups of 5,000 rows) and `in/small.parquet` (one row group).
fn parquet_inputs(dir: &Path) {
    use arrow_array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;
    let input = dir.join("in");
    std::fs::create_dir_all(&input).unwrap();
    for (name, rows) in [("big", 40_000i64), ("small", 3_000)] {
        let ids: Vec<i64> = (0..rows)
            .map(|i| i + if name == "big" { 0 } else { 1 << 20 })
            .collect();
        let batch = RecordBatch::try_from_iter([
            ("id", Arc::new(Int64Array::from(ids.clone())) as ArrayRef),
            (
                "amount",
                Arc::new(Float64Array::from_iter_values(
                    ids.iter().map(|i| (i % 977) as f64 + 0.5),
                )),
            ),
            (
                "name",
                Arc::new(StringArray::from_iter_values(
                    ids.iter().map(|i| format!("n{}", i % 13)),
                )),
            ),
        ])
        .unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(5_000))
            .build();
        let file = std::fs::File::create(input.join(format!("{name}.parquet"))).unwrap();
        let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
}

#[test]
fn a_large_parquet_file_is_split_into_row_group_tasks_that_write_the_single_process_output() {
    let nats = Nats::start();
    let dir = tempfile::tempdir().unwrap();
    parquet_inputs(dir.path());
    let expected = single_rows(dir.path());
    assert!(expected.len() > 20_000, "the filter keeps most rows");

    let workers: Vec<Child> = (1..=2)
        .map(|i| worker(dir.path(), &nats.url(), &format!("w{i}")))
        .collect();
    let p = pipeline(dir.path(), STAGES, "dist");
    let report = dir.path().join("report.json");
    // Tasks of at most ~40 KB of compressed row groups: one per row group of big.parquet
    // (each is larger than that), while small.parquet stays one task.
    let coord = quiver(dir.path())
        .env("QUIVER_TASK_SIZE", "40KB")
        .args(["run", "--quiet", "--workers", &nats.url(), "--report"])
        .arg(&report)
        .arg(&p)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let r = finish(coord, &report);
    assert_eq!(r["tasks"], 9, "8 row-group tasks and one whole file: {r}");
    assert_eq!(r["rows_read"], 43_000);
    let (got, hidden) = rows(&dir.path().join("dist"));
    assert!(!hidden, "no staging leftovers in the output");
    assert!(
        got == expected,
        "the distributed output differs from the single-process one ({} vs {} rows)",
        got.len(),
        expected.len()
    );
    drain(workers);
}
