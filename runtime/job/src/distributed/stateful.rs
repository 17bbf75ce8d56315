//! Which stages keep state across batches, so that their output for a row depends on the
//! rows before it — and a run split into independent tasks would change the result.
//!
//! The plugin contract has no such declaration yet (the WIT is being reworked elsewhere),
//! so the answer comes from two places, in this order: the stage's own `stateful = true |
//! false` in the pipeline document, then a list of the first-party plugins that are
//! stateful by design — `dedupe` (keys seen earlier in the stream), `validate` with a
//! `unique` rule (values seen earlier), `impute` with a `forward_fill` column (the last
//! value before). Any other plugin is taken as stateless unless its stage says otherwise.

use quiver_spec::{PluginRef, Stage};
use serde_json::Value;

/// Why `stage` is stateful, or `None`.
pub fn stateful_reason(stage: &Stage) -> Option<String> {
    match stage.stateful {
        Some(true) => return Some("the stage is declared `stateful = true`".into()),
        Some(false) => return None,
        None => {}
    }
    let PluginRef::Name { name, .. } = &stage.plugin else {
        return None;
    };
    let config = stage.config.as_ref();
    let any = |list: &str, key: &str, value: &str| {
        config
            .and_then(|c| c.get(list))
            .and_then(Value::as_array)
            .is_some_and(|items| {
                items
                    .iter()
                    .any(|i| i.get(key).and_then(Value::as_str) == Some(value))
            })
    };
    match name.as_str() {
        "dedupe" => Some("`dedupe` drops keys seen earlier in the whole stream".into()),
        "validate" if any("rules", "check", "unique") => {
            Some("`validate` with a `unique` rule remembers every value of the stream".into())
        }
        "impute" if any("columns", "strategy", "forward_fill") => {
            Some("`impute` with `forward_fill` carries the last value across rows".into())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(toml: &str) -> Stage {
        toml::from_str(toml).unwrap()
    }

    #[test]
    fn the_known_stateful_stages_and_the_declaration() {
        assert!(
            stateful_reason(&stage("plugin = \"dedupe\"\nconfig = { keys = [\"id\"] }")).is_some()
        );
        assert!(stateful_reason(&stage(
            "plugin = \"validate\"\nconfig = { rules = [{ check = \"unique\", column = \"id\" }] }"
        ))
        .is_some());
        assert!(stateful_reason(&stage(
            "plugin = \"validate\"\nconfig = { rules = [{ check = \"not_null\", column = \"id\" }] }"
        ))
        .is_none());
        assert!(stateful_reason(&stage(
            "plugin = \"impute\"\nconfig = { columns = [{ column = \"t\", strategy = \"forward_fill\" }] }"
        ))
        .is_some());
        assert!(stateful_reason(&stage("plugin = \"map\"")).is_none());
        assert!(stateful_reason(&stage("plugin = \"map\"\nstateful = true")).is_some());
        assert!(stateful_reason(&stage("plugin = \"dedupe\"\nstateful = false")).is_none());
    }
}
