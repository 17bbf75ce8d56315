//! The `quiver` command: the only crate that knows argv, stdout and exit codes.
//!
//! A thin binary over the libraries: `quiver-spec` reads pipeline documents, `quiver-job`
//! resolves plugins and runs pipelines, `quiver-server` is the HTTP control API. Subcommands
//! live one per file (`plugin.rs`, `run.rs`, `validate.rs`, `golden.rs`, `scaffold.rs`,
//! `serve.rs`, `worker.rs`); this file parses the command line, sets up logging and maps every error to
//! a documented exit code through its fault class (`exit.rs`).

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod exit;
mod golden;
mod plugin;
mod progress;
mod run;
mod scaffold;
mod serve;
mod validate;
mod worker;

// The host allocates and frees a buffer per column per batch; glibc malloc's trim/regrow
// churn on that path measured up to 10x slower (../shared/design/BOUNDARY.md).
// `--features system-allocator` keeps the system's, for heap profilers.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Run data transforms as sandboxed WebAssembly plugins over Apache Arrow data.
#[derive(Debug, Parser)]
#[command(name = "quiver", version, about, long_about = None)]
struct Cli {
    /// Log filter (tracing `EnvFilter` syntax), e.g. `info` or `quiver_host=debug`.
    #[arg(long, global = true, env = "QUIVER_LOG", default_value = "warn")]
    log: String,
    /// Log records as text lines or as JSON objects (one per line, for log collectors).
    #[arg(
        long,
        global = true,
        env = "QUIVER_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Command,
}

/// How log records are written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per record, fields included.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Work with plugin components.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run a pipeline file: source → plugin stages → sink.
    Run(run::RunArgs),
    /// Check a pipeline file without running it: plugins load, configs and schemas fit.
    Validate(validate::ValidateArgs),
    /// Print the JSON Schema of pipeline files (for editors and CI linters).
    Schema,
    /// Run golden test cases: folders with case.toml, input.csv and expected.csv.
    Test(golden::TestArgs),
    /// Serve the HTTP control API: plugins, pipelines, runs, streaming ingest, hot swap.
    Serve(Box<serve::ServeArgs>),
    /// Run tasks of distributed runs (`quiver run --workers nats://…`) from NATS JetStream
    /// until SIGTERM (then finish the current task and exit).
    Worker(Box<worker::WorkerArgs>),
}

#[derive(Debug, Subcommand)]
enum PluginCommand {
    /// Print a plugin's name, version, WIT version and config schema.
    Inspect(plugin::InspectArgs),
    /// List every plugin a pipeline can name: the plugin path, then the first-party plugins
    /// built into quiver, with version, sha256 and origin.
    List(plugin::ListArgs),
    /// Create a plugin folder from the template of an SDK language.
    New(scaffold::NewArgs),
    /// Build a plugin folder into a component and check that it loads.
    Build(scaffold::BuildArgs),
}

/// Die quietly on a closed stdout (`quiver schema | head`), as Unix tools do, instead of
/// panicking on the write error — or, for a long-lived process (`serve`, `worker`), keep
/// ignoring SIGPIPE: a server whose log reader went away must go on serving (its log writes
/// then fail and are dropped), not die on its next log line. Rust ignores SIGPIPE by
/// default; sockets are unaffected (the standard library sends with `MSG_NOSIGNAL`).
fn sigpipe(die: bool) {
    #[cfg(unix)]
    // SAFETY: `signal` only sets a disposition; called in `main` before any thread exists.
    unsafe {
        libc::signal(
            libc::SIGPIPE,
            if die { libc::SIG_DFL } else { libc::SIG_IGN },
        );
    }
}

