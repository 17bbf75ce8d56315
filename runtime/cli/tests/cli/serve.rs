//! `quiver serve` as a process: the command's own part of the server (flags, the token and
//! TLS rules, the tokens file, the audit log on stderr, signals). The API itself is tested
//! in `runtime/server/tests/api`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

pub(crate) const TOKEN: &str = "test-token-0123456789abcdef";

pub(crate) fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().build().unwrap()
}

fn quiver() -> Command {
    Command::new(env!("CARGO_BIN_EXE_quiver"))
}

#[test]
fn the_binary_refuses_a_public_address_without_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let out = quiver()
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env_remove("QUIVER_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without a token"), "{err}");
}

#[test]
fn the_binary_refuses_a_public_address_without_tls_unless_told_insecure_http() {
    let dir = tempfile::tempdir().unwrap();
    let out = quiver()
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .env("QUIVER_TOKEN", TOKEN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("without TLS"), "{err}");
    assert!(err.contains("--insecure-http"), "{err}");
    // A tokens file that stores a secret instead of its digest is refused naming the field.
    std::fs::write(
        dir.path().join("tokens.toml"),
        "[[token]]\nname = \"ci\"\nsha256 = \"my-secret\"\nscopes = [\"read\"]\n",
    )
    .unwrap();
    let out = quiver()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tokens-file")
        .arg(dir.path().join("tokens.toml"))
        .env_remove("QUIVER_TOKEN")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(78));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("token.0.sha256"), "{err}");
}

/// sha256 hex of `secret`, as a tokens file stores it.
fn sha256_hex(secret: &str) -> String {
    let out = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(secret.as_bytes())?;
            c.wait_with_output()
        })
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn the_binary_serves_https_with_scoped_tokens_and_audits_every_mutation() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.signing_key.serialize_pem()).unwrap();
    let viewer = "viewer-secret-0123456789";
    std::fs::write(
        dir.path().join("tokens.json"),
        format!(
            r#"{{"token": [{{"name": "viewer", "sha256": "{}", "scopes": ["read"]}}]}}"#,
            sha256_hex(viewer)
        ),
    )
    .unwrap();
    let mut child = quiver()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--tls-cert")
        .arg(dir.path().join("cert.pem"))
        .arg("--tls-key")
        .arg(dir.path().join("key.pem"))
        .arg("--tokens-file")
        .arg(dir.path().join("tokens.json"))
        .env("QUIVER_TOKEN", TOKEN)
        .env("QUIVER_CACHE_DIR", dir.path().join("cache"))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server printed its address")
            .unwrap();
        if let Some(rest) = line.split("listening on https://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    let port = addr.rsplit(':').next().unwrap().to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let https = reqwest::Client::builder()
            .tls_certs_only([reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap()])
            .build()
            .unwrap();
        let base = format!("https://localhost:{port}");
        let listed = https
            .get(format!("{base}/v1/plugins"))
            .bearer_auth(viewer)
            .send()
            .await
            .unwrap();
        assert_eq!(listed.status().as_u16(), 200);
        let upload = https
            .post(format!("{base}/v1/plugins"))
            .bearer_auth(viewer)
            .header("content-type", "application/wasm")
            .body(std::fs::read(quiver_tests::plugins::TAGGER).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(upload.status().as_u16(), 403);
        let text = upload.text().await.unwrap();
        assert!(text.contains("plugins:write"), "{text}");
        let admin = https
            .post(format!("{base}/v1/plugins"))
            .bearer_auth(TOKEN)
            .header("content-type", "application/wasm")
            .body(std::fs::read(quiver_tests::plugins::TAGGER).unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(admin.status().as_u16(), 201);
    });
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let status = wait_with_timeout(&mut child, Duration::from_secs(60));
    assert_eq!(status.and_then(|s| s.code()), Some(0));
    let audit: Vec<&String> = rest
        .iter()
        .filter(|l| l.contains("quiver::audit"))
        .collect();
    assert_eq!(audit.len(), 2, "{rest:#?}");
    for (line, token, status) in [(audit[0], "viewer", "403"), (audit[1], "default", "201")] {
        for part in [
            format!("token={token}"),
            "method=POST".into(),
            "route=/v1/plugins".into(),
            format!("status={status}"),
        ] {
            assert!(line.contains(&part), "{line}");
        }
    }
}

