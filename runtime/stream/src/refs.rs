//! Payload references: rows too large for one message (JetStream's max payload is 1 MiB by
//! default) travel as an object in a store, and the message carries only its address in the
//! `Quiver-Payload-Ref` header, with an empty payload.
//!
//! Both ends are confined to a declared prefix (`payload_refs = "s3://bucket/refs/"`): a
//! source reads a reference only if it lies under its prefix — a message cannot make the
//! run read any object the process can — and only up to [`MAX_REF_BYTES`]; a sink writes its
//! objects only there. The objects' payload is in the message format (`arrow`, `ndjson`,
//! `csv`), so a referenced message decodes exactly as an inline one. Quiver never deletes
//! them: a consumer may need an object again after a redelivery, so their lifetime is the
//! store's (a lifecycle rule on the prefix).

use std::path::{Path, PathBuf};

use bytes::Bytes;
use quiver_io::object_store::ObjectStoreExt;
use quiver_io::{Location, Storage};

use crate::error::StreamError;

/// The header a referencing message carries.
pub const REF_HEADER: &str = "Quiver-Payload-Ref";

/// The largest referenced object a source reads (1 GiB): one message is one batch, held
/// whole in memory.
pub const MAX_REF_BYTES: u64 = 1 << 30;

/// A prefix that references lie under, in a store.
#[derive(Debug, Clone)]
pub struct PayloadRefs {
    /// The prefix as shown (local paths absolute), ending in `/`.
    prefix: String,
    storage: Storage,
    base: PathBuf,
    /// The spec field it came from, for errors (`source.nats.payload_refs`).
    field: &'static str,
}

impl PayloadRefs {
    /// The prefix `text` (a directory: ending in `/`), local paths resolved against `base`.
    ///
    /// # Errors
    /// [`StreamError::Config`] at `field` when it is not a directory or cannot be parsed.
    pub fn new(
        text: &str,
        storage: &Storage,
        base: &Path,
        field: &'static str,
    ) -> Result<PayloadRefs, StreamError> {
        if !text.ends_with('/') {
            return Err(StreamError::config(
                field,
                format!(
                    "{text:?} is not a directory: end it with `/` (objects are named below it)"
                ),
            ));
        }
        let location = Location::parse_with(text, base, storage)
            .map_err(|e| StreamError::config(field, e.to_string()))?;
        if location.is_stdio() {
            return Err(StreamError::config(field, "`-` is not a store"));
        }
        let mut prefix = location.to_string();
        if !prefix.ends_with('/') {
            prefix.push('/');
        }
        Ok(PayloadRefs {
            prefix,
            storage: storage.clone(),
            base: base.to_owned(),
            field,
        })
    }

    /// The prefix, as shown.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The bytes of the object `reference` names, for message `at`.
    ///
    /// # Errors
    /// [`StreamError::Data`] when the reference lies outside the prefix, names nothing, or
    /// is over [`MAX_REF_BYTES`]; [`StreamError::Unavailable`] when the store fails.
    pub async fn read(&self, reference: &str, at: &str) -> Result<Bytes, StreamError> {
        let bad = |message: String| StreamError::Data {
            at: at.to_owned(),
            message,
        };
        let location = self.confine(reference).map_err(bad)?;
        let Ok(Some((store, path))) = location.object() else {
            return Err(bad(format!(
                "payload reference {reference:?} is not an object"
            )));
        };
        let meta = store.head(&path).await.map_err(|e| match e {
            quiver_io::object_store::Error::NotFound { .. } => {
                bad(format!("payload reference {location}: no such object"))
            }
            e => StreamError::unavailable(format!("reading {location}"), &self.prefix, e),
        })?;
        if meta.size > MAX_REF_BYTES {
            return Err(bad(format!(
                "payload reference {location} holds {} bytes, over the {} a message may",
                meta.size, MAX_REF_BYTES
            )));
        }
        let got = store.get(&path).await.map_err(|e| {
            StreamError::unavailable(format!("reading {location}"), &self.prefix, e)
        })?;
        got.bytes()
            .await
            .map_err(|e| StreamError::unavailable(format!("reading {location}"), &self.prefix, e))
    }

    /// Store `payload` as object `name` under the prefix; its reference.
    ///
    /// # Errors
    /// [`StreamError::Unavailable`] when the store fails; [`StreamError::Internal`] for a
    /// name that is not a plain object name.
    pub async fn write(&self, name: &str, payload: Bytes) -> Result<String, StreamError> {
        if name.is_empty() || name.contains(['/', '\\']) || name == ".." || name == "." {
            return Err(StreamError::Internal(format!(
                "{name:?} is not an object name"
            )));
        }
        let reference = format!("{}{name}", self.prefix);
        let location = Location::parse_with(&reference, &self.base, &self.storage)
            .map_err(|e| StreamError::config(self.field, e.to_string()))?;
        let Ok(Some((store, path))) = location.object() else {
            return Err(StreamError::config(
                self.field,
                format!("{reference} cannot be written as an object"),
            ));
        };
        store.put(&path, payload.into()).await.map_err(|e| {
            StreamError::unavailable(format!("writing {reference}"), &self.prefix, e)
        })?;
        Ok(reference)
    }

    /// `reference` parsed, if it lies under the prefix (no `..` segment, same store).
    fn confine(&self, reference: &str) -> Result<Location, String> {
        let outside = || {
            format!(
                "payload reference {reference:?} is outside {} (the source's payload_refs): \
                 refused",
                self.prefix
            )
        };
        if reference.split(['/', '\\']).any(|s| s == "..") {
            return Err(outside());
        }
        let location = Location::parse_with(reference, &self.base, &self.storage)
            .map_err(|e| format!("payload reference {reference:?}: {e}"))?;
        if location.to_string().starts_with(&self.prefix) {
            Ok(location)
        } else {
            Err(outside())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_outside_the_prefix_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let refs = PayloadRefs::new(
            "refs/",
            &Storage::from_env(),
            dir.path(),
            "source.nats.payload_refs",
        )
        .unwrap();
        assert!(refs.prefix().ends_with("/refs/"), "{}", refs.prefix());
        let inside = format!("{}a.arrows", refs.prefix());
        assert!(refs.confine(&inside).is_ok());
        for outside in [
            "/etc/passwd".to_owned(),
            format!("{}../secret", refs.prefix()),
            format!("{}x", refs.prefix().trim_end_matches('/')),
            "memory:///refs/a".to_owned(),
        ] {
            let e = refs.confine(&outside).unwrap_err();
            assert!(e.contains("outside"), "{outside}: {e}");
        }
        assert!(
            PayloadRefs::new("refs", &Storage::from_env(), dir.path(), "f")
                .unwrap_err()
                .to_string()
                .contains("end it with `/`")
        );
    }
}
