//! `quiver test [DIR...]`: golden tests for plugins and pipelines.
//!
//! A test case is a folder holding `case.toml`, `input.csv` and either `expected.csv` (the
//! exact output, as CSV text) or an `expect_error` line in `case.toml` (a text the error
//! must contain). `case.toml` lists one or more `[[stage]]`s exactly as a pipeline file
//! does (`plugin`, `config`, `limits`, `grants`, `parallelism`, `on_error`, `batch_rows`);
//! a `plugin` given by bare name (`plugin = "dedupe"`) is looked up as `<name>.wasm` in
//! `--plugin-dir`, any other value is a path relative to the case folder. Optional
//! `batch_rows` sets the input's batch size (default 3, so multi-batch behaviour is
//! exercised even by tiny inputs); optional `schema` gives `input.csv`'s column types
//! (`schema = [{ name = "qty", type = "int32" }]`, as a CSV source's `schema`) where
//! inference would not pick them.
//!
//! Every folder under the given directories that holds a `case.toml` is a case. A mismatch
//! prints the first differing rows; `--junit FILE` writes a JUnit XML report; `--bless`
//! rewrites `expected.csv` from what the plugins produce now. Exit code 1 when any case
//! fails.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use arrow_array::RecordBatch;
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use quiver_host::Runtime;
use quiver_io::{ColumnSpec, CsvOptions, SinkSpec, SourceSpec, WriteMode};
use quiver_pipeline::Progress;
use serde::Deserialize;

use crate::ceiling::CeilingArgs;
use crate::exit::Coded;
use crate::run::{all_problems, build_plans, plan_problems};
use crate::spec::{PipelineSpec, StageSpec};
use crate::stream::Io;

/// Arguments of `quiver test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Directories to search for cases (folders holding `case.toml`).
    #[arg(default_value = ".", env = "QUIVER_TEST_DIRS", value_delimiter = ':')]
    dirs: Vec<PathBuf>,
    /// Where plugins named by bare name are found (`<dir>/<name>.wasm`).
    #[arg(long, env = "QUIVER_PLUGIN_DIR")]
    plugin_dir: Option<PathBuf>,
    /// Write a JUnit XML report to this file.
    #[arg(long, env = "QUIVER_JUNIT")]
    junit: Option<PathBuf>,
    /// Rewrite every case's `expected.csv` from the current output instead of comparing.
    #[arg(long, env = "QUIVER_BLESS")]
    bless: bool,
    #[command(flatten)]
    ceiling: CeilingArgs,
}

/// `case.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseSpec {
    /// The stages, as in a pipeline file.
    #[serde(rename = "stage")]
    stages: Vec<StageSpec>,
    /// The run must fail with an error containing this text.
    expect_error: Option<String>,
    /// Rows per input batch.
    #[serde(default = "three")]
    batch_rows: usize,
    /// The columns of `input.csv`, when inference would not give the types the case needs
    /// (e.g. `int32`, `float32`, `timestamp[ms]`); same syntax as a CSV source's `schema`.
    schema: Option<Vec<ColumnSpec>>,
}

fn three() -> usize {
    3
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
        return Err(Coded::config(format!(
            "no test cases (folders with a case.toml) under {}",
            args.dirs
                .iter()
                .map(|d| d.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let runtime = Runtime::new(args.ceiling.runtime_config())?;
    // Cases resolve their paths from their own folder: make the plugin dir absolute.
    let plugin_dir = match &args.plugin_dir {
        Some(d) => {
            Some(std::path::absolute(d).with_context(|| format!("--plugin-dir {}", d.display()))?)
        }
        None => None,
    };
    let mut suite = TestSuite::new("quiver golden tests");
    let mut failed = 0;
    for case in &cases {
        let started = Instant::now();
        let verdict = run_case(case, args, plugin_dir.as_deref(), &runtime)
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
        return Err(Coded {
            code: 1,
            message: format!("{failed} of {} golden cases failed", cases.len()),
        }
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

fn find_cases(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if dir.join("case.toml").is_file() {
        out.push(dir.to_owned());
        return Ok(());
    }
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            find_cases(&path, out)?;
        }
    }
    Ok(())
}

fn run_case(
    case: &Path,
    args: &TestArgs,
    plugin_dir: Option<&Path>,
    runtime: &Runtime,
) -> Result<Verdict> {
    let text = std::fs::read_to_string(case.join("case.toml"))?;
    let mut spec: CaseSpec = toml::from_str(&text)
        .map_err(|e| Coded::config(format!("{}: {e}", case.join("case.toml").display())))?;
    for s in &mut spec.stages {
        let bare = s.plugin.components().count() == 1 && s.plugin.extension().is_none();
        if bare {
            let dir = plugin_dir.ok_or_else(|| {
                Coded::config(format!(
                    "plugin `{}` is named without a path; pass --plugin-dir",
                    s.plugin.display()
                ))
            })?;
            let name = s.plugin.display().to_string();
            s.plugin = dir.join(format!("{name}.wasm"));
        }
    }
    let pipeline = PipelineSpec {
        source: SourceSpec {
            batch_rows: spec.batch_rows,
            csv: CsvOptions {
                schema: spec.schema,
                ..CsvOptions::default()
            },
            ..SourceSpec::new("input.csv")
        },
        stages: spec.stages,
        sink: SinkSpec {
            mode: WriteMode::Overwrite,
            ..SinkSpec::new("expected.csv")
        },
        dead_letter: None,
    };
    let outcome = execute(&pipeline, case, runtime);
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
fn execute(spec: &PipelineSpec, case: &Path, runtime: &Runtime) -> Result<String> {
    let io = Io::new()?;
    let source = io.open_source(&spec.source, case)?;
    let plans = build_plans(spec, case, runtime).map_err(all_problems)?;
    let names: Vec<String> = plans.iter().map(|p| p.name.clone()).collect();
    let prepared = quiver_pipeline::prepare(source.schema.clone(), plans).map_err(plan_problems)?;
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
