//! Stream runs against NATS servers that demand credentials (a real `nats-server` started
//! with `--auth <token>`, and one with `--user`/`--pass`): a run reads with a token from a
//! file and publishes with a token from the environment, a password from a file works
//! too, and wrong or missing credentials are a config error (exit 78) naming the server and
//! the `auth` setting without ever printing a secret. The same run checks the JetStream
//! sink's `message_rows`: a 2,500-row message leaves as messages of at most 1,000 rows.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use quiver_stream::async_nats::{self, jetstream};
use quiver_tests::nats::Nats;

const TOKEN: &str = "t0ken-that-must-never-show";
const WRONG: &str = "wr0ng-token-that-must-never-show";
const PASSWORD: &str = "passw0rd-that-must-never-show";
/// Messages published, each of `ROWS` NDJSON rows.
const MESSAGES: usize = 3;
const ROWS: usize = 2_500;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn client(url: &str) -> async_nats::Client {
    async_nats::ConnectOptions::new()
        .token(TOKEN.into())
        .connect(url)
        .await
        .unwrap()
}

/// `quiver run` on `pipeline` in `dir`: exit code, stderr, and the report (if written).
fn run(dir: &Path, pipeline: &str) -> (Option<i32>, String, String) {
    let p = dir.join("pipeline.toml");
    std::fs::write(&p, pipeline).unwrap();
    let report = dir.join("report.json");
    let _ = std::fs::remove_file(&report);
    let out = Command::new(env!("CARGO_BIN_EXE_quiver"))
        .args(["run", "--quiet", "--report"])
        .arg(&report)
        .arg(&p)
        .current_dir(dir)
        .env("QUIVER_CACHE_DIR", dir.join("cache"))
        .env("QUIVER_TEST_NATS_TOKEN", TOKEN)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        std::fs::read_to_string(&report).unwrap_or_default(),
    )
}

fn pipeline(url: &str, source_auth: &str, consumer: &str) -> String {
    format!(
        r#"
[source.nats]
url = "{url}"
stream = "EVENTS"
consumer = "{consumer}"
format = "ndjson"
schema = [{{ name = "id", type = "int64" }}]
until_idle = "2s"
auth = {source_auth}

[[stage]]
plugin = "passthrough"

[sink.nats]
url = "{url}"
subject = "clean"
format = "ndjson"
message_rows = 1000
auth = {{ token = "${{env:QUIVER_TEST_NATS_TOKEN}}" }}
"#
    )
}

fn assert_no_secret(what: &str, text: &str) {
    for secret in [TOKEN, WRONG, PASSWORD] {
        assert!(!text.contains(secret), "{what} shows a secret: {text}");
    }
}

#[test]
fn a_token_server_is_read_and_written_with_tokens_and_wrong_ones_are_config_errors() {
    let nats = Nats::start_with(&["--auth", TOKEN]);
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("token"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(d.join("wrong"), WRONG).unwrap();
    let rt = runtime();
    rt.block_on(async {
        let js = jetstream::new(client(&url).await);
        for (name, subject) in [("EVENTS", "events"), ("CLEAN", "clean")] {
            js.create_stream(jetstream::stream::Config {
                name: name.into(),
                subjects: vec![subject.into()],
                ..Default::default()
            })
            .await
            .unwrap();
        }
        for m in 0..MESSAGES {
            let payload: String = (m * ROWS..(m + 1) * ROWS)
                .map(|i| format!("{{\"id\": {i}}}\n"))
                .collect();
            js.publish("events", payload.into())
                .await
                .unwrap()
                .await
                .unwrap();
        }
    });

    // Wrong and missing credentials: refused before anything is read, naming the server.
    for (auth, consumer) in [
        (r#"{ token_file = "wrong" }"#, "wrong-token"),
        ("{}", "no-token"),
    ] {
        let (code, err, report) = run(d, &pipeline(&url, auth, consumer));
        assert_eq!(code, Some(78), "{auth}: {err}");
        assert!(
            err.contains("auth") && err.contains(&url) && err.contains("refused the credentials"),
            "{auth}: {err}"
        );
        assert_no_secret("stderr", &err);
        assert_no_secret("the report", &report);
    }

    // The token from a file reads, the token from the environment publishes.
    let (code, err, report) = run(d, &pipeline(&url, r#"{ token_file = "token" }"#, "reader"));
    assert_eq!(code, Some(0), "{err}");
    assert_no_secret("stderr", &err);
    assert_no_secret("the report", &report);

    // Every row once in CLEAN, cut into messages of at most `message_rows` rows.
    let (sizes, ids) = rt.block_on(async {
        let js = jetstream::new(client(&url).await);
        let s = js.get_stream("CLEAN").await.unwrap();
        let n = s.get_info().await.unwrap().state.messages;
        let mut sizes = Vec::new();
        let mut ids = BTreeMap::<u64, u32>::new();
        for seq in 1..=n {
            let m = s.get_raw_message(seq).await.unwrap();
            let text = String::from_utf8(m.payload.to_vec()).unwrap();
            sizes.push(text.lines().count());
            for line in text.lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                *ids.entry(v["id"].as_u64().unwrap()).or_default() += 1;
            }
        }
        (sizes, ids)
    });
    assert_eq!(
        sizes,
        [1000, 1000, 500].repeat(MESSAGES),
        "each 2,500-row batch leaves as 1,000 + 1,000 + 500"
    );
    assert_eq!(ids.len(), MESSAGES * ROWS, "every row");
    assert!(ids.values().all(|n| *n == 1), "once");
}

#[test]
fn a_user_and_a_password_file_authenticate_and_a_wrong_password_is_refused_unshown() {
    let nats = Nats::start_with(&["--user", "quiver", "--pass", PASSWORD]);
    let url = nats.url();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("password"), PASSWORD).unwrap();
    std::fs::write(d.join("wrong"), WRONG).unwrap();
    let rt = runtime();
    rt.block_on(async {
        let client = async_nats::ConnectOptions::new()
            .user_and_password("quiver".into(), PASSWORD.into())
            .connect(&url)
            .await
            .unwrap();
        let js = jetstream::new(client);
        js.create_stream(jetstream::stream::Config {
            name: "EVENTS".into(),
            subjects: vec!["events".into()],
            ..Default::default()
        })
        .await
        .unwrap();
        js.publish("events", "{\"id\": 7}\n".into())
            .await
            .unwrap()
            .await
            .unwrap();
    });
    let pipeline = |password_file: &str| {
        format!(
            r#"
[source.nats]
url = "{url}"
stream = "EVENTS"
consumer = "reader"
format = "ndjson"
schema = [{{ name = "id", type = "int64" }}]
until_idle = "1s"
auth = {{ user = "quiver", password_file = "{password_file}" }}

[sink]
path = "out/"
format = "csv"
mode = "append"
"#
        )
    };
    let (code, err, report) = run(d, &pipeline("wrong"));
    assert_eq!(code, Some(78), "{err}");
    assert!(err.contains("refused the credentials"), "{err}");
    assert_no_secret("stderr", &err);
    assert_no_secret("the report", &report);
    assert!(
        super::streams::parts(&d.join("out")).is_empty(),
        "nothing written"
    );

    let (code, err, _) = run(d, &pipeline("password"));
    assert_eq!(code, Some(0), "{err}");
    let ids = super::streams::ids_in_parts(&d.join("out"));
    assert_eq!(ids.into_iter().collect::<Vec<_>>(), [(7, 1)]);
}