#[test]
fn the_binary_serves_and_drains_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(dir.path());
    let addr = server.addr.clone();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = client();
        let live = http
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .unwrap();
        assert_eq!(live.status().as_u16(), 200);
        let plugins = http
            .get(format!("http://{addr}/v1/plugins"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(plugins.status().as_u16(), 200);
    });
    // SIGTERM: drain and exit 0.
    assert_eq!(server.terminate(), Some(0));
}

/// SIGTERM the moment the address is printed: the handlers are installed before the line,
/// so the server drains and exits 0 instead of dying of the signal's default action (the
/// race once made `the_binary_serves_and_drains_on_sigterm` end by signal under load).
#[test]
fn a_sigterm_right_after_the_address_is_printed_still_drains() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let mut server = Server::start(dir.path());
        assert_eq!(server.terminate(), Some(0));
    }
}

fn wait_with_timeout(
    child: &mut std::process::Child,
    timeout: Duration,
) -> Option<std::process::ExitStatus> {
    let start = std::time::Instant::now();
    while start.elapsed() < timeout {
        if let Some(s) = child.try_wait().unwrap() {
            return Some(s);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    None
}

/// A `quiver serve` child on a free loopback port, killed on drop. Its stderr is closed once
/// it has printed its address, so every test through it also checks that a server whose log
/// reader went away keeps serving (the audit line of a mutating request must not kill it).
pub(crate) struct Server {
    child: std::process::Child,
    pub(crate) addr: String,
}

impl Server {
    fn start(dir: &std::path::Path) -> Server {
        Self::start_with(dir, &[])
    }

    pub(crate) fn start_with(dir: &std::path::Path, flags: &[&str]) -> Server {
        let mut child = quiver()
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir.join("data"))
            .arg("--work-dir")
            .arg(dir)
            .args(flags)
            .env("QUIVER_TOKEN", TOKEN)
            .env("QUIVER_CACHE_DIR", dir.join("cache"))
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines
                .next()
                .expect("the server printed its address")
                .unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        Server { child, addr }
    }
}

impl Server {
    /// SIGTERM, then the exit code (`None`: ended by a signal, or not within a minute).
    pub(crate) fn terminate(&mut self) -> Option<i32> {
        // SAFETY: kill(2) on our own child's pid.
        assert_eq!(
            unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) },
            0
        );
        wait_with_timeout(&mut self.child, Duration::from_secs(60)).and_then(|s| s.code())
    }
}

