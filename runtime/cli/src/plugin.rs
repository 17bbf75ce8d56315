//! `quiver plugin inspect FILE` and `quiver plugin list`: what a plugin says about itself,
//! and every plugin a pipeline can name.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;
use quiver_host::Runtime;

use crate::args::PluginPathArgs;

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
pub fn inspect(args: &InspectArgs) -> Result<()> {
    let runtime = Runtime::new(crate::args::default_runtime_config())?;
    let plugin = runtime.load_file(&args.file)?;
    let m = plugin.metadata();
    if args.json {
        let doc = serde_json::json!({
            "name": m.name,
            "version": m.version,
            "description": m.description,
            "wit": plugin.contract().to_string(),
            "sha256": plugin.sha256(),
            "config_schema": m.config_schema,
        });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        println!("name:        {}", m.name);
        println!("version:     {}", m.version);
        println!("wit:         {}", plugin.contract());
        println!("sha256:      {}", plugin.sha256());
        println!(
            "description: {}",
            quiver_host::printable(&m.description, false)
        );
        println!(
            "config schema:\n{}",
            serde_json::to_string_pretty(&m.config_schema)?
        );
    }
    Ok(())
}

/// Arguments of `quiver plugin list`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    plugin_path: PluginPathArgs,
    /// Print JSON instead of a table.
    #[arg(long, env = "QUIVER_JSON")]
    json: bool,
}

/// Print every resolvable plugin: name, version, sha256 and where it comes from, in the
/// order names are resolved (the plugin path first).
pub fn list(args: &ListArgs) -> Result<()> {
    let runtime = Arc::new(Runtime::new(crate::args::default_runtime_config())?);
    let resolver = args.plugin_path.resolver(runtime);
    let rows: Vec<serde_json::Value> = resolver
        .list()?
        .into_iter()
        .map(|(a, loaded)| {
            serde_json::json!({
                "name": a.name,
                "version": a.version.to_string(),
                "sha256": a.sha256,
                "origin": a.origin.to_string(),
                "wit": loaded.as_ref().map(|p| p.contract().to_string()).ok(),
                "description": loaded.as_ref().map(|p| p.metadata().description.clone()).ok(),
                "error": loaded.err().map(|e| e.to_string()),
            })
        })
        .collect();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<14} {:<9} {:<24} {:<16} origin",
        "name", "version", "wit", "sha256"
    );
    for r in &rows {
        let sha = r["sha256"].as_str().unwrap_or("?");
        println!(
            "{:<14} {:<9} {:<24} {:<16} {}{}",
            r["name"].as_str().unwrap_or_default(),
            r["version"].as_str().unwrap_or_default(),
            r["wit"].as_str().unwrap_or("?"),
            &sha[..sha.len().min(16)],
            r["origin"].as_str().unwrap_or_default(),
            r["error"]
                .as_str()
                .map(|e| format!("  (does not load: {e})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}
