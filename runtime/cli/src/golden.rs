//! `quiver test [DIR...]`: golden tests for plugins and pipelines.
//!
//! A test case is a folder holding `case.toml`, `input.csv` and either `expected.csv` (the
//! exact output, as CSV text) or an `expect_error` line in `case.toml` (a text the error
//! must contain). `case.toml` lists one or more `[[stage]]`s exactly as a pipeline file
//! does (`plugin`, `config`, `limits`, `grants`, `parallelism`, `on_error`, `batch_rows`);
//! a plugin named by name (`plugin = "dedupe"`) resolves as in a pipeline — the plugin path
//! (`--plugin-path`) first, then the first-party plugins built into quiver —, a path is
//! relative to the case folder. Optional
//! `batch_rows` sets the input's batch size (default 3, so multi-batch behaviour is
//! exercised even by tiny inputs); optional `schema` gives `input.csv`'s column types
//! (`schema = [{ name = "qty", type = "int32" }]`, as a CSV source's `schema`) where
//! inference would not pick them.
//!
//! Every folder under the given directories that holds a `case.toml` is a case, except in
//! `target`, `node_modules`, `template` and hidden folders (so `quiver test` with no
//! arguments in a checkout runs every first-party case and skips the SDK templates). A mismatch
//! prints the first differing rows; `--junit FILE` writes a JUnit XML report; `--bless`
//! rewrites `expected.csv` from what the plugins produce now. Exit code 1 when any case
//! fails.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use arrow_array::RecordBatch;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use quiver_fault::{Failure, Fault};
use quiver_host::Runtime;
use quiver_job::{Io, Resolver};
use quiver_pipeline::Progress;
use serde_json::{Value, json};

use crate::args::{CeilingArgs, PluginPathArgs};

/// Arguments of `quiver test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Directories to search for cases (folders holding `case.toml`).
    // An id of its own: the flattened `PluginPathArgs::dirs` is also `dirs`, and two
    // arguments with one id made clap hand the case folders to the plugin path, so
    // `--plugin-path` was silently ignored and every case ran the first-party plugins.
    #[arg(
        id = "case_dirs",
        value_name = "DIR",
        default_value = ".",
        env = "QUIVER_TEST_DIRS",
        value_delimiter = ':'
    )]
    dirs: Vec<PathBuf>,
    #[command(flatten)]
    plugin_path: PluginPathArgs,
    /// Write a JUnit XML report to this file.
    #[arg(long, env = "QUIVER_JUNIT")]
    junit: Option<PathBuf>,
    /// Rewrite every case's `expected.csv` from the current output instead of comparing.
    #[arg(long, env = "QUIVER_BLESS")]
    bless: bool,
    #[command(flatten)]
    ceiling: CeilingArgs,
}

/// The keys of `case.toml` besides the stages.
const CASE_KEYS: &[&str] = &["stage", "expect_error", "batch_rows", "schema"];

/// A case: its pipeline (built from `case.toml`) and what it expects.
struct CaseSpec {
    /// The run must fail with an error containing this text.
    expect_error: Option<String>,
    /// The pipeline: `input.csv` → the stages → CSV (and any problem found reading it).
    read: quiver_spec::Read,
}

/// Read `case.toml`: `[[stage]]`s as in a pipeline file, plus `expect_error`, `batch_rows`
/// (rows per input batch, default 3) and `schema` (the columns of `input.csv`, when
/// inference would not give the types the case needs).
fn read_case(case: &Path) -> Result<CaseSpec> {
    let path = case.join("case.toml");
    let subject = path.display().to_string();
    let text = std::fs::read_to_string(&path)?;
    let problems = |p: Vec<quiver_spec::Problem>| quiver_spec::Problems::new(subject.clone(), p);
    let value = quiver_spec::to_value(&text, quiver_spec::Syntax::Toml).map_err(problems)?;
    let Value::Object(map) = value else {
        unreachable!("a TOML document is a table")
    };
    if let Some(k) = map.keys().find(|k| !CASE_KEYS.contains(&k.as_str())) {
        return Err(Failure::config(format!(
            "{subject}: unknown key `{k}`; a case has {}",
            CASE_KEYS.join(", ")
        ))
        .into());
    }
    let expect_error = match map.get("expect_error") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(Failure::config(format!("{subject}: `expect_error` is a string")).into());
        }
    };
    let mut csv = json!({});
    if let Some(schema) = map.get("schema") {
        csv["schema"] = schema.clone();
    }
    let doc = json!({
        "source": {
            "path": "input.csv",
            "batch_rows": map.get("batch_rows").cloned().unwrap_or(json!(3)),
            "csv": csv,
        },
        "stage": map.get("stage").cloned().unwrap_or(json!([])),
        "sink": {"path": "expected.csv", "mode": "overwrite"},
    });
    let read = quiver_spec::read(&doc, quiver_spec::Context::Cli).map_err(problems)?;
    Ok(CaseSpec { expect_error, read })
}

/// How one case ended.
enum Verdict {
    Pass,
    Blessed,
    Fail(String),
}

