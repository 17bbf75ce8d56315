//! `quiver plugin inspect FILE`: what a plugin says about itself.

use std::path::PathBuf;

use anyhow::Result;
use quiver_host::{Runtime, RuntimeConfig, WIT_PACKAGE, WIT_VERSION};

/// Arguments of `quiver plugin inspect`.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The plugin component (`.wasm`).
    #[arg(env = "QUIVER_PLUGIN")]
    file: PathBuf,
    /// Print JSON instead of text.
    #[arg(long, env = "QUIVER_JSON")]
    json: bool,
}

/// Load the plugin and print its metadata.
pub fn run(args: &InspectArgs) -> Result<()> {
    let runtime = Runtime::new(RuntimeConfig::default())?;
    let plugin = runtime.load_file(&args.file)?;
    let m = plugin.metadata();
    if args.json {
        let doc = serde_json::json!({
            "name": m.name,
            "version": m.version,
            "description": m.description,
            "wit": format!("{WIT_PACKAGE}@{WIT_VERSION}"),
            "sha256": plugin.sha256(),
            "config_schema": m.config_schema,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!("name:        {}", m.name);
        println!("version:     {}", m.version);
        println!("wit:         {WIT_PACKAGE}@{WIT_VERSION}");
        println!("sha256:      {}", plugin.sha256());
        println!("description: {}", m.description);
        println!(
            "config schema:\n{}",
            serde_json::to_string_pretty(&m.config_schema)?
        );
    }
    Ok(())
}
