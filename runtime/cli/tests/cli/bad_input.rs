//! Bad input through `quiver run`, one test per kind: each gives a clear error that names
//! what failed and where, exits with the documented code, and leaves no output behind.

use std::path::Path;

use quiver_tests::plugins;

use super::{quiver, stderr};

/// Write `pipeline.toml` (a passthrough stage unless `stages` says otherwise) reading
/// `source` and writing `out.parquet`; run it; return the exit code and stderr.
fn run_bad(dir: &Path, source: &str, stages: Option<&str>) -> (Option<i32>, String) {
    let stages = stages
        .map(str::to_owned)
        .unwrap_or_else(|| format!("[[stage]]\nplugin = {:?}\n", plugins::PASSTHROUGH));
    let text = format!("{source}\n{stages}\n[sink]\npath = \"out.parquet\"\n");
    let pipeline = dir.join("pipeline.toml");
    std::fs::write(&pipeline, text).unwrap();
    let out = quiver(&["run", pipeline.to_str().unwrap()], dir);
    assert!(
        !dir.join("out.parquet").exists(),
        "a failed run left its output behind"
    );
    (out.status.code(), stderr(&out))
}

fn assert_mentions(text: &str, parts: &[&str]) {
    for p in parts {
        assert!(
            text.contains(p),
            "the error does not mention {p:?}:\n{text}"
        );
    }
}

#[test]
fn a_corrupt_parquet_file_exits_65_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"PAR1".to_vec();
    bytes.extend((0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    bytes.extend(b"PAR1");
    std::fs::write(dir.path().join("broken.parquet"), bytes).unwrap();
    let (code, err) = run_bad(dir.path(), "[source]\npath = \"broken.parquet\"\n", None);
    assert_eq!(code, Some(65), "{err}");
    assert_mentions(&err, &["broken.parquet", "bad data"]);
}

#[test]
fn a_csv_row_with_the_wrong_number_of_fields_exits_65_and_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("in.csv"),
        "id,name\n1,ann\n2,bob\n3,cy,extra\n4,dee\n",
    )
    .unwrap();
    let (code, err) = run_bad(dir.path(), "[source]\npath = \"in.csv\"\n", None);
    assert_eq!(code, Some(65), "{err}");
    assert_mentions(&err, &["in.csv", "line 4"]);
}

#[test]
fn a_value_that_does_not_parse_as_its_column_type_exits_65_and_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id,amount\n1,10\n2,ten\n").unwrap();
    let source = "[source]\npath = \"in.csv\"\n[source.csv]\nschema = [{ name = \"id\", type = \"int64\" }, { name = \"amount\", type = \"int64\" }]\n";
    let (code, err) = run_bad(dir.path(), source, None);
    assert_eq!(code, Some(65), "{err}");
    assert_mentions(&err, &["in.csv", "line 3", "amount", "ten"]);
}

#[test]
fn a_missing_source_file_exits_78_and_names_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = run_bad(dir.path(), "[source]\npath = \"nowhere.csv\"\n", None);
    assert_eq!(code, Some(78), "{err}");
    assert_mentions(&err, &["nowhere.csv", "source.path"]);
}

#[test]
fn a_schema_that_changes_between_files_of_a_glob_exits_65_and_names_both_files() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("days")).unwrap();
    std::fs::write(dir.path().join("days/2026-01.csv"), "id,amount\n1,10\n").unwrap();
    std::fs::write(dir.path().join("days/2026-02.csv"), "id,total\n2,20\n").unwrap();
    let (code, err) = run_bad(dir.path(), "[source]\npath = \"days/*.csv\"\n", None);
    assert_eq!(code, Some(65), "{err}");
    assert_mentions(&err, &["2026-01.csv", "2026-02.csv", "total"]);
}

#[test]
fn an_unknown_field_in_the_pipeline_file_exits_78_and_names_field_and_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id\n1\n").unwrap();
    let (code, err) = run_bad(
        dir.path(),
        "[source]\npath = \"in.csv\"\nbatch_size = 10\n",
        None,
    );
    assert_eq!(code, Some(78), "{err}");
    assert_mentions(&err, &["batch_size", "line 3", "pipeline.toml"]);
}

#[test]
fn a_stage_whose_output_does_not_fit_the_next_stage_exits_78_and_names_both() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id,amount\n1,10\n").unwrap();
    // `scale` outputs `id, amount, doubled`; `keep-big` wants a column `tripled` that no
    // stage produces: schema negotiation fails before any data is read.
    let stages = format!(
        "[[stage]]\nname = \"scale\"\nplugin = {:?}\nconfig = {{ columns = [{{ column = \"amount\", scale = 2, output = \"doubled\" }}] }}\n\n\
         [[stage]]\nname = \"keep-big\"\nplugin = {:?}\nconfig = {{ column = \"tripled\", op = \"gt\", value = 1 }}\n",
        plugins::MAP,
        plugins::FILTER
    );
    let (code, err) = run_bad(dir.path(), "[source]\npath = \"in.csv\"\n", Some(&stages));
    assert_eq!(code, Some(78), "{err}");
    assert_mentions(&err, &["`stage.1`", "keep-big", "tripled"]);
}

#[test]
fn a_plugin_file_that_does_not_exist_exits_78_and_names_the_stage_and_path() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id\n1\n").unwrap();
    let (code, err) = run_bad(
        dir.path(),
        "[source]\npath = \"in.csv\"\n",
        Some("[[stage]]\nplugin = \"plugins/missing.wasm\"\n"),
    );
    assert_eq!(code, Some(78), "{err}");
    assert_mentions(&err, &["`stage.0.plugin`", "missing.wasm"]);
}

#[test]
fn a_stage_over_the_parallelism_ceiling_exits_78_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id\n1\n").unwrap();
    // 300 instances once took the whole instance pool and exited 1.
    let stages = format!(
        "[[stage]]\nplugin = {:?}\nparallelism = 300\n",
        plugins::PASSTHROUGH
    );
    let (code, err) = run_bad(dir.path(), "[source]\npath = \"in.csv\"\n", Some(&stages));
    assert_eq!(code, Some(78), "{err}");
    assert_mentions(&err, &["stage.0.parallelism", "--max-parallelism"]);
}
