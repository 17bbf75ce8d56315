//! Plugins in every SDK language, with their real toolchains (installed by
//! `scripts/toolchains/*.sh` on first use): `quiver plugin new` + `quiver plugin build` yield
//! a component that `inspect` accepts and `run` executes, and the Python, JavaScript and C
//! ports of `filter` and `map` (and Python's of `features`' standardise and one-hot) pass the
//! very golden cases of the Rust plugins.

use std::path::{Path, PathBuf};

use super::{quiver, quiver_with, stderr, stdout};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `quiver plugin new --lang LANG hello`, build it, inspect it, and run it over a CSV with
/// `config`; returns the run's report.
fn new_build_run(lang: &str, config: &str) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = quiver(
        &[
            "plugin",
            "new",
            "--lang",
            lang,
            "hello",
            "--dir",
            d.to_str().unwrap(),
        ],
        d,
    );
    assert!(out.status.success(), "new --lang {lang}: {}", stderr(&out));
    let folder = d.join("hello");
    let wasm = d.join("hello.wasm");
    let out = quiver(
        &[
            "plugin",
            "build",
            folder.to_str().unwrap(),
            "--out",
            wasm.to_str().unwrap(),
        ],
        d,
    );
    assert!(out.status.success(), "build {lang}: {}", stderr(&out));
    assert!(stdout(&out).contains("hello 0.1.0"), "{}", stdout(&out));

    let out = quiver(&["plugin", "inspect", wasm.to_str().unwrap(), "--json"], d);
    assert!(out.status.success(), "inspect {lang}: {}", stderr(&out));
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(meta["name"], "hello", "{meta}");

    std::fs::write(d.join("in.csv"), "id,name\n1,ann\n2,bob\n3,\n").unwrap();
    std::fs::write(
        d.join("pipeline.toml"),
        format!(
            "[source]\npath = \"in.csv\"\n\n[[stage]]\nplugin = \"hello.wasm\"\nconfig = {config}\n\n[sink]\npath = \"out.csv\"\n"
        ),
    )
    .unwrap();
    let report = d.join("report.json");
    let out = quiver_with(
        &[
            "run",
            d.join("pipeline.toml").to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ],
        d,
        &[],
    );
    assert!(out.status.success(), "run {lang}: {}", stderr(&out));
    let mut r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&report).unwrap()).unwrap();
    r["output_text"] = std::fs::read_to_string(d.join("out.csv")).unwrap().into();
    r
}

#[test]
fn a_new_rust_plugin_builds_inspects_and_runs() {
    let r = new_build_run("rust", "{}");
    assert_eq!(r["output_text"], "id,name\n1,ann\n2,bob\n3,\n");
    assert_eq!(r["stages"][0]["counters"]["rows-seen"], 3);
}

#[test]
fn a_new_python_plugin_builds_inspects_and_runs() {
    // The Python template upper-cases a utf8 column; nulls stay null.
    let r = new_build_run("python", "{ column = \"name\" }");
    assert_eq!(r["output_text"], "id,name\n1,ANN\n2,BOB\n3,\n");
}

/// The template's golden case names the plugin `hello`, found only through `--plugin-path`
/// (regression: `quiver test` took the plugin path for more case folders and ran without
/// one, so ports named like a first-party plugin were never the ones tested).
#[test]
fn quiver_test_finds_a_new_python_plugin_through_the_plugin_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let new = ["plugin", "new", "--lang", "python", "hello", "--dir"];
    let out = quiver(&[&new[..], &[d.to_str().unwrap()]].concat(), d);
    assert!(out.status.success(), "new: {}", stderr(&out));
    let folder = d.join("hello");
    let build = d.join("build");
    std::fs::create_dir_all(&build).unwrap();
    let wasm = build.join("hello.wasm");
    let out = quiver(
        &[
            "plugin",
            "build",
            folder.to_str().unwrap(),
            "--out",
            wasm.to_str().unwrap(),
        ],
        d,
    );
    assert!(out.status.success(), "build: {}", stderr(&out));
    let out = quiver(
        &[
            "test",
            folder.to_str().unwrap(),
            "--plugin-path",
            build.to_str().unwrap(),
        ],
        d,
    );
    assert!(
        out.status.success() && stdout(&out).contains("1 cases: 1 passed"),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}

#[test]
fn a_new_javascript_plugin_builds_inspects_and_runs() {
    let r = new_build_run("js", "{}");
    assert_eq!(r["output_text"], "id,name\n1,ann\n2,bob\n3,\n");
    assert_eq!(r["stages"][0]["counters"]["rows-seen"], 3);
    // With a column, the template upper-cases it in the host (`str.upper()`); nulls stay null.
    let r = new_build_run("js", "{ column = \"name\" }");
    assert_eq!(r["output_text"], "id,name\n1,ANN\n2,BOB\n3,\n");
}

