//! Flags several commands share: the operator's ceiling on plugin limits and compiles, the
//! plugin path, and `--set` overrides of a pipeline document.
//!
//! A stage whose `limits` (or `parallelism`) ask for more than the ceiling is refused with a
//! config error naming the key. Unset ceiling flags keep `quiver_host::Limits::default_ceiling()`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytesize::ByteSize;
use quiver_host::{Limits, RuntimeConfig};

/// Ceiling flags shared by every command that runs plugins.
#[derive(Debug, Clone, clap::Args)]
pub struct CeilingArgs {
    /// Most linear memory any plugin stage may ask for (e.g. `1GiB`).
    #[arg(long, env = "QUIVER_MAX_MEMORY", value_parser = parse_bytes)]
    max_memory: Option<ByteSize>,
    /// Longest call deadline any stage may ask for (e.g. `2m`).
    #[arg(long, env = "QUIVER_MAX_DEADLINE", value_parser = humantime::parse_duration)]
    max_deadline: Option<Duration>,
    /// Most fuel per call any stage may ask for.
    #[arg(long, env = "QUIVER_MAX_FUEL")]
    max_fuel: Option<u64>,
    /// Most `parallelism` (plugin instances side by side) any stage may ask for.
    #[arg(long, env = "QUIVER_MAX_PARALLELISM", default_value_t = quiver_job::InstanceCeiling::DEFAULT_PER_STAGE)]
    pub max_parallelism: usize,
    #[command(flatten)]
    compile: CompileArgs,
}

/// How plugin compiles are bounded, and the compiled-plugin cache's size.
#[derive(Debug, Clone, clap::Args)]
pub struct CompileArgs {
    /// Wall time one plugin compile may take; past it the compile (a child process) is
    /// killed and the plugin refused.
    #[arg(long, env = "QUIVER_COMPILE_TIMEOUT", value_parser = humantime::parse_duration, default_value = "2m")]
    compile_timeout: Duration,
    /// Most plugin compiles at once (default: one per CPU); more wait their turn.
    #[arg(long, env = "QUIVER_COMPILE_JOBS")]
    compile_jobs: Option<usize>,
    /// Largest body of one core function in a plugin, checked before compiling.
    #[arg(long, env = "QUIVER_MAX_FUNCTION_SIZE", value_parser = parse_bytes)]
    max_function_size: Option<ByteSize>,
    /// Most values on one core function's operand stack, checked before compiling (compile
    /// time grows with its square).
    #[arg(long, env = "QUIVER_MAX_OPERAND_STACK")]
    max_operand_stack: Option<u32>,
    /// Most bytes the compiled-plugin cache keeps; least recently used entries go first.
    #[arg(long, env = "QUIVER_CACHE_MAX_SIZE", value_parser = parse_bytes)]
    cache_max_size: Option<ByteSize>,
}

impl CompileArgs {
    fn apply(&self, config: &mut RuntimeConfig) {
        config.compile.timeout = self.compile_timeout;
        if let Some(jobs) = self.compile_jobs {
            config.compile.jobs = jobs.max(1);
        }
        if let Some(size) = self.max_function_size {
            config.compile.shape.function_bytes = size.0;
        }
        if let Some(stack) = self.max_operand_stack {
            config.compile.shape.operand_stack = stack;
        }
        if let Some(size) = self.cache_max_size {
            config.cache_max_bytes = size.0;
        }
    }
}

/// The runtime configuration of a command without ceiling flags: the defaults, compiling
/// in a child process of this executable so a compile can be stopped at its budget.
pub fn default_runtime_config() -> RuntimeConfig {
    let mut config = RuntimeConfig::default();
    config.compile.worker = std::env::current_exe().ok();
    config
}

pub(crate) fn parse_bytes(s: &str) -> Result<ByteSize, String> {
    s.parse::<ByteSize>()
        .map_err(|e| format!("`{s}` is not a size such as 512MiB: {e}"))
}

impl CeilingArgs {
    /// The runtime configuration with this ceiling.
    pub fn runtime_config(&self) -> RuntimeConfig {
        let mut ceiling = Limits::default_ceiling();
        if let Some(m) = self.max_memory {
            ceiling.memory = m;
        }
        if let Some(d) = self.max_deadline {
            ceiling.deadline = d;
        }
        if self.max_fuel.is_some() {
            ceiling.fuel = self.max_fuel;
        }
        let mut config = RuntimeConfig {
            ceiling,
            ..default_runtime_config()
        };
        self.compile.apply(&mut config);
        config
    }

