//! `-`: sources read stdin and sinks write stdout, in streaming formats only. Exercised in a
//! child process whose stdin and stdout the test holds.

use std::io::{Read, Write};
use std::path::Path;
use std::process::Stdio;

use futures::TryStreamExt;
use quiver_io::{Format, IoError, SinkSpec, SourceSpec, Storage, create_sink_with, open_source};

use crate::{child, sample, sample_schema, sink_spec, write_all};

#[tokio::test]
async fn stdin_is_read_as_a_stream() {
    if child::is_child() {
        let mut spec = SourceSpec::new("-");
        spec.format = Some(Format::Csv);
        let source = open_source(&spec, Path::new("/"))
            .await
            .expect("open stdin");
        let batches: Vec<_> = source.batches.try_collect().await.expect("read stdin");
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        child::mark(&format!("ROWS={rows} INPUTS={:?}", source.inputs));
        return;
    }
    let mut process = child::spawn("stdio::stdin_is_read_as_a_stream", &[], Stdio::piped());
    let mut stdin = process.stdin.take().expect("stdin");
    stdin.write_all(b"a,b\n1,x\n2,y\n3,z\n").expect("feed");
    drop(stdin);
    let mut stdout = child::stdout(&mut process);
    child::read_until(&mut stdout, "ROWS=3 INPUTS=[\"stdin\"]");
    assert!(process.wait().expect("exit").success());
}

#[tokio::test]
async fn stdout_receives_a_stream() {
    if child::is_child() {
        child::mark("BEGIN");
        write_all(
            &sink_spec("-", Format::Ndjson, None),
            Path::new("/"),
            &Storage::from_env(),
            &sample(),
        )
        .await;
        child::mark("END");
        return;
    }
    let mut process = child::spawn("stdio::stdout_receives_a_stream", &[], Stdio::null());
    let mut stdout = child::stdout(&mut process);
    child::read_until(&mut stdout, "BEGIN");
    let lines = child::read_until(&mut stdout, "END");
    let records: Vec<&String> = lines.iter().filter(|l| !l.is_empty()).collect();
    assert_eq!(records.len(), 7, "{lines:#?}");
    assert!(records[0].contains("Zoë"), "{}", records[0]);
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("rest");
    assert!(process.wait().expect("exit").success());
}

#[tokio::test]
async fn stdio_needs_an_explicit_streaming_format() {
    let base = Path::new("/");
    let error = match open_source(&SourceSpec::new("-"), base).await {
        Ok(_) => panic!("opened stdin without a format"),
        Err(error) => error,
    };
    assert!(
        matches!(&error, IoError::Config { key, .. } if key == "format"),
        "{error}"
    );

    let mut spec = SinkSpec::new("-");
    spec.format = Some(Format::Parquet);
    let error = create_sink_with(&spec, base, sample_schema(), &Storage::from_env())
        .await
        .expect_err("parquet needs seeking");
    assert!(
        matches!(&error, IoError::Config { key, .. } if key == "format"),
        "{error}"
    );
}
