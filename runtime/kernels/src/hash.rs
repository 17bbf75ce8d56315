//! `sha256` and `hmac_sha256` of string and binary values (RustCrypto's `sha2` and `hmac`),
//! written as lowercase hex, URL-safe base64 without padding (the `anonymise` plugin's two
//! encodings, so a port produces the same tokens) or raw bytes.
//!
//! Arrow has no hashing kernel for cryptographic digests, hence the loop. Text is hashed as
//! its UTF-8 bytes; other types are refused rather than hashed as some text form — cast
//! them to `Utf8` first, so the bytes hashed are visible in the plugin's code.

use std::sync::Arc;

use arrow_array::builder::{BinaryBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::KernelError;

/// How a 32-byte digest is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// 64 lowercase hex digits, as `Utf8`.
    Hex,
    /// 43 characters of URL-safe base64 without padding, as `Utf8`.
    Base64Url,
    /// The 32 bytes, as `Binary`.
    Raw,
}

/// The digest of every value of `a`, written by `encoding`; nulls stay null.
fn digest_each(
    kernel: &str,
    a: &ArrayRef,
    encoding: Encoding,
    digest: impl Fn(&[u8]) -> [u8; 32],
) -> Result<ArrayRef, KernelError> {
    let values: Box<dyn Iterator<Item = Option<&[u8]>>> = match a.data_type() {
        DataType::Utf8 => Box::new(a.as_string::<i32>().iter().map(|v| v.map(str::as_bytes))),
        DataType::LargeUtf8 => Box::new(a.as_string::<i64>().iter().map(|v| v.map(str::as_bytes))),
        DataType::Binary => Box::new(a.as_binary::<i32>().iter()),
        DataType::LargeBinary => Box::new(a.as_binary::<i64>().iter()),
        other => {
            return Err(KernelError::invalid(
                kernel,
                format!(
                    "takes Utf8, LargeUtf8, Binary or LargeBinary, not {other}; cast to Utf8 first"
                ),
            ));
        }
    };
    let rows = a.len();
    Ok(match encoding {
        Encoding::Raw => {
            let mut out = BinaryBuilder::with_capacity(rows, rows * 32);
            for value in values {
                match value {
                    Some(v) => out.append_value(digest(v)),
                    None => out.append_null(),
                }
            }
            Arc::new(out.finish())
        }
        Encoding::Hex | Encoding::Base64Url => {
            let width = if encoding == Encoding::Hex { 64 } else { 43 };
            let mut out = StringBuilder::with_capacity(rows, rows * width);
            let mut text = String::with_capacity(64);
            for value in values {
                let Some(v) = value else {
                    out.append_null();
                    continue;
                };
                let d = digest(v);
                text.clear();
                if encoding == Encoding::Hex {
                    text.push_str(&hex::encode(d));
                } else {
                    URL_SAFE_NO_PAD.encode_string(d, &mut text);
                }
                out.append_value(&text);
            }
            Arc::new(out.finish())
        }
    })
}

/// SHA-256 of every value (`hashlib.sha256(v).hexdigest()` per row). Unkeyed: anyone can
/// hash a guess and compare, so use [`hmac_sha256`] to pseudonymise.
///
/// # Errors
/// [`KernelError::Invalid`] for a column that is not strings or bytes.
pub fn sha256(a: &ArrayRef, encoding: Encoding) -> Result<ArrayRef, KernelError> {
    digest_each("sha256", a, encoding, |v| Sha256::digest(v).into())
}

/// HMAC-SHA256 of every value under `key` (`hmac.new(key, v, "sha256")` per row). The
/// caller reads the key from a file granted to the plugin; this only takes its bytes.
///
/// # Errors
/// [`KernelError::Invalid`] for a column that is not strings or bytes, or an empty key (an
/// empty key file is a mistake, and hashing under it protects nothing).
pub fn hmac_sha256(a: &ArrayRef, key: &[u8], encoding: Encoding) -> Result<ArrayRef, KernelError> {
    const KERNEL: &str = "hmac_sha256";
    if key.is_empty() {
        return Err(KernelError::invalid(KERNEL, "the key is empty"));
    }
    let mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .map_err(|e| KernelError::invalid(KERNEL, format!("the key is unusable: {e}")))?;
    digest_each(KERNEL, a, encoding, |v| {
        // The keyed state is computed once; each row starts from a copy of it.
        mac.clone().chain_update(v).finalize().into_bytes().into()
    })
}
