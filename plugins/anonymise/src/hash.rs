//! Keyed hashing: HMAC-SHA256 of each value under a secret key, written as a token.
//!
//! The key is read from a file the stage is granted (a read-only directory), never from the
//! config: configs are printed, logged and committed, key files are not. A plain hash
//! (SHA-256 without a key) would not do: anyone can hash every plausible email address or
//! phone number and look the tokens up. With HMAC, only the key's holder can.
//!
//! The same value under the same key always gives the same token (in every column, run and
//! table), so tokens still join and group; a different key gives unrelated tokens.

use std::sync::Arc;

use arrow_array::builder::StringBuilder;
use arrow_array::{Array, ArrayRef};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{ArrowError, DataType};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Fewest key bytes accepted: 128 bits.
pub const MIN_KEY_BYTES: usize = 16;

/// How a 32-byte digest is written.
#[derive(serde::Deserialize, Clone, Copy, Default, PartialEq, Eq, Debug)]
#[serde(rename_all = "snake_case")]
pub enum Encoding {
    /// 64 lowercase hex digits.
    #[default]
    Hex,
    /// 43 characters of URL-safe base64 without padding.
    Base64url,
}

impl Encoding {
    /// The host kernel's name for it.
    pub fn wit(self) -> quiver_sdk::compute::Encoding {
        match self {
            Encoding::Hex => quiver_sdk::compute::Encoding::Hex,
            Encoding::Base64url => quiver_sdk::compute::Encoding::Base64url,
        }
    }
}

/// Whether the host's `hmac-sha256` kernel hashes a column of this type (text and bytes);
/// the plugin hashes the others as the text arrow prints for them.
pub fn in_host(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary
    )
}

/// The secret key, read once per stream.
#[derive(Clone)]
pub struct Key(Vec<u8>);

impl Key {
    /// Read the key from `path`: the file's bytes without trailing whitespace (so a key
    /// written by `openssl rand -hex 32 > anon.key` works with its newline).
    ///
    /// # Errors
    /// A message saying what to fix: the file is missing (not granted?), or too short.
    /// The message never contains any part of the key.
    pub fn read(path: &str) -> Result<Self, String> {
        let mut bytes = std::fs::read(path).map_err(|e| {
            format!(
                "cannot read the key file {path}: {e}; grant its directory to the stage, e.g. \
                 grants = {{ dirs = [{{ host = \"keys\", guest = \"/keys\" }}] }} for /keys/…"
            )
        })?;
        while bytes.last().is_some_and(|b| b.is_ascii_whitespace()) {
            bytes.pop();
        }
        if bytes.len() < MIN_KEY_BYTES {
            return Err(format!(
                "the key in {path} has {} bytes; use at least {MIN_KEY_BYTES} random bytes \
                 (e.g. `openssl rand -hex 32 > anon.key`)",
                bytes.len()
            ));
        }
        Ok(Key(bytes))
    }

    /// The token of `value`.
    fn token(&self, value: &[u8], encoding: Encoding) -> String {
        // `new_from_slice` accepts keys of any length for HMAC: the error is unreachable,
        // and an empty token would be wrong rather than a crash.
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&self.0) else {
            return String::new();
        };
        mac.update(value);
        let digest = mac.finalize().into_bytes();
        match encoding {
            Encoding::Hex => hex::encode(digest),
            Encoding::Base64url => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest),
        }
    }
}

/// Tokens for every value of a column the host's kernel does not take (`!in_host`), nulls
/// staying null, as a utf8 column: each value is hashed as the text arrow prints for it
/// (`42`, `10.5`, `2024-01-31`, `true`), so an integer or a date hashes the same whether it
/// arrives typed or as text (where the host hashes the text's UTF-8 bytes).
///
/// # Errors
/// Text and binary columns (the host hashes their bytes; printing binary would hash its hex
/// instead), and a type arrow cannot print.
pub fn hash(column: &ArrayRef, key: &Key, encoding: Encoding) -> Result<ArrayRef, ArrowError> {
    if in_host(column.data_type()) {
        return Err(ArrowError::InvalidArgumentError(format!(
            "{} columns are hashed by the host's hmac-sha256 kernel",
            column.data_type()
        )));
    }
    let text = ArrayFormatter::try_new(column.as_ref(), &FormatOptions::default())?;
    let mut out = StringBuilder::with_capacity(column.len(), column.len() * 64);
    for row in 0..column.len() {
        if column.is_null(row) {
            out.append_null();
        } else {
            out.append_value(key.token(text.value(row).to_string().as_bytes(), encoding));
        }
    }
    Ok(Arc::new(out.finish()))
}
