//! What the host offers a plugin: structured logs and counters.
//!
//! Logs go to the host's `tracing` output tagged with the plugin's name; counters appear in
//! the run report and the stage's metrics (e.g. `rows-rejected`).

use crate::bindings::quiver::transform::host as wit;

/// Severity of a log record.
pub use wit::Level;

/// Emit a log record with key/value fields.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    wit::log(level, message, &fields);
}

/// Emit an info-level log record.
pub fn info(message: &str) {
    log(Level::Info, message, &[]);
}

/// Emit a warning.
pub fn warn(message: &str) {
    log(Level::Warn, message, &[]);
}

/// Add `delta` to the counter `name` of this plugin.
pub fn counter_add(name: &str, delta: u64) {
    wit::counter_add(name, delta);
}