#[test]
fn a_new_c_plugin_builds_inspects_and_runs() {
    let r = new_build_run("c", "{}");
    assert_eq!(r["output_text"], "id,name\n1,ann\n2,bob\n3,\n");
    assert_eq!(r["stages"][0]["counters"]["rows-seen"], 3);
    // With a column, the template upper-cases it in the host (`quiver_col_str_unary`).
    let r = new_build_run("c", "{ column = \"name\" }");
    assert_eq!(r["output_text"], "id,name\n1,ANN\n2,BOB\n3,\n");
}

/// The golden cases of `plugins/features` whose ops the `features` ports cover
/// (`standardise`, `min_max`, `log1p`, `length`, `date_parts`; not `bucketise`, `one_hot`).
const FEATURES_CASES: &[&str] = &[
    "date-parts-in-named-zones",
    "date-parts-of-dates-and-timestamps",
    "error-date-parts-empty",
    "error-date-parts-of-text",
    "error-date-parts-twice",
    "error-date-parts-unknown",
    "error-hour-of-a-date",
    "error-key-not-for-op",
    "error-length-of-number",
    "error-min-max-empty-range",
    "error-min-max-without-min",
    "error-no-features",
    "error-output-clash",
    "error-standardise-text",
    "error-standardise-without-mean",
    "error-standardise-zero-std",
    "error-unknown-column",
    "error-unknown-key",
    "error-unknown-op",
    "log1p-below-minus-one-is-a-data-error",
    "scaling-and-log1p",
    "string-length",
];

/// Build `sdk/<lang>/examples/{filter,map}` and run the Rust plugins' golden cases on them.
fn ports_pass_golden_cases(lang: &str) {
    ports_pass_these_golden_cases(lang, &["filter", "map"]);
}

