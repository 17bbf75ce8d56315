//! The operator's ceiling on plugin limits, from flags or environment variables.
//!
//! Every command that runs plugins takes these flags; a stage whose `limits` ask for more
//! is refused with a config error naming the key. Unset flags keep
//! `quiver_host::Limits::default_ceiling()`.

use std::time::Duration;

use bytesize::ByteSize;
use quiver_host::{Limits, RuntimeConfig};

/// Ceiling flags shared by `run` (and later `serve`).
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
}

fn parse_bytes(s: &str) -> Result<ByteSize, String> {
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
        RuntimeConfig {
            ceiling,
            ..RuntimeConfig::default()
        }
    }
}
