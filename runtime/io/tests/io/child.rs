//! Tests that need a second process (killed mid-write, stdin, stdout) run this same test
//! binary again with only their own test selected and [`CHILD`] set; the test sees the
//! variable and plays the child's part. Markers on stdout synchronise the two.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};

/// Set in the environment of child processes only.
pub const CHILD: &str = "QUIVER_IO_TEST_CHILD";

/// Whether this process is a child started by [`spawn`].
pub fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// Runs test `test` (its full path, e.g. `atomicity::name`) in a child process with `envs`.
pub fn spawn(test: &str, envs: &[(&str, String)], stdin: Stdio) -> Child {
    let exe = std::env::current_exe().expect("current test binary");
    Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdin(stdin)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child test")
}

/// Reads the child's stdout up to a line equal to `marker`; returns the lines before it.
pub fn read_until(stdout: &mut BufReader<ChildStdout>, marker: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let read = stdout
            .read_line(&mut line)
            .expect("read the child's stdout");
        assert!(
            read > 0,
            "the child ended before printing {marker:?}; it printed {lines:#?}"
        );
        let line = line.trim_end_matches('\n');
        if line == marker {
            return lines;
        }
        lines.push(line.to_string());
    }
}

/// The child's stdout, buffered.
pub fn stdout(child: &mut Child) -> BufReader<ChildStdout> {
    BufReader::new(child.stdout.take().expect("piped stdout"))
}

/// Prints `marker` on a line of its own, flushed.
pub fn mark(marker: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    writeln!(out, "\n{marker}").expect("stdout");
    out.flush().expect("stdout");
}
