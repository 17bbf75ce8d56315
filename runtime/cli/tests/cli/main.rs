//! The `quiver` binary end to end: real processes, real plugin components, real files, and
//! a real S3-compatible server (moto). This file holds the commands' behaviour; `formats.rs`
//! the round trip of every format locally and through S3; `bad_input.rs` the documented
//! error and exit code for each kind of bad input; `sdk.rs` plugins in every SDK language
//! (`plugin new`, `plugin build`, the ports on the Rust plugins' golden cases); `serve.rs`
//! `quiver serve` as a process (the token rule, SIGTERM).

mod bad_input;
mod distributed;
mod formats;
mod ingest;
mod kafka;
mod nats_auth;
mod nested;
mod real_files;
mod sdk;
mod serve;
mod streams;

use std::path::Path;
use std::process::{Command, Output};

use quiver_tests::plugins;

fn quiver(args: &[&str], cache: &Path) -> Output {
    quiver_with(args, cache, &[])
}

/// Run `quiver` with extra environment variables.
///
/// The compile budget is raised to 10 minutes: the SDK tests compile 10–20 MB Python and
/// JavaScript components, and on a 2-core machine running other tests beside them the default
/// 2 minutes was seen to run out. The tests of the budget itself pass `--compile-timeout`,
/// which wins over the environment.
fn quiver_with(args: &[&str], cache: &Path, envs: &[(&str, String)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(args)
        .env("QUIVER_CACHE_DIR", cache)
        .env("QUIVER_COMPILE_TIMEOUT", "10m")
        .envs(envs.iter().map(|(k, v)| (k, v)))
        .output()
        .expect("running quiver")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn inspect_prints_name_version_wit_and_config_schema() {
    let dir = tempfile::tempdir().unwrap();
    let out = quiver(&["plugin", "inspect", plugins::FILTER], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "name:        filter",
        "version:     0.1.0",
        "wit:         quiver:transform@0.2.0",
        "\"required\"",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    // tagger 1.0.0 is built from the 0.1 WIT: each plugin shows the contract it speaks.
    let out = quiver(&["plugin", "inspect", plugins::TAGGER], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("wit:         quiver:transform@0.1.0"),
        "tagger 1.0.0 speaks 0.1:\n{text}"
    );

    let out = quiver(&["plugin", "inspect", "--json", plugins::MAP], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["name"], "map");
    assert_eq!(doc["wit"], "quiver:transform@0.2.0");
    assert_eq!(
        doc["config_schema"]["required"],
        serde_json::json!(["columns"])
    );
}

#[test]
fn inspect_of_a_file_that_is_not_a_plugin_is_a_clear_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.wasm");
    std::fs::write(&bogus, b"\0asm\x01\0\0\0garbage").unwrap();
    let out = quiver(&["plugin", "inspect", bogus.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(65), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("is not a WebAssembly component") && !err.contains("panicked"),
        "{err}"
    );

    let out = quiver(&["plugin", "inspect", "/nonexistent.wasm"], dir.path());
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot read plugin file /nonexistent.wasm"));
}

fn write_pipeline(dir: &Path, stages: &str, sink: &str) -> std::path::PathBuf {
    std::fs::write(
        dir.join("in.csv"),
        "id,name,amount\n1,ann,10.5\n2,bob,\n1,ann,10.5\n3,cy,-4\n",
    )
    .unwrap();
    let text = format!(
        "[source]\npath = \"in.csv\"\nbatch_rows = 2\n\n{stages}\n[sink]\npath = \"{sink}\"\n"
    );
    let p = dir.join("pipeline.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// Run `pipeline` successfully with `--report` and return the parsed report.
fn run_with_report(dir: &Path, pipeline: &Path) -> serde_json::Value {
    let report = dir.join("report.json");
    let out = quiver(
        &[
            "run",
            pipeline.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
        dir,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap()
}

#[test]
fn run_executes_stages_writes_the_sink_and_a_lineage_report() {
    let dir = tempfile::tempdir().unwrap();
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ keys = [\"id\"] }}\n\n[[stage]]\nplugin = {:?}\nconfig = {{ column = \"amount\", op = \"ge\", value = 0, nulls = \"keep\" }}\n",
        plugins::DEDUPE,
        plugins::FILTER
    );
    let pipeline = write_pipeline(dir.path(), &stages, "out.csv");
    let r = run_with_report(dir.path(), &pipeline);
    let written = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(written, "id,name,amount\n1,ann,10.5\n2,bob,\n");
    assert_eq!(r["rows_read"], 4);
    assert_eq!(r["rows_written"], 2);
    assert_eq!(r["stages"][0]["plugin"], "dedupe");
    assert_eq!(r["stages"][0]["sha256"].as_str().unwrap().len(), 64);
    assert_eq!(r["stages"][0]["counters"]["rows-dropped"], 1);
    assert_eq!(r["stages"][1]["rows_in"], 3);
    assert_eq!(r["stages"][1]["rows_out"], 2);
}

/// A plugin built from the 0.1 WIT (tagger 1.0.0) runs between 0.2 stages: the 0.2 stage
/// before it hands over a selection and kept handles, the 0.1 stage copies every column in and
/// out, and the 0.2 stage after it computes on the 0.1 stage's output by handle.
#[test]
fn a_contract_0_1_plugin_runs_between_contract_0_2_stages() {
    let dir = tempfile::tempdir().unwrap();
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ keys = [\"id\"] }}\n\n\
         [[stage]]\nplugin = {:?}\n\n\
         [[stage]]\nplugin = {:?}\nconfig = {{ columns = [{{ column = \"amount\", scale = 2.0 }}] }}\n",
        plugins::DEDUPE,
        plugins::TAGGER,
        plugins::MAP,
    );
    let pipeline = write_pipeline(dir.path(), &stages, "out.csv");
    let r = run_with_report(dir.path(), &pipeline);
    let written = std::fs::read_to_string(dir.path().join("out.csv")).unwrap();
    assert_eq!(
        written,
        "id,name,amount,tagged_by\n1,ann,21.0,1.0.0\n2,bob,,1.0.0\n3,cy,-8.0,1.0.0\n"
    );
    let wits: Vec<&str> = r["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["wit"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        wits,
        [
            "quiver:transform@0.2.0",
            "quiver:transform@0.1.0",
            "quiver:transform@0.2.0"
        ],
        "{r}"
    );
}

#[test]
fn a_config_the_plugin_rejects_exits_78_names_the_key_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ column = \"nope\", op = \"eq\", value = 1 }}\n",
        plugins::FILTER
    );
    let pipeline = write_pipeline(dir.path(), &stages, "out.parquet");
    let out = quiver(&["run", pipeline.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("bad config at `column`") && err.contains("filter@0.1.0"),
        "{err}"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        !leftovers
            .iter()
            .any(|n| n.to_string_lossy().contains("out.parquet")),
        "{leftovers:?}"
    );
}

#[test]
fn an_unknown_field_in_the_pipeline_file_exits_78_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let pipeline = write_pipeline(
        dir.path(),
        "[[stage]]\nplugin = \"x.wasm\"\nconfg = {}\n",
        "out.csv",
    );
    let out = quiver(&["run", pipeline.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("unknown field `confg`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn stage_limits_stop_a_runaway_plugin_and_nothing_is_committed() {
    let dir = tempfile::tempdir().unwrap();
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ mode = \"loop-process\" }}\nlimits = {{ deadline = \"200ms\", memory = \"32MiB\" }}\n",
        plugins::EVIL
    );
    let pipeline = write_pipeline(dir.path(), &stages, "out.csv");
    let out = quiver(&["run", pipeline.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("evil@0.1.0")
            && err.contains("process of batch 0")
            && err.contains("deadline exceeded"),
        "{err}"
    );
    assert!(!dir.path().join("out.csv").exists());
}

#[test]
fn fuel_and_grants_in_the_pipeline_file_reach_the_plugin_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("models")).unwrap();
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ mode = \"spin\", iterations = 1000 }}\n\
         limits = {{ fuel = 100000000 }}\ngrants = {{ dirs = [{{ host = \"models\", guest = \"/models\" }}] }}\n",
        plugins::EVIL
    );
    let pipeline = write_pipeline(dir.path(), &stages, "out.csv");
    let r = run_with_report(dir.path(), &pipeline);
    let usage = &r["stages"][0];
    assert!(usage["fuel_consumed"].as_u64().unwrap() > 2000, "{usage}");
    assert_eq!(usage["instances_created"], 1);
    assert!(usage["peak_memory_bytes"].as_u64().unwrap() > 0, "{usage}");
    assert_eq!(usage["quarantined"], false);
}

#[test]
fn limits_over_the_operators_ceiling_exit_78_and_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{}}\nlimits = {{ memory = \"512MiB\" }}\n",
        plugins::PASSTHROUGH
    );
    let pipeline = write_pipeline(dir.path(), &stages, "out.csv");
    let out = quiver(
        &["run", pipeline.to_str().unwrap(), "--max-memory", "128MiB"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("limits.memory") && err.contains("ceiling of 128.0 MiB"),
        "{err}"
    );
}

#[test]
fn what_a_plugin_prints_reaches_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ mode = \"stderr-flood\", bytes = 12 }}\n",
        plugins::EVIL
    );
    let pipeline = write_pipeline(dir.path(), &stages, "out.csv");
    let out = quiver(
        &[
            "run",
            pipeline.to_str().unwrap(),
            "--log",
            "quiver::plugin=info",
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("EEEEEEEEEEEE") && err.contains("plugin=evil"),
        "{err}"
    );
}

#[test]
fn failed_batches_go_to_the_dead_letter_file_with_their_context() {
    let dir = tempfile::tempdir().unwrap();
    // Batches of 2 rows; `wrong-row-count` fails every batch; half the stage input is
    // dead-lettered, the other stage keeps going.
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ mode = \"wrong-row-count\" }}\non_error = \"dead-letter\"\n\n\
         [dead_letter]\npath = \"failed.ndjson\"\n",
        plugins::EVIL
    );
    let pipeline = write_pipeline(dir.path(), &stages, "out.csv");
    let r = run_with_report(dir.path(), &pipeline);
    assert_eq!(r["rows_read"], 4);
    assert_eq!(r["rows_written"], 0);
    assert_eq!(r["rows_dead_lettered"], 4);
    assert_eq!(r["stages"][0]["errors"]["invalid-output"], 2);
    let text = std::fs::read_to_string(dir.path().join("failed.ndjson")).unwrap();
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    // The failed row itself, nulls written out, as a JSON object in `record`.
    let record = |i: usize| -> serde_json::Value {
        serde_json::from_str(rows[i]["record"].as_str().unwrap()).unwrap()
    };
    assert_eq!(
        record(0),
        serde_json::json!({"id": 1, "name": "ann", "amount": 10.5})
    );
    assert_eq!(
        record(1),
        serde_json::json!({"id": 2, "name": "bob", "amount": null})
    );
    assert_eq!(rows[3]["row"], 3);
    assert_eq!(rows[0]["stage"], "evil");
    assert_eq!(rows[0]["plugin"], "evil");
    assert_eq!(rows[0]["plugin_version"], "0.1.0");
    assert_eq!(rows[0]["error_kind"], "invalid-output");
    assert!(
        rows[0]["error"].as_str().unwrap().contains("rows"),
        "{}",
        rows[0]
    );
    assert_eq!(rows[0]["plugin_sha256"].as_str().unwrap().len(), 64);
    assert_eq!(
        r["dead_letter"][0].as_str().unwrap(),
        dir.path().join("failed.ndjson").display().to_string()
    );
    // The sink is committed with its header and no row: every row is accounted for in the
    // dead-letter file.
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "id,name,amount\n"
    );
}

#[test]
fn validate_counts_every_rule_in_the_report_dead_lettered_rows_included() {
    let dir = tempfile::tempdir().unwrap();
    // Two batches of 4; three rows break the `fail` rule (one of them also the `drop` rule:
    // it is dead-lettered, so it counts for the fail rule only), two more break the drop
    // rule, one has a null amount (flag).
    std::fs::write(
        dir.path().join("in.csv"),
        "id,name,amount\n1,ann,10\n2,bob,-1\n3,zed,5\n4,cy,-2\n\
         5,zed,-3\n6,ann,\n7,bob,1\n8,zed,2\n",
    )
    .unwrap();
    let text = format!(
        "[source]\npath = \"in.csv\"\nbatch_rows = 4\n\n\
         [[stage]]\nplugin = {:?}\non_error = \"dead-letter\"\nconfig = {{ rules = [\n\
         {{ name = \"amount_positive\", check = \"range\", column = \"amount\", min = 0, action = \"fail\" }},\n\
         {{ name = \"known_name\", check = \"allowed\", column = \"name\", values = [\"ann\", \"bob\", \"cy\"], action = \"drop\" }},\n\
         {{ name = \"amount_present\", check = \"not_null\", column = \"amount\", action = \"flag\" }},\n\
         ] }}\n\n[dead_letter]\npath = \"failed.ndjson\"\n\n[sink]\npath = \"out.csv\"\n",
        plugins::VALIDATE
    );
    let pipeline = dir.path().join("pipeline.toml");
    std::fs::write(&pipeline, text).unwrap();
    let r = run_with_report(dir.path(), &pipeline);
    assert_eq!(r["rows_read"], 8);
    assert_eq!(r["rows_dead_lettered"], 3);
    assert_eq!(r["rows_written"], 3, "{r}");
    assert_eq!(
        r["stages"][0]["counters"],
        serde_json::json!({
            "rule:amount_positive": 3,
            "rule:known_name": 2,
            "rule:amount_present": 1,
        }),
        "{r}"
    );
    let dead = std::fs::read_to_string(dir.path().join("failed.ndjson")).unwrap();
    let ids: Vec<i64> = dead
        .lines()
        .map(|l| {
            let row: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(row["error"].as_str().unwrap().contains("amount_positive"));
            let record: serde_json::Value =
                serde_json::from_str(row["record"].as_str().unwrap()).unwrap();
            record["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids, [2, 4, 5]);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
        "id,name,amount,_invalid,_invalid_rules\n1,ann,10,false,\n6,ann,,true,amount_present\n7,bob,1,false,\n"
    );
}

#[test]
fn skip_drops_failed_batches_and_the_summary_counts_them() {
    let dir = tempfile::tempdir().unwrap();
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ mode = \"panic\" }}\non_error = \"skip\"\nparallelism = 2\n",
        plugins::EVIL
    );
    let pipeline = write_pipeline(dir.path(), &stages, "out.csv");
    let out = quiver(&["run", pipeline.to_str().unwrap()], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("failed rows: 4 skipped, 0 dead-lettered"),
        "{}",
        stdout(&out)
    );
}

/// A CSV of `rows` rows (id, name, amount) at `path`.
fn big_csv(path: &Path, rows: u64) {
    use std::io::Write as _;
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "id,name,amount").unwrap();
    for i in 0..rows {
        writeln!(w, "{i},customer-{},{}.{:02}", i % 977, i % 5000, i % 100).unwrap();
    }
    w.flush().unwrap();
}

fn pipeline_over(dir: &Path, input: &str, stages: &str, sink: &str) -> std::path::PathBuf {
    let p = dir.join(format!("{input}.toml"));
    std::fs::write(
        &p,
        format!("[source]\npath = \"{input}\"\n\n{stages}\n[sink]\npath = \"{sink}\"\n"),
    )
    .unwrap();
    p
}

#[test]
fn a_run_killed_mid_way_leaves_no_output_visible() {
    let dir = tempfile::tempdir().unwrap();
    big_csv(&dir.path().join("in.csv"), 300_000);
    // A slow stage, so the run is surely mid-way when it is killed.
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ mode = \"spin\", iterations = 20000000 }}\n",
        plugins::EVIL
    );
    let pipeline = pipeline_over(dir.path(), "in.csv", &stages, "out.parquet");
    let mut child = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["run", pipeline.to_str().unwrap()])
        .env("QUIVER_CACHE_DIR", dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the sink's temporary file exists: the run is writing.
    let partial = || {
        std::fs::read_dir(dir.path()).unwrap().any(|e| {
            let name = e.unwrap().file_name().to_string_lossy().into_owned();
            name.starts_with(".out.parquet.") && name.ends_with(".partial")
        })
    };
    let mut waited = 0;
    while !partial() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        waited += 1;
        assert!(waited < 6000, "the sink never started writing");
    }
    // SIGKILL: no destructor, no cleanup handler runs.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !dir.path().join("out.parquet").exists(),
        "a killed run left its output visible"
    );
}

