//! A real NATS server with JetStream for the tests: Debian's `nats-server` (installed by
//! `scripts/install-test-deps.sh`), started with `-js` on a free loopback port with its
//! store in a temporary directory, killed when the [`Nats`] guard drops. It can be
//! stopped and started again on the same port and store (a server restart keeps streams,
//! messages and durable consumers). [`Nats::start_with`] passes more flags, such as
//! `--auth <token>` for a server that refuses clients without the token.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running NATS server with JetStream.
pub struct Nats {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
    flags: Vec<String>,
}

/// Where `nats-server` is: `QUIVER_NATS_SERVER`, else on the `PATH` or in `/usr/sbin`
/// (where Debian puts it).
fn server_path() -> PathBuf {
    if let Some(p) = std::env::var_os("QUIVER_NATS_SERVER") {
        return PathBuf::from(p);
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/bin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nats-server not found; run scripts/install-test-deps.sh (it installs Debian's \
                 nats-server with apt) or set QUIVER_NATS_SERVER"
            )
        })
}

impl Nats {
    /// Starts a server with JetStream and waits until it accepts connections.
    ///
    /// # Panics
    /// If the server is not installed (with what to run) or exits.
    pub fn start() -> Nats {
        Nats::start_with(&[])
    }

    /// [`Nats::start`] with more `nats-server` flags (kept for every restart).
    ///
    /// # Panics
    /// As [`Nats::start`].
    pub fn start_with(flags: &[&str]) -> Nats {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut nats = Nats {
            child: None,
            port,
            store: tempfile::tempdir().expect("a store directory"),
            flags: flags.iter().map(|f| (*f).to_owned()).collect(),
        };
        nats.restart();
        nats
    }

    /// (Re)starts the server on the same port and store.
    ///
    /// # Panics
    /// If the server exits before it accepts connections, or takes over 30 s.
    pub fn restart(&mut self) {
        self.stop();
        let mut child = Command::new(server_path())
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(self.store.path())
            .args(&self.flags)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting nats-server");
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let started = Instant::now();
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = child.try_wait().expect("poll nats-server") {
                panic!("nats-server exited with {status} before accepting connections");
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "nats-server did not listen within 30 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self.child = Some(child);
    }

    /// Kills the server (SIGKILL); [`Nats::restart`] brings it back.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _already_dead = child.kill();
            let _reaped = child.wait();
        }
    }

    /// The server's URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.stop();
    }
}