/// Find and run every case; print a line per case and a summary.
pub fn run(args: &TestArgs) -> Result<()> {
    let mut cases = Vec::new();
    for dir in &args.dirs {
        find_cases(dir, &mut cases)
            .with_context(|| format!("searching {} for test cases", dir.display()))?;
    }
    cases.sort();
    if cases.is_empty() {
        return Err(Failure::config(format!(
            "no test cases (folders with a case.toml) under {}",
            args.dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into());
    }
    let runtime = Arc::new(Runtime::new(args.ceiling.runtime_config())?);
    let resolver = args
        .plugin_path
        .resolver(runtime)
        .with_instance_ceiling(args.ceiling.instance_ceiling());
    let io = Io::new()?;
    let mut suite = TestSuite::new("quiver golden tests");
    let mut failed = 0;
    for case in &cases {
        let started = Instant::now();
        let verdict = run_case(case, args, &resolver, &io)
            .unwrap_or_else(|e| Verdict::Fail(format!("{e:#}")));
        let name = case.display().to_string();
        let mut status = TestCaseStatus::success();
        match &verdict {
            Verdict::Pass => println!("ok      {name}"),
            Verdict::Blessed => println!("blessed {name}"),
            Verdict::Fail(why) => {
                failed += 1;
                println!("FAILED  {name}\n{}", indent(why));
                let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                s.set_description(why.clone());
                status = s;
            }
        }
        let mut tc = TestCase::new(name, status);
        tc.set_time(started.elapsed());
        suite.add_test_case(tc);
    }
    println!(
        "{} cases: {} passed, {failed} failed",
        cases.len(),
        cases.len() - failed
    );
    if let Some(path) = &args.junit {
        let mut report = Report::new("quiver");
        report.add_test_suite(suite);
        let xml = report.to_string().context("rendering the JUnit report")?;
        std::fs::write(path, xml)
            .with_context(|| format!("writing the JUnit report {}", path.display()))?;
    }
    if failed > 0 {
        return Err(Failure::new(
            Fault::Plugin,
            format!("{failed} of {} golden cases failed", cases.len()),
        )
        .into());
    }
    Ok(())
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("        {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Folders never searched for cases: build output, dependencies, hidden folders, and
/// templates (`quiver plugin new` copies them; their cases hold `{{name}}` placeholders).
fn skipped(dir: &Path) -> bool {
    dir.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.') || ["target", "node_modules", "template"].contains(&n))
}

fn find_cases(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if dir.join("case.toml").is_file() {
        out.push(dir.to_owned());
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() && !skipped(&path) {
            find_cases(&path, out)?;
        }
    }
    Ok(())
}

fn run_case(case: &Path, args: &TestArgs, resolver: &Resolver, io: &Io) -> Result<Verdict> {
    let spec = read_case(case)?;
    let outcome = execute(&spec.read, case, resolver, io);
    match (&spec.expect_error, outcome) {
        (Some(want), Err(e)) => {
            let got = format!("{e:#}");
            if got.contains(want.as_str()) {
                Ok(Verdict::Pass)
            } else {
                Ok(Verdict::Fail(format!(
                    "the error does not contain {want:?}:\n{got}"
                )))
            }
        }
        (Some(want), Ok(_)) => Ok(Verdict::Fail(format!(
            "expected an error containing {want:?}, but the run succeeded"
        ))),
        (None, Err(e)) => Ok(Verdict::Fail(format!("the run failed: {e:#}"))),
        (None, Ok(actual)) => {
            let expected_path = case.join("expected.csv");
            if args.bless {
                std::fs::write(&expected_path, &actual)?;
                return Ok(Verdict::Blessed);
            }
            let expected = std::fs::read_to_string(&expected_path).with_context(|| {
                format!(
                    "reading {} (run with --bless to create it)",
                    expected_path.display()
                )
            })?;
            Ok(match first_difference(&expected, &actual) {
                None => Verdict::Pass,
                Some(diff) => Verdict::Fail(diff),
            })
        }
    }
}

/// Run the case's stages over its input; the output as CSV text.
fn execute(read: &quiver_spec::Read, case: &Path, resolver: &Resolver, io: &Io) -> Result<String> {
    let subject = case.display().to_string();
    let (checked, source) = quiver_job::check(read, resolver, io, case, &subject)?;
    let source = source.context("a case reads input.csv")?;
    let names: Vec<String> = checked.stages.iter().map(|s| s.name.clone()).collect();
    let prepared = checked.prepared;
    let schema = prepared.output_schema();
    let mut sink: Vec<RecordBatch> = Vec::new();
    let progress = Progress::new(names);
    quiver_pipeline::run(prepared, io.batches(source), &mut sink, None, &progress)?;
    let mut out = Vec::new();
    {
        let mut w = arrow_csv::WriterBuilder::new()
            .with_header(true)
            .build(&mut out);
        if sink.is_empty() {
            w.write(&RecordBatch::new_empty(schema))?;
        }
        for b in &sink {
            w.write(b)?;
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// The first rows where `expected` and `actual` differ, shown side by side; `None` when
/// they are equal.
fn first_difference(expected: &str, actual: &str) -> Option<String> {
    if expected == actual {
        return None;
    }
    let e: Vec<&str> = expected.lines().collect();
    let a: Vec<&str> = actual.lines().collect();
    let first = (0..e.len().max(a.len())).find(|&i| e.get(i) != a.get(i))?;
    let mut text = format!(
        "output differs from expected.csv at line {} ({} expected lines, {} actual):\n",
        first + 1,
        e.len(),
        a.len()
    );
    for i in first..(first + 5).min(e.len().max(a.len())) {
        text.push_str(&format!(
            "  line {:>4}  expected: {}\n             actual:   {}\n",
            i + 1,
            e.get(i).copied().unwrap_or("<none>"),
            a.get(i).copied().unwrap_or("<none>")
        ));
    }
    Some(text)
}
