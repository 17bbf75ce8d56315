//! Who may call what: bearer tokens, each with a name and scopes, and the scope every `/v1`
//! operation needs. A token is never stored: the server keeps the sha256 of each one (the
//! tokens file holds only digests) and compares the digest of a presented token with every
//! stored digest in constant time, so neither a token's prefix nor which entry matched shows
//! in the response time.
//!
//! The tokens file (`--tokens-file`, TOML or JSON, the same shape):
//!
//! ```toml
//! [[token]]
//! name = "ci"                                 # shown in the audit log, never the secret
//! sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
//! scopes = ["plugins:write", "read"]
//! ```
//!
//! The single `QUIVER_TOKEN` / `--token-file` token is the token named `default` with the
//! `admin` scope. The scope an operation needs is the one its OpenAPI operation declares
//! under `security` (`api::router` reads it from the document), so the document and the
//! check cannot disagree.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Scope {
    /// Every `GET` under `/v1`: plugins, pipelines, runs, errors, reports.
    #[serde(rename = "read")]
    Read,
    /// Upload and delete plugins.
    #[serde(rename = "plugins:write")]
    PluginsWrite,
    /// Create, replace, dry-run and delete pipelines.
    #[serde(rename = "pipelines:write")]
    PipelinesWrite,
    /// Start, stop and cancel runs, and push batches into them.
    #[serde(rename = "runs:write")]
    RunsWrite,
    /// Everything.
    #[serde(rename = "admin")]
    Admin,
}

impl Scope {
    /// Every scope, in the order the docs list them.
    pub const ALL: [Scope; 5] = [
        Scope::Read,
        Scope::PluginsWrite,
        Scope::PipelinesWrite,
        Scope::RunsWrite,
        Scope::Admin,
    ];

    /// The scope's name, as tokens files and the OpenAPI document spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::PluginsWrite => "plugins:write",
            Scope::PipelinesWrite => "pipelines:write",
            Scope::RunsWrite => "runs:write",
            Scope::Admin => "admin",
        }
    }

    /// The scope called `name`.
    pub fn parse(name: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == name)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One accepted token: its name, the sha256 of its secret, its scopes.
#[derive(Clone)]
pub struct Token {
    /// Shown in the audit log and in 403 answers; never the secret.
    pub name: String,
    /// sha256 of the secret.
    pub sha256: [u8; 32],
    /// What it may do (`admin` means everything).
    pub scopes: BTreeSet<Scope>,
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Token")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl Token {
    /// The single `QUIVER_TOKEN` / `--token-file` secret: the token `default`, scope `admin`.
    pub fn admin(secret: &str) -> Token {
        Token {
            name: "default".into(),
            sha256: Sha256::digest(secret.trim().as_bytes()).into(),
            scopes: BTreeSet::from([Scope::Admin]),
        }
    }