#[test]
fn peak_memory_does_not_grow_with_the_input() {
    let dir = tempfile::tempdir().unwrap();
    big_csv(&dir.path().join("small.csv"), 200_000);
    big_csv(&dir.path().join("large.csv"), 2_000_000);
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{}}\nparallelism = 2\n\n[[stage]]\nplugin = {:?}\nconfig = {{ column = \"amount\", op = \"ge\", value = 10 }}\n",
        plugins::PASSTHROUGH,
        plugins::FILTER
    );
    let peak = |input: &str| {
        let pipeline = pipeline_over(dir.path(), input, &stages, &format!("{input}.parquet"));
        let r = run_with_report(dir.path(), &pipeline);
        assert_eq!(
            r["rows_read"].as_u64().unwrap(),
            if input == "small.csv" {
                200_000
            } else {
                2_000_000
            }
        );
        r["peak_rss_bytes"]
            .as_u64()
            .expect("peak_rss_bytes on Linux")
    };
    // The first run compiles the plugins (compilation has its own peak); measure warm runs.
    peak("small.csv");
    std::fs::remove_file(dir.path().join("small.csv.parquet")).unwrap();
    let small = peak("small.csv");
    let large = peak("large.csv");
    eprintln!(
        "peak resident memory: {} MiB for 200k rows, {} MiB for 2M rows",
        small >> 20,
        large >> 20
    );
    // Ten times the input; a generous bound that a buffering pipeline (10x the data in
    // memory) would still break.
    assert!(
        large < small + small / 2 + (64 << 20),
        "peak memory grew from {} MiB to {} MiB with 10x the input",
        small >> 20,
        large >> 20
    );
}