/// Build `sdk/<lang>/examples/<plugin>` for each of `ports` and run the Rust plugins' golden
/// cases on them (for `features`, the cases of [`FEATURES_CASES`]). The plugin path comes
/// first in resolution, so a port that is not picked up fails the case instead of silently
/// running the first-party plugin (`golden_cases_resolve_plugins_on_the_plugin_path_first`).
fn ports_pass_these_golden_cases(lang: &str, ports: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for plugin in ports {
        build_example(lang, plugin, d);
    }
    let mut cases: Vec<String> = Vec::new();
    for plugin in ports {
        let golden = repo().join("plugins").join(plugin);
        if *plugin == "features" {
            cases.extend(
                FEATURES_CASES
                    .iter()
                    .map(|c| golden.join("golden").join(c).display().to_string()),
            );
        } else {
            cases.push(golden.display().to_string());
        }
    }
    let mut args: Vec<&str> = vec!["test"];
    args.extend(cases.iter().map(String::as_str));
    args.extend(["--plugin-path", d.to_str().unwrap()]);
    let out = quiver(&args, d);
    assert!(
        out.status.success(),
        "{lang} ports on the Rust golden cases:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).contains(" 0 failed"), "{}", stdout(&out));
}

#[test]
fn python_ports_of_filter_and_map_pass_the_rust_golden_cases() {
    ports_pass_golden_cases("python");
}

/// The Python port of `features` has two of its seven operations (standardise, one-hot): it
/// runs the Rust plugin's golden cases of those and of the checks every op shares, plus its
/// own standardise case, whose `expected.csv` the Rust plugin wrote.
#[test]
fn python_port_of_features_passes_the_rust_golden_cases_of_its_ops() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let src = repo().join("sdk/python/examples/features");
    let wasm = d.join("features.wasm");
    let out = quiver(
        &[
            "plugin",
            "build",
            src.to_str().unwrap(),
            "--out",
            wasm.to_str().unwrap(),
        ],
        d,
    );
    assert!(out.status.success(), "build features: {}", stderr(&out));
    let golden = repo().join("plugins/features/golden");
    let mut args = vec!["test".to_owned()];
    for entry in std::fs::read_dir(&golden).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let ours = name.contains("one-hot")
            || name.contains("standardise")
            || [
                "error-no-features",
                "error-unknown-column",
                "error-unknown-key",
                "error-unknown-op",
                "error-key-not-for-op",
            ]
            .contains(&name.as_str());
        if ours {
            args.push(golden.join(name).display().to_string());
        }
    }
    assert_eq!(args.len(), 1 + 14, "{args:?}");
    args.push(src.join("golden").display().to_string());
    args.extend(["--plugin-path".to_owned(), d.display().to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = quiver(&args, d);
    assert!(
        out.status.success(),
        "python features port on the Rust golden cases:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("15 cases: 15 passed"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn javascript_ports_of_filter_map_and_features_pass_the_rust_golden_cases() {
    ports_pass_these_golden_cases("js", &["filter", "map", "features"]);
}

#[test]
fn c_ports_of_filter_map_and_features_pass_the_rust_golden_cases() {
    ports_pass_these_golden_cases("c", &["filter", "map", "features"]);
}

/// Build `sdk/<lang>/examples/<plugin>` into `dir/<plugin>.wasm`; its path.
fn build_example(lang: &str, plugin: &str, dir: &Path) -> PathBuf {
    let src = repo().join("sdk").join(lang).join("examples").join(plugin);
    let wasm = dir.join(format!("{plugin}.wasm"));
    let out = quiver(
        &[
            "plugin",
            "build",
            src.to_str().unwrap(),
            "--out",
            wasm.to_str().unwrap(),
        ],
        dir,
    );
    assert!(
        out.status.success(),
        "build {lang} {plugin}: {}",
        stderr(&out)
    );
    wasm
}

/// Run `calls` calls of one `plugin` instance on the same batch of `rows` rows (`id`
/// int64, `amount` float64 with nulls); the largest linear memory after call 500 and at
/// the end. Every call must succeed and return rows.
fn memory_over_many_calls(wasm: &Path, config: &str, rows: i64, calls: u32) -> (u64, u64) {
    use std::sync::Arc;

    use arrow_array::{Float64Array, Int64Array, RecordBatch};
    use arrow_schema::{DataType, Field, Schema};

    let cache = tempfile::tempdir().unwrap();
    let runtime = quiver_tests::runtime(cache.path());
    let plugin = quiver_tests::load(&runtime, wasm.to_str().unwrap());
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("amount", DataType::Float64, true),
    ]));
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![
            Arc::new(Int64Array::from_iter_values(0..rows)),
            Arc::new(Float64Array::from_iter(
                (0..rows).map(|i| (i % 7 != 0).then_some((i % 100) as f64)),
            )),
        ],
    )
    .unwrap();
    let mut t = plugin
        .transformer(config, schema, &quiver_host::Sandbox::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut after_500 = 0;
    for call in 1..=calls {
        let out = t
            .process(&batch)
            .unwrap_or_else(|e| panic!("call {call}: {e}"));
        assert!(!out.is_empty(), "call {call} returned nothing");
        if call == 500 {
            after_500 = t.usage().peak_memory_bytes;
        }
    }
    (after_500, t.usage().peak_memory_bytes)
}

/// A Python `filter` keeps its memory flat over thousands of calls. Its first version
/// returned a selection mask, whose bytes componentize-py never freed: 8 KiB per call at
/// 65,536 rows, 31 MB over 4,000 calls, an out-of-memory trap on a long stream. The SDK now
/// applies the filter with the host's kernel; from call 500 to 3,000 the instance may grow
/// by at most 1 MiB (the leak would be 20 MB).
#[test]
fn a_python_filter_keeps_its_memory_flat_over_thousands_of_calls() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_example("python", "filter", dir.path());
    let (early, late) = memory_over_many_calls(&wasm, FILTER_CONFIG, 65_536, 3_000);
    assert!(
        late.saturating_sub(early) <= 1 << 20,
        "the Python filter grew from {early} to {late} bytes between call 500 and 3,000"
    );
}

const FILTER_CONFIG: &str = r#"{"column": "amount", "op": "gt", "value": 50, "nulls": "drop"}"#;

/// A JavaScript `filter` drops the column handles each call made. StarlingMonkey drops a
/// handle only when a garbage collection finalizes its object, which a small plugin rarely
/// triggers: the filter kept four handles a call and the host refused it at call 16,384
/// (65,536 handles alive). The SDK now drops them when `process` returns; 20,000 calls run.
/// (Its linear memory still grows with the JavaScript heap until collections catch up: it
/// levelled off at 128 MB from call 100,000 to 240,000 at 8,192 rows, under the 256 MiB
/// default limit; BENCHMARKS.md §0.)
#[test]
fn a_javascript_filter_drops_the_column_handles_of_every_call() {
    let dir = tempfile::tempdir().unwrap();
    let wasm = build_example("js", "filter", dir.path());
    memory_over_many_calls(&wasm, FILTER_CONFIG, 1_024, 20_000);
}
