//! [`PluginRef`]: how a stage names its plugin — a component file, or a name the host
//! resolves (`dedupe`: the newest version available; `dedupe@0.2.0`: exactly that one).

use std::fmt;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A stage's plugin.
///
/// Written as one string. It is a **path** when it contains `/` or `\` or ends in `.wasm`
/// (relative to the pipeline file, or to the server's work directory); otherwise it is a
/// **name**, optionally pinned to a version with `@` (`map`, `map@0.2.0`). Names are 1–64
/// of `a-z`, `0-9`, `-` and `_`, starting with a letter or digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PluginRef {
    /// A component file.
    Path(PathBuf),
    /// A plugin resolved by name (plugin path, first-party plugins, the server's catalogue).
    Name {
        /// The plugin's name.
        name: String,
        /// The pinned version; `None` follows the newest.
        version: Option<semver::Version>,
    },
}

/// Whether `name` is a valid plugin name (also the rule for stored names on the server).
pub fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_')
}

impl PluginRef {
    /// Parse a reference; the message says what is wrong and what would be accepted.
    ///
    /// # Errors
    /// An empty text, a name with characters outside `a-z0-9-_`, or a version that is not
    /// semver.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err(
                "empty: give a plugin name (`dedupe`, `dedupe@0.1.0`) or a path to a \
                        component (`plugins/dedupe.wasm`)"
                    .into(),
            );
        }
        if text.contains('/') || text.contains('\\') || text.ends_with(".wasm") {
            return Ok(PluginRef::Path(PathBuf::from(text)));
        }
        let (name, version) = match text.split_once('@') {
            Some((n, v)) => (n, Some(v)),
            None => (text, None),
        };
        if !valid_name(name) {
            return Err(format!(
                "`{text}` is not a plugin reference: write a name (`dedupe`, the newest version), \
                 `name@version` (pinned) or a path to a .wasm file; names are 1-64 of a-z, 0-9, \
                 - and _"
            ));
        }
        let version = version
            .map(|v| {
                semver::Version::parse(v)
                    .map_err(|e| format!("`{v}` in `{text}` is not a semver version: {e}"))
            })
            .transpose()?;
        Ok(PluginRef::Name {
            name: name.to_owned(),
            version,
        })
    }

    /// A reference by name.
    pub fn name(name: impl Into<String>, version: Option<semver::Version>) -> Self {
        PluginRef::Name {
            name: name.into(),
            version,
        }
    }

    /// The name this stage is known by before its plugin is loaded: the plugin name, or the
    /// file stem of a path.
    pub fn default_stage_name(&self) -> String {
        match self {
            PluginRef::Name { name, .. } => name.clone(),
            PluginRef::Path(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }

    /// Whether the stage follows the newest version of a name (not pinned, not a file).
    pub fn follows_newest(&self) -> bool {
        matches!(self, PluginRef::Name { version: None, .. })
    }
}

impl fmt::Display for PluginRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginRef::Path(p) => write!(f, "{}", p.display()),
            PluginRef::Name {
                name,
                version: Some(v),
            } => write!(f, "{name}@{v}"),
            PluginRef::Name {
                name,
                version: None,
            } => f.write_str(name),
        }
    }
}

impl Serialize for PluginRef {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PluginRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        PluginRef::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for PluginRef {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "PluginRef".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A plugin name (`dedupe`: the newest version available), a pinned \
                            version (`dedupe@0.1.0`), or a path to a component file \
                            (contains `/` or ends in `.wasm`).",
            "examples": ["dedupe", "dedupe@0.1.0", "plugins/my-plugin.wasm"]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_versions_and_paths_are_told_apart() {
        assert_eq!(
            PluginRef::parse("dedupe").unwrap(),
            PluginRef::name("dedupe", None)
        );
        assert_eq!(
            PluginRef::parse("map@0.2.0").unwrap(),
            PluginRef::name("map", Some(semver::Version::new(0, 2, 0)))
        );
        assert_eq!(
            PluginRef::parse("plugins/x.wasm").unwrap(),
            PluginRef::Path("plugins/x.wasm".into())
        );
        assert_eq!(
            PluginRef::parse("x.wasm").unwrap(),
            PluginRef::Path("x.wasm".into())
        );
        assert!(PluginRef::parse("Map").is_err());
        assert!(PluginRef::parse("map@1").is_err());
        assert!(PluginRef::parse("").is_err());
        assert_eq!(
            PluginRef::parse("map@0.2.0").unwrap().to_string(),
            "map@0.2.0"
        );
    }
}