/// The dead-letter channel is bounded like every other channel of a run: when every row of
/// a 10M-row input is dead-lettered, the run's peak memory is that of a 1M-row run (a
/// generous bound that an unbounded queue of failed batches would break).
#[test]
fn dead_lettering_every_row_of_ten_million_keeps_memory_bounded() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    for (name, rows) in [("small.csv", 1_000_000_u64), ("large.csv", 10_000_000)] {
        let mut w = std::io::BufWriter::new(std::fs::File::create(dir.path().join(name)).unwrap());
        writeln!(w, "x").unwrap();
        for i in 0..rows {
            writeln!(w, "{i}").unwrap();
        }
        w.flush().unwrap();
    }
    let peak = |input: &str| {
        let text = format!(
            "[source]\npath = \"{input}\"\nbatch_rows = 65536\n[source.csv]\nschema = [{{ name = \"x\", type = \"int64\" }}]\n\n\
             [[stage]]\nplugin = {:?}\nconfig = {{ mode = \"reject-data\" }}\non_error = \"dead-letter\"\n\n\
             [sink]\npath = \"{input}.out.csv\"\nmode = \"overwrite\"\n\n\
             [dead_letter]\npath = \"{input}.failed.parquet\"\nmode = \"overwrite\"\n",
            plugins::EVIL
        );
        let pipeline = dir.path().join(format!("{input}.toml"));
        std::fs::write(&pipeline, text).unwrap();
        let r = run_with_report(dir.path(), &pipeline);
        assert_eq!(r["rows_written"].as_u64(), Some(0), "{r}");
        assert_eq!(r["rows_dead_lettered"], r["rows_read"], "{r}");
        r["peak_rss_bytes"]
            .as_u64()
            .expect("peak_rss_bytes on Linux")
    };
    let small = peak("small.csv");
    let large = peak("large.csv");
    eprintln!(
        "peak resident memory dead-lettering every row: {} MiB for 1M rows, {} MiB for 10M",
        small >> 20,
        large >> 20
    );
    assert!(
        large < small + small / 2 + (64 << 20),
        "peak memory grew from {} MiB to {} MiB with 10x the dead-lettered rows",
        small >> 20,
        large >> 20
    );
}