    /// Whether this token may do what `scope` allows.
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope)
    }

    /// Its scopes, comma-separated.
    pub fn scope_list(&self) -> String {
        self.scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The tokens a server accepts. Empty: no token is asked for (loopback only).
#[derive(Debug, Clone, Default)]
pub struct Tokens {
    tokens: Vec<Token>,
}

/// A tokens file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("tokens file {file}: {message}")]
pub struct TokensError {
    /// The file.
    pub file: String,
    /// What is wrong, with the field (`token.1.sha256`).
    pub message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokensFile {
    token: Vec<TokenEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenEntry {
    name: String,
    sha256: String,
    scopes: Vec<String>,
}

impl Tokens {
    /// These tokens.
    pub fn new(tokens: Vec<Token>) -> Self {
        Tokens { tokens }
    }

    /// Whether any token is configured (then every `/v1` request must carry one).
    pub fn required(&self) -> bool {
        !self.tokens.is_empty()
    }

    /// Every token.
    pub fn all(&self) -> &[Token] {
        &self.tokens
    }

    /// Add `token` (the single admin token beside a tokens file).
    pub fn push(&mut self, token: Token) {
        self.tokens.push(token);
    }

    /// The token whose secret is `presented`. Every stored digest is compared, in constant
    /// time, whichever matches.
    pub fn find(&self, presented: &str) -> Option<&Token> {
        let digest: [u8; 32] = Sha256::digest(presented.trim().as_bytes()).into();
        let mut found = None;
        for t in &self.tokens {
            if bool::from(t.sha256.ct_eq(&digest)) && found.is_none() {
                found = Some(t);
            }
        }
        found
    }

    /// Read a tokens file (`.json` is JSON, anything else TOML).
    ///
    /// # Errors
    /// The file cannot be read, does not parse, or an entry is wrong (the message names the
    /// field: `token.1.sha256`).
    pub fn from_file(path: &Path) -> Result<Tokens, TokensError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TokensError {
            file: file.clone(),
            message: format!("cannot read it: {e}"),
        })?;
        let json = path.extension().is_some_and(|e| e == "json");
        Self::parse(&text, json).map_err(|message| TokensError { file, message })
    }

    /// Parse a tokens document (TOML, or JSON when `json`).
    ///
    /// # Errors
    /// What is wrong, with the field.
    pub fn parse(text: &str, json: bool) -> Result<Tokens, String> {
        let doc: TokensFile = if json {
            serde_json::from_str(text).map_err(|e| format!("not a tokens document: {e}"))?
        } else {
            toml::from_str(text).map_err(|e| format!("not a tokens document: {e}"))?
        };
        if doc.token.is_empty() {
            return Err("`token` lists no token".into());
        }
        let mut tokens = Vec::new();
        let mut names = BTreeSet::new();
        for (i, t) in doc.token.into_iter().enumerate() {
            if !quiver_spec::valid_name(&t.name) {
                return Err(format!(
                    "`token.{i}.name`: `{}` is not a name (1-64 of a-z, 0-9, - and _)",
                    t.name
                ));
            }
            if !names.insert(t.name.clone()) {
                return Err(format!(
                    "`token.{i}.name`: `{}` is given twice; names tell tokens apart in the audit log",
                    t.name
                ));
            }
            let mut sha256 = [0u8; 32];
            let ok = hex::decode_to_slice(t.sha256.trim(), &mut sha256).is_ok();
            if !ok {
                return Err(format!(
                    "`token.{i}.sha256`: not 64 hex digits; store the token's sha256, e.g. \
                     `printf %s \"$TOKEN\" | sha256sum`, never the token itself"
                ));
            }
            if t.scopes.is_empty() {
                return Err(format!(
                    "`token.{i}.scopes`: empty; give at least one of {}",
                    scope_names()
                ));
            }
            let mut scopes = BTreeSet::new();
            for (j, s) in t.scopes.iter().enumerate() {
                let scope = Scope::parse(s).ok_or_else(|| {
                    format!(
                        "`token.{i}.scopes.{j}`: unknown scope `{s}`; scopes are {}",
                        scope_names()
                    )
                })?;
                scopes.insert(scope);
            }
            tokens.push(Token {
                name: t.name,
                sha256,
                scopes,
            });
        }
        Ok(Tokens { tokens })
    }
}

fn scope_names() -> String {
    Scope::ALL
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Who made a request, for the audit log: a token's name, or `-` when the server asks for
/// no token.
#[derive(Debug, Clone)]
pub struct Caller(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    const SHA_OF_TEST: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn a_tokens_file_reads_the_same_as_toml_and_json() {
        let toml = format!(
            "[[token]]\nname = \"ci\"\nsha256 = \"{SHA_OF_TEST}\"\nscopes = [\"plugins:write\", \"read\"]\n"
        );
        let json = format!(
            r#"{{"token": [{{"name": "ci", "sha256": "{SHA_OF_TEST}", "scopes": ["plugins:write", "read"]}}]}}"#
        );
        for tokens in [
            Tokens::parse(&toml, false).unwrap(),
            Tokens::parse(&json, true).unwrap(),
        ] {
            let t = tokens.find("test").unwrap();
            assert_eq!(t.name, "ci");
            assert!(t.allows(Scope::PluginsWrite) && t.allows(Scope::Read));
            assert!(!t.allows(Scope::RunsWrite));
            assert!(tokens.find("tost").is_none());
        }
    }

    #[test]
    fn a_wrong_entry_is_refused_naming_its_field() {
        let bad = format!(
            "[[token]]\nname = \"ci\"\nsha256 = \"{SHA_OF_TEST}\"\nscopes = [\"read\", \"root\"]\n"
        );
        let e = Tokens::parse(&bad, false).unwrap_err();
        assert!(e.contains("`token.0.scopes.1`"), "{e}");
        let e = Tokens::parse(
            "[[token]]\nname = \"ci\"\nsha256 = \"secret\"\nscopes = [\"read\"]\n",
            false,
        )
        .unwrap_err();
        assert!(e.contains("`token.0.sha256`"), "{e}");
    }

    #[test]
    fn the_single_token_is_admin() {
        let tokens = Tokens::new(vec![Token::admin("0123456789abcdef")]);
        let t = tokens.find("0123456789abcdef").unwrap();
        assert_eq!(t.name, "default");
        assert!(Scope::ALL.iter().all(|s| t.allows(*s)));
    }
}