    /// The instance ceiling: `--max-parallelism` per stage, a run as many as the pool holds.
    pub fn instance_ceiling(&self) -> quiver_job::InstanceCeiling {
        quiver_job::InstanceCeiling {
            per_stage: self.max_parallelism,
            per_run: usize::MAX,
        }
    }
}

/// Where plugins named by name are looked for before the first-party ones.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PluginPathArgs {
    /// Folders of plugin components (`.wasm`) searched, in order, for plugins a pipeline
    /// names by name, before the first-party plugins built into quiver (`:`-separated in
    /// the environment variable).
    // An explicit id: clap names an argument after its field, and `quiver test`'s own
    // positional `dirs` would otherwise be the same argument, taking these folders as case
    // folders and leaving the plugin path empty.
    #[arg(
        id = "plugin_path",
        long = "plugin-path",
        alias = "plugin-dir",
        value_name = "DIR",
        env = "QUIVER_PLUGIN_PATH",
        value_delimiter = ':'
    )]
    pub dirs: Vec<PathBuf>,
}

impl PluginPathArgs {
    /// A resolver over `runtime` with this plugin path and the first-party plugins. Folders
    /// are made absolute, since pipelines resolve their paths from their own folder.
    pub fn resolver(&self, runtime: Arc<quiver_host::Runtime>) -> quiver_job::Resolver {
        let dirs = self
            .dirs
            .iter()
            .map(|d| std::path::absolute(d).unwrap_or_else(|_| d.clone()))
            .collect();
        quiver_job::Resolver::new(runtime).with_plugin_path(dirs)
    }
}

/// Flags that change the pipeline document as it is read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SpecArgs {
    /// Override a value of the pipeline document: `--set stage.0.config.scale=2`,
    /// `--set sink.path=out.csv` (the value is TOML; a bare word is a string).
    #[arg(
        long = "set",
        value_name = "PATH=VALUE",
        env = "QUIVER_SET",
        value_delimiter = ';'
    )]
    pub sets: Vec<String>,
}

/// Credentials for a NATS server, from files or the environment, never from the command
/// line itself.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NatsAuthArgs {
    /// A NATS `.creds` file (JWT + NKey seed).
    #[arg(long, value_name = "FILE", env = "QUIVER_NATS_CREDENTIALS")]
    pub nats_credentials: Option<PathBuf>,
    /// A file holding a NATS token.
    #[arg(long, value_name = "FILE", env = "QUIVER_NATS_TOKEN_FILE")]
    pub nats_token_file: Option<PathBuf>,
    /// A NATS user name (with --nats-password-file).
    #[arg(long, value_name = "USER", env = "QUIVER_NATS_USER")]
    pub nats_user: Option<String>,
    /// A file holding the NATS user's password.
    #[arg(long, value_name = "FILE", env = "QUIVER_NATS_PASSWORD_FILE")]
    pub nats_password_file: Option<PathBuf>,
}

impl NatsAuthArgs {
    /// The credentials as a stream spec takes them.
    pub fn auth(&self) -> quiver_stream::NatsAuth {
        quiver_stream::NatsAuth {
            credentials_file: self.nats_credentials.clone(),
            token_file: self.nats_token_file.clone(),
            user: self.nats_user.clone(),
            password_file: self.nats_password_file.clone(),
            ..Default::default()
        }
    }
}

/// How to reach a NATS server (distributed runs and workers).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NatsArgs {
    #[command(flatten)]
    pub auth: NatsAuthArgs,
    /// How long a task may go without an acknowledgement or a progress report before
    /// JetStream gives it to another worker (applies when the workers' consumer is
    /// created).
    #[arg(long, value_name = "DURATION", env = "QUIVER_TASK_ACK_WAIT", default_value = "30s", value_parser = humantime::parse_duration)]
    pub task_ack_wait: Duration,
}

impl NatsArgs {
    /// The cluster at `url` with these credentials.
    pub fn cluster(&self, url: &str) -> quiver_job::distributed::Cluster {
        quiver_job::distributed::Cluster {
            url: url.to_owned(),
            auth: self.auth.auth(),
            ack_wait: self.task_ack_wait,
            task_bytes: quiver_job::distributed::DEFAULT_TASK_BYTES,
        }
    }
}