impl Server {
    /// SIGKILL: the server dies at once, with no drain.
    pub(crate) fn kill(&mut self) {
        let _already_dead = self.child.kill();
        let _reaped = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `(field, message)` of each problem in a JSON list of problems.
pub(crate) fn problems(list: &serde_json::Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list of problems: {list}"))
        .iter()
        .map(|p| {
            (
                p["field"].as_str().unwrap().to_owned(),
                p["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// One pipeline document, many problems: the same ones, with the same field paths, from
/// `quiver validate` of it as TOML and as JSON and from the server's dry run.
#[test]
fn toml_json_and_the_server_report_the_same_problems_with_the_same_fields() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("in.csv"), "id,amount\n1,2.5\n").unwrap();
    let toml = r#"
[source]
path = "in.csv"
colour = "blue"

[[stage]]
name = "prices"
plugin = "map"
parallelism = 0
config = { columns = [{ column = "amount", scale = 2.0 }] }

[[stage]]
name = "prices"
plugin = "no-such-plugin"

[[stage]]
plugin = "filter"
on_error = "dead-letter"
config = { column = "amount", op = "gt", value = 0 }

[sink]
path = "out.csv"
"#;
    let value: toml::Table = toml::from_str(toml).unwrap();
    let json = serde_json::to_string_pretty(&value).unwrap();
    std::fs::write(dir.path().join("p.toml"), toml).unwrap();
    std::fs::write(dir.path().join("p.json"), &json).unwrap();

    let validate = |file: &str| {
        let out = quiver()
            .args(["validate", "--json"])
            .arg(dir.path().join(file))
            .env("QUIVER_CACHE_DIR", dir.path().join("cache"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(78),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(doc["valid"], false);
        problems(&doc["problems"])
    };
    let from_toml = validate("p.toml");
    let from_json = validate("p.json");
    let fields: Vec<&str> = from_toml.iter().map(|(f, _)| f.as_str()).collect();
    assert_eq!(
        fields,
        [
            "source.colour",
            "stage.0.parallelism",
            "stage.1.name",
            "stage.2.on_error"
        ],
        "{from_toml:#?}"
    );
    assert_eq!(from_toml, from_json);

    let server = Server::start(dir.path());
    let rt = tokio::runtime::Runtime::new().unwrap();
    let from_server = rt.block_on(async {
        let resp = client()
            .post(format!("http://{}/v1/pipelines?dry_run=true", server.addr))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({
                    "name": "same",
                    "pipeline": serde_json::from_str::<serde_json::Value>(&json).unwrap(),
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 422);
        let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        problems(&body["problems"])
    });
    assert_eq!(from_server, from_toml);

    // Fixed document problems, the rest is found by building the pipeline: the plugin
    // that does not resolve — again the same from all three.
    let fixed = toml
        .replace("colour = \"blue\"\n", "")
        .replace("parallelism = 0\n", "")
        .replace(
            "name = \"prices\"\nplugin = \"no-such-plugin\"",
            "plugin = \"no-such-plugin\"",
        )
        .replace("on_error = \"dead-letter\"\n", "");
    let value: toml::Table = toml::from_str(&fixed).unwrap();
    let json = serde_json::to_string_pretty(&value).unwrap();
    std::fs::write(dir.path().join("p.toml"), &fixed).unwrap();
    std::fs::write(dir.path().join("p.json"), &json).unwrap();
    let from_toml = validate("p.toml");
    assert_eq!(from_toml, validate("p.json"));
    assert_eq!(from_toml.len(), 1, "{from_toml:#?}");
    assert_eq!(from_toml[0].0, "stage.1.plugin");
    assert!(
        from_toml[0].1.contains("no plugin named `no-such-plugin`"),
        "{from_toml:#?}"
    );
    let from_server = rt.block_on(async {
        let resp = client()
            .post(format!("http://{}/v1/pipelines?dry_run=true", server.addr))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(
                serde_json::json!({
                    "name": "same",
                    "pipeline": serde_json::from_str::<serde_json::Value>(&json).unwrap(),
                })
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 422);
        let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
        problems(&body["problems"])
    });
    assert_eq!(from_server.len(), 1);
    assert_eq!(from_server[0].0, "stage.1.plugin");
}

/// A component whose one function holds `n` `f64` values on its operand stack: compile time
/// grows with n² (about 1.1 s at n = 10,000 on the 2-core CI machine, ~40 s at 60,000).
pub(crate) fn compile_bomb(n: usize) -> Vec<u8> {
    let pushes: String = (0..n)
        .map(|i| format!("(f64.add (local.get 0) (f64.const {i})) "))
        .collect();
    wat::parse_str(format!(
        "(component (core module (func (param f64) (result f64) {pushes} {})))",
        "f64.add ".repeat(n - 1)
    ))
    .unwrap()
}

/// The pids of the compile workers the process `parent` has started and not yet reaped.
fn compile_workers(parent: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid ...`: the fields after the last `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if ppid == Some(parent)
            && String::from_utf8_lossy(&cmdline).contains(quiver_host::WORKER_ARG)
        {
            found.push(pid);
        }
    }
    found
}

/// A compile bomb uploaded to the server does not hold up a small upload: the small one is
/// stored while the bomb still compiles (shown by order, not by timing), the bomb is killed
/// at the compile budget and answered 422, its worker process is gone (its CPU released),
/// and it leaves nothing in the plugin store or the compiled-plugin cache.
#[test]
fn a_compile_bomb_does_not_hold_up_a_small_upload_and_is_killed_at_its_budget() {
    let dir = tempfile::tempdir().unwrap();
    // The shape limit is raised so that the bomb reaches the compiler (with the default
    // limit it is refused at once: `quiver plugin inspect` below).
    let server = Server::start_with(
        dir.path(),
        &["--compile-timeout", "5s", "--max-operand-stack", "100000"],
    );
    let base = format!("http://{}", server.addr);
    let pid = server.child.id();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = client();
        let upload = |bytes: Vec<u8>| {
            http.post(format!("{base}/v1/plugins"))
                .bearer_auth(TOKEN)
                .header("content-type", "application/wasm")
                .body(bytes)
                .send()
        };
        let bomb = tokio::spawn(upload(compile_bomb(60_000)));
        let started = std::time::Instant::now();
        while compile_workers(pid).is_empty() {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "the bomb's compile never started"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let small = upload(std::fs::read(quiver_tests::plugins::TAGGER).unwrap())
            .await
            .unwrap();
        assert_eq!(
            small.status().as_u16(),
            201,
            "{}",
            small.text().await.unwrap()
        );
        assert!(
            !bomb.is_finished(),
            "the bomb was answered before the small upload"
        );
        let bomb = bomb.await.unwrap().unwrap();
        assert_eq!(bomb.status().as_u16(), 422);
        let text = bomb.text().await.unwrap();
        assert!(
            text.contains("took longer than the compile budget of 5s"),
            "{text}"
        );
        assert_eq!(
            compile_workers(pid),
            Vec::<u32>::new(),
            "the bomb's compile still runs"
        );

        let listed = http
            .get(format!("{base}/v1/plugins"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
        let names: Vec<&str> = listed
            .as_array()
            .map(|a| a.iter().filter_map(|p| p["name"].as_str()).collect())
            .unwrap_or_default();
        assert!(names.contains(&"tagger"), "{listed}");
    });
    // One compiled plugin in the cache (tagger's artifact and metadata), no leftovers.
    let mut cache: Vec<String> = std::fs::read_dir(dir.path().join("cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "files")
        .map(|n| {
            n.split_once('.')
                .map_or(n.clone(), |(_, ext)| ext.to_owned())
        })
        .collect();
    cache.sort();
    assert_eq!(cache, ["cwasm", "meta.json"]);
}

/// With the default shape limits the bomb never reaches the compiler; with them raised, a
/// CLI compile past `--compile-timeout` is stopped, and either way the exit code is 65
/// (bad input) with the reason on stderr.
#[test]
fn the_cli_refuses_a_compile_bomb_by_shape_or_by_budget() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = dir.path().join("bomb.wasm");
    std::fs::write(&bomb, compile_bomb(20_000)).unwrap();
    let out = quiver()
        .args(["plugin", "inspect"])
        .arg(&bomb)
        .env("QUIVER_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(65), "{stderr}");
    assert!(
        stderr.contains("refused before compiling")
            && stderr.contains("operand stack of 1001, past the limit of 1000"),
        "{stderr}"
    );

    let pipeline = dir.path().join("p.toml");
    std::fs::write(dir.path().join("in.csv"), "x\n1\n").unwrap();
    std::fs::write(
        &pipeline,
        "[source]\npath = \"in.csv\"\n\n[[stage]]\nplugin = \"bomb.wasm\"\n\n[sink]\npath = \"out.csv\"\n",
    )
    .unwrap();
    let out = quiver()
        .args([
            "validate",
            "--compile-timeout",
            "1s",
            "--max-operand-stack",
            "100000",
        ])
        .arg(&pipeline)
        .env("QUIVER_CACHE_DIR", dir.path().join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("took longer than the compile budget of 1s"),
        "{stderr}"
    );
    assert_eq!(out.status.code(), Some(65), "{stderr}");
    assert!(
        std::fs::read_dir(dir.path().join("cache"))
            .map(|d| d.count())
            .unwrap_or(0)
            <= 1,
        "only the files/ records may be in the cache"
    );
}