/// The `quiver` command: parse argv, run the subcommand, return its exit code.
/// The compile worker's process: exit 0 with the artifact written, 1 when the component does
/// not compile (the reason on stderr), 2 on bad arguments, `WORKER_OUT_OF_TIME` shortly
/// after the budget, 4 when the parent went away (stdin closed).
fn compile_worker(args: &[std::ffi::OsString]) -> ExitCode {
    let request = match quiver_host::WorkerRequest::from_args(args) {
        Ok(r) => r,
        Err(usage) => {
            eprintln!("{usage}");
            return ExitCode::from(2);
        }
    };
    let budget = request.timeout + std::time::Duration::from_secs(1);
    std::thread::spawn(move || {
        std::thread::sleep(budget);
        std::process::exit(i32::from(quiver_host::WORKER_OUT_OF_TIME));
    });
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(4);
    });
    match request.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Bounded: the parent reads stderr only after the exit, so a message longer
            // than a pipe's buffer would block the worker until its budget.
            eprintln!("{}", quiver_host::truncate(e, 16 << 10));
            ExitCode::from(1)
        }
    }
}

fn main() -> ExitCode {
    // A compile worker (`compile.rs` in quiver-host): this same executable, started by the
    // host to compile one plugin in a process it can kill at the compile budget.
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == quiver_host::WORKER_ARG) {
        return compile_worker(&argv[2..]);
    }
    sigpipe(true);
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve(_) | Command::Worker(_)) {
        sigpipe(false);
    }
    let mut filter =
        tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into());
    // The server's audit records (one per mutating request) are written whatever the log
    // level, unless the filter names their target itself.
    if matches!(cli.command, Command::Serve(_))
        && !cli.log.contains("quiver::audit")
        && let Ok(audit) = "quiver::audit=info".parse()
    {
        filter = filter.add_directive(audit);
    }
    // A log line that cannot be written (stderr closed) is dropped: reporting that failure
    // with `eprintln!`, as tracing-subscriber does by default, would panic the thread that
    // logged — in the server, the request being answered.
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .log_internal_errors(false);
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        // Colour codes only for a person at a terminal, never in files or CI logs.
        LogFormat::Text => logs
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
    }
    let result = match cli.command {
        Command::Plugin(PluginCommand::Inspect(args)) => plugin::inspect(&args),
        Command::Plugin(PluginCommand::List(args)) => plugin::list(&args),
        Command::Plugin(PluginCommand::New(args)) => scaffold::new(&args),
        Command::Plugin(PluginCommand::Build(args)) => scaffold::build(&args),
        Command::Run(args) => run::run(&args),
        Command::Validate(args) => validate::run(&args),
        Command::Test(args) => golden::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Worker(args) => worker::run(&args),
        Command::Schema => serde_json::to_string_pretty(&quiver_spec::json_schema())
            .map(|text| println!("{text}"))
            .map_err(anyhow::Error::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Plugin text inside the error is escaped where it is formatted; escape the
            // whole line too, keeping the host's own line breaks (hints, stderr tail).
            eprintln!("error: {}", quiver_host::printable(&format!("{e:#}"), true));
            exit::code(&e)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Long-lived processes are configured by their environment (a container, a unit
    /// file): every flag of `quiver worker` and `quiver serve` also reads a variable.
    #[test]
    fn every_worker_and_serve_flag_reads_an_environment_variable() {
        let mut cli = super::Cli::command();
        cli.build();
        for name in ["worker", "serve"] {
            let sub = cli.find_subcommand(name).unwrap();
            let missing: Vec<String> = sub
                .get_arguments()
                .filter(|a| {
                    a.get_long().is_some()
                        && a.get_env().is_none()
                        && !matches!(
                            a.get_action(),
                            clap::ArgAction::Help
                                | clap::ArgAction::HelpShort
                                | clap::ArgAction::HelpLong
                                | clap::ArgAction::Version
                        )
                })
                .map(|a| format!("--{}", a.get_long().unwrap_or_default()))
                .collect();
            assert!(missing.is_empty(), "quiver {name}: {missing:?}");
            assert!(
                sub.get_arguments()
                    .any(|a| a.get_long() == Some("nats") || a.get_long() == Some("listen"))
            );
        }
    }
}