#[test]
fn validate_reports_every_problem_not_just_the_first() {
    let dir = tempfile::tempdir().unwrap();
    let stages = format!(
        "[[stage]]\nplugin = \"missing-a.wasm\"\n\n[[stage]]\nplugin = {:?}\nparallelism = 0\n\n[[stage]]\nplugin = \"missing-b.wasm\"\n",
        plugins::PASSTHROUGH
    );
    let pipeline = write_pipeline(dir.path(), &stages, "out.csv");
    let out = quiver(&["validate", pipeline.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let err = stderr(&out);
    for needle in [
        "3 problems",
        "`stage.0.plugin`",
        "missing-a.wasm",
        "`stage.1.parallelism` (line 10): must be at least 1",
        "`stage.2.plugin`",
        "missing-b.wasm",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in:\n{err}");
    }
}

#[test]
fn validate_negotiates_schemas_and_names_the_stage_that_does_not_fit() {
    let dir = tempfile::tempdir().unwrap();
    let good = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ columns = [{{ column = \"amount\", scale = 2.0, output = \"double\" }}] }}\n",
        plugins::MAP
    );
    let pipeline = write_pipeline(dir.path(), &good, "out.csv");
    let out = quiver(&["validate", pipeline.to_str().unwrap()], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("valid") && text.contains("after stage map (map@0.1.0"),
        "{text}"
    );
    assert!(
        !dir.path().join("out.csv").exists(),
        "validate must not run"
    );

    let bad = format!(
        "{good}\n[[stage]]\nplugin = {:?}\nconfig = {{ column = \"nope\", op = \"eq\", value = 1 }}\n",
        plugins::FILTER
    );
    let pipeline = write_pipeline(dir.path(), &bad, "out.csv");
    let out = quiver(&["validate", pipeline.to_str().unwrap()], dir.path());
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("`stage.1`: stage `filter`") && stderr(&out).contains("`column`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn schema_prints_the_json_schema_of_pipeline_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = quiver(&["schema"], dir.path());
    assert!(out.status.success(), "{}", stderr(&out));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        schema["required"],
        serde_json::json!(["source", "sink"]),
        "{schema}"
    );
    let stage = &schema["$defs"]["Stage"]["properties"];
    for key in [
        "plugin",
        "config",
        "limits",
        "grants",
        "parallelism",
        "on_error",
    ] {
        assert!(stage.get(key).is_some(), "stage has no `{key}`: {stage}");
    }
    assert_eq!(
        schema["$defs"]["Stage"]["additionalProperties"], false,
        "unknown stage keys must be refused"
    );
}

#[test]
fn set_overrides_values_and_env_values_are_used_but_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nconfig = {{ column = \"${{env:QUIVER_TEST_COLUMN}}\", op = \"ge\", value = 100 }}\n",
        plugins::FILTER
    );
    let pipeline = write_pipeline(dir.path(), &stages, "out.csv");
    let run = |extra: &[&str], column: &str| {
        let mut args = vec!["run", pipeline.to_str().unwrap()];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_quiver"))
            .args(&args)
            .env("QUIVER_CACHE_DIR", dir.path())
            .env("QUIVER_TEST_COLUMN", column)
            .output()
            .unwrap()
    };
    // --set lowers the threshold from 100 to 0 and names another sink.
    let out = run(
        &[
            "--set",
            "stage.0.config.value=0",
            "--set",
            "sink.path=over.csv",
        ],
        "amount",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("over.csv")).unwrap(),
        "id,name,amount\n1,ann,10.5\n1,ann,10.5\n"
    );
    // A value from the environment that breaks the spec is not echoed.
    let out = run(
        &["--set", "stage.0.parallelism=${env:QUIVER_TEST_COLUMN}"],
        "s3cr3t-value",
    );
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("`stage.0.parallelism`"), "{err}");
    assert!(!err.contains("s3cr3t-value"), "{err}");
    // A --set into a stage that does not exist says so.
    let out = run(&["--set", "stage.5.config.value=1"], "amount");
    assert_eq!(out.status.code(), Some(78), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("there is no `stage.5`"),
        "{}",
        stderr(&out)
    );
}

/// Regression: `quiver test --plugin-path` ignored the plugin path (its argument shared clap's
/// id `dirs` with the case folders), so golden cases ran the first-party plugins whatever
/// was given, and the SDK ports' golden tests (`sdk.rs`) tested nothing. `tagger` is not
/// first-party: it resolves only through the plugin path.
#[test]
fn golden_cases_resolve_plugins_on_the_plugin_path_first() {
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = dir.path().join("plugins");
    std::fs::create_dir_all(&plugin_dir).unwrap();
    std::fs::copy(plugins::TAGGER, plugin_dir.join("tagger.wasm")).unwrap();
    let case = dir.path().join("cases/tagged");
    std::fs::create_dir_all(&case).unwrap();
    std::fs::write(case.join("case.toml"), "[[stage]]\nplugin = \"tagger\"\n").unwrap();
    std::fs::write(case.join("input.csv"), "x\n1\n").unwrap();
    std::fs::write(case.join("expected.csv"), "x,tagged_by\n1,1.0.0\n").unwrap();
    let out = quiver(
        &[
            "test",
            dir.path().join("cases").to_str().unwrap(),
            "--plugin-path",
            plugin_dir.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert!(out.status.success(), "{}\n{}", stdout(&out), stderr(&out));
}

#[test]
fn golden_cases_pass_fail_with_a_diff_write_junit_and_bless() {
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = Path::new(plugins::PASSTHROUGH).parent().unwrap();
    let case = dir.path().join("cases/filter-positive");
    std::fs::create_dir_all(&case).unwrap();
    std::fs::write(
        case.join("case.toml"),
        "[[stage]]\nplugin = \"filter\"\nconfig = { column = \"x\", op = \"gt\", value = 0 }\n",
    )
    .unwrap();
    std::fs::write(case.join("input.csv"), "x\n1\n-2\n3\n").unwrap();
    std::fs::write(case.join("expected.csv"), "x\n1\n4\n").unwrap();
    let junit = dir.path().join("junit.xml");
    let cases = dir.path().join("cases");
    let args = [
        "test",
        cases.to_str().unwrap(),
        "--plugin-path",
        plugin_dir.to_str().unwrap(),
        "--junit",
        junit.to_str().unwrap(),
    ];
    let out = quiver(&args, dir.path());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("FAILED")
            && text.contains("line    3  expected: 4")
            && text.contains("actual:   3"),
        "{text}"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(
        xml.contains("filter-positive") && xml.contains("<failure"),
        "{xml}"
    );

    let mut bless = args.to_vec();
    bless.push("--bless");
    assert!(quiver(&bless, dir.path()).status.success());
    assert_eq!(
        std::fs::read_to_string(case.join("expected.csv")).unwrap(),
        "x\n1\n3\n"
    );
    let out = quiver(&args, dir.path());
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(stdout(&out).contains("1 cases: 1 passed, 0 failed"));
}

/// `quiver test` with no arguments in the checkout runs every first-party golden case —
/// plugins named by name resolve to the first-party plugins built into the binary — and
/// they all pass; the SDK templates (`{{name}}` placeholders) are not cases.
#[test]
fn quiver_test_with_no_arguments_runs_and_passes_every_first_party_case() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .arg("test")
        .current_dir(&root)
        .env("QUIVER_CACHE_DIR", dir.path())
        .env_remove("QUIVER_PLUGIN_PATH")
        .env_remove("QUIVER_TEST_DIRS")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    assert!(
        !text.contains("template"),
        "a template folder ran as a case:\n{text}"
    );
    let summary = text.lines().last().unwrap_or_default();
    let cases: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no summary line: {summary}"));
    assert!(cases >= 170, "{summary}");
    assert!(
        summary.ends_with(&format!("{cases} passed, 0 failed")),
        "{summary}"
    );
}
