//! A real S3-compatible server for the tests: moto's `moto_server`, installed by
//! `scripts/install-test-deps.sh` into a virtualenv, started on a free port and killed when
//! the [`Moto`] guard drops. In-process tests hand its endpoint to quiver-io as storage
//! options; tests of the `quiver` binary pass [`Moto::env`] to the child process.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running moto server.
pub struct Moto {
    child: Child,
    addr: SocketAddr,
}

fn server_path() -> PathBuf {
    crate::test_venv_bin("moto_server")
}

impl Moto {
    /// Starts a server and waits until it accepts connections.
    ///
    /// # Panics
    ///
    /// If the server is not installed (with what to run) or exits.
    pub fn start() -> Moto {
        let server = server_path();
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let mut child = Command::new(&server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", server.display()));
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        // No deadline: the server is up when it answers, or the test fails when it exits.
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = child.try_wait().expect("poll moto") {
                panic!("moto_server exited with {status} before accepting connections");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Moto { child, addr }
    }

    /// The server's URL.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `AWS_*` variables that point an S3 client (object_store's `from_env`) at this
    /// server with dummy credentials over plain HTTP.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// Creates `bucket` with a plain HTTP PUT (moto does not check signatures).
    pub fn create_bucket(&self, bucket: &str) {
        self.unsigned("PUT", &format!("/{bucket}"));
    }

    /// The keys of the objects in `bucket` below `prefix` (one unsigned ListObjectsV2
    /// page), for a test that polls while a run writes.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        self.unsigned("GET", &format!("/{bucket}?list-type=2&prefix={prefix}"))
            .split("<Key>")
            .skip(1)
            .filter_map(|rest| rest.split("</Key>").next())
            .map(str::to_owned)
            .collect()
    }

    /// The whole answer to an unsigned request (moto does not check signatures), which
    /// must be a 200.
    fn unsigned(&self, method: &str, target: &str) -> String {
        let mut stream = TcpStream::connect(self.addr).expect("connect to moto");
        write!(
            stream,
            "{method} {target} HTTP/1.1\r\nHost: {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .expect("send");
        let mut answer = String::new();
        stream.read_to_string(&mut answer).expect("answer");
        assert!(
            answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
            "{method} {target}: {answer}"
        );
        answer
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _already_dead = self.child.kill();
        let _reaped = self.child.wait();
    }
}
