//! [`Compression`]: whole-file compression of the streaming formats (CSV, NDJSON, Arrow IPC
//! stream) — gzip, zstd, bzip2 and xz — chosen explicitly or from a second extension
//! (`.csv.gz`, `.ndjson.zst`, `.arrows.xz`), and the streamed codecs of `async-compression`
//! on both sides: inputs are decompressed as their bytes arrive, outputs compressed as the
//! encoder produces them, so neither ever holds a whole file.
//!
//! Parquet and Arrow IPC files compress inside the file (per column chunk or buffer) and
//! need ranged reads, which a compressed file cannot serve: asking for both is a config error.

use std::fmt;
use std::io;

use async_compression::tokio::bufread::{BzDecoder, GzipDecoder, XzDecoder, ZstdDecoder};
use async_compression::tokio::write::{BzEncoder, GzipEncoder, XzEncoder, ZstdEncoder};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use schemars::JsonSchema;
use serde::Deserialize;
use tokio::io::AsyncWriteExt;
use tokio_util::io::{ReaderStream, StreamReader};

use crate::source::ByteStream;
use crate::{Format, IoError};

/// A whole-file compression codec. Spelled in lower case in pipeline files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// Not compressed (to override an extension).
    None,
    /// gzip (`.gz`, `.gzip`); concatenated members are read as one file.
    Gzip,
    /// Zstandard (`.zst`, `.zstd`); concatenated frames are read as one file.
    Zstd,
    /// bzip2 (`.bz2`).
    Bzip2,
    /// xz / LZMA2 (`.xz`).
    Xz,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        })
    }
}

impl Compression {
    /// The codec a file name's last extension names, and the name without that extension;
    /// `(None, name)` when the last extension is not a compression one.
    pub fn split_extension(name: &str) -> (Compression, &str) {
        let trimmed = name.trim_end_matches('/');
        let Some((stem, extension)) = trimmed.rsplit_once('.') else {
            return (Compression::None, name);
        };
        if extension.contains(['/', '\\']) {
            return (Compression::None, name);
        }
        let codec = match extension.to_ascii_lowercase().as_str() {
            "gz" | "gzip" => Compression::Gzip,
            "zst" | "zstd" => Compression::Zstd,
            "bz2" => Compression::Bzip2,
            "xz" => Compression::Xz,
            _ => return (Compression::None, name),
        };
        (codec, stem)
    }

    /// The extension of files this crate writes with this codec (without the dot).
    pub fn extension(self) -> Option<&'static str> {
        match self {
            Compression::None => None,
            Compression::Gzip => Some("gz"),
            Compression::Zstd => Some("zst"),
            Compression::Bzip2 => Some("bz2"),
            Compression::Xz => Some("xz"),
        }
    }

    /// `explicit` if set, else the codec of `name`'s extension; refused for the formats
    /// that need ranged reads.
    ///
    /// # Errors
    ///
    /// [`IoError::Config`] (key `compression`) for Parquet or an Arrow IPC file.
    pub(crate) fn resolve(
        explicit: Option<Compression>,
        name: &str,
        format: Format,
    ) -> Result<Compression, IoError> {
        let codec = explicit.unwrap_or_else(|| Compression::split_extension(name).0);
        if codec != Compression::None && !format.is_streaming() {
            return Err(IoError::config(
                "compression",
                format!(
                    "{name}: {format} cannot be {codec}-compressed as a whole (it is read with \
                     ranged requests); use its own compression ([sink.parquet] compression) or \
                     a streaming format (csv, ndjson, arrow_stream)"
                ),
            ));
        }
        Ok(codec)
    }

    /// `bytes` decompressed as they arrive. A corrupt input is [`IoError::BadData`] naming
    /// `name`; storage errors pass through unchanged.
    pub(crate) fn decompress(self, bytes: ByteStream, name: &str) -> ByteStream {
        // Storage errors travel through the reader as `io::Error`s and are unwrapped again.
        macro_rules! decoded {
            ($decoder:ident) => {{
                let mut decoder = $decoder::new(StreamReader::new(bytes.map_err(io::Error::other)));
                decoder.multiple_members(true);
                ReaderStream::new(decoder).boxed()
            }};
        }
        let decoded: futures::stream::BoxStream<'static, io::Result<Bytes>> = match self {
            Compression::None => return bytes,
            Compression::Gzip => decoded!(GzipDecoder),
            Compression::Zstd => decoded!(ZstdDecoder),
            Compression::Bzip2 => decoded!(BzDecoder),
            Compression::Xz => decoded!(XzDecoder),
        };
        let name = name.to_string();
        decoded
            .map_err(move |error| match error.downcast::<IoError>() {
                Ok(storage) => storage,
                Err(error) => {
                    IoError::bad_data(&name, format!("cannot decompress ({self}): {error}"))
                }
            })
            .boxed()
    }
}

/// Compresses one output file's bytes as they come. Each codec writes into a `Vec` that is
/// drained after every call, so at most the codec's own window is held back.
pub(crate) enum Compressor {
    Gzip(GzipEncoder<Vec<u8>>),
    Zstd(ZstdEncoder<Vec<u8>>),
    Bzip2(BzEncoder<Vec<u8>>),
    Xz(XzEncoder<Vec<u8>>),
}

macro_rules! each {
    ($self:expr, $encoder:ident => $body:expr) => {
        match $self {
            Compressor::Gzip($encoder) => $body,
            Compressor::Zstd($encoder) => $body,
            Compressor::Bzip2($encoder) => $body,
            Compressor::Xz($encoder) => $body,
        }
    };
}

impl Compressor {
    /// A compressor for `codec`; `None` for [`Compression::None`].
    pub(crate) fn new(codec: Compression) -> Option<Compressor> {
        match codec {
            Compression::None => None,
            Compression::Gzip => Some(Compressor::Gzip(GzipEncoder::new(Vec::new()))),
            Compression::Zstd => Some(Compressor::Zstd(ZstdEncoder::new(Vec::new()))),
            Compression::Bzip2 => Some(Compressor::Bzip2(BzEncoder::new(Vec::new()))),
            Compression::Xz => Some(Compressor::Xz(XzEncoder::new(Vec::new()))),
        }
    }

    /// Compresses `bytes`; returns the compressed bytes ready so far.
    pub(crate) async fn push(&mut self, bytes: &[u8], name: &str) -> Result<Bytes, IoError> {
        let failed = |e: io::Error| IoError::internal(format!("compressing {name}: {e}"));
        each!(self, encoder => {
            encoder.write_all(bytes).await.map_err(failed)?;
            Ok(Bytes::from(std::mem::take(encoder.get_mut())))
        })
    }

    /// Ends the compressed stream; returns its last bytes.
    pub(crate) async fn finish(self, name: &str) -> Result<Bytes, IoError> {
        let failed = |e: io::Error| IoError::internal(format!("compressing {name}: {e}"));
        each!(self, encoder => {
            let mut encoder = encoder;
            encoder.shutdown().await.map_err(failed)?;
            Ok(Bytes::from(encoder.into_inner()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream;

    #[test]
    fn extensions() {
        assert_eq!(
            Compression::split_extension("a.csv.gz"),
            (Compression::Gzip, "a.csv")
        );
        assert_eq!(
            Compression::split_extension("s3://b/k.ndjson.ZST"),
            (Compression::Zstd, "s3://b/k.ndjson")
        );
        assert_eq!(
            Compression::split_extension("a.csv.bz2"),
            (Compression::Bzip2, "a.csv")
        );
        assert_eq!(
            Compression::split_extension("a.arrows.xz"),
            (Compression::Xz, "a.arrows")
        );
        assert_eq!(
            Compression::split_extension("a.csv"),
            (Compression::None, "a.csv")
        );
        assert_eq!(
            Compression::split_extension("dir.gz/a"),
            (Compression::None, "dir.gz/a")
        );
    }

    #[test]
    fn whole_file_compression_of_ranged_formats_is_refused() {
        let error =
            Compression::resolve(None, "a.parquet.gz", Format::Parquet).expect_err("refused");
        assert!(error.to_string().contains("`compression`"), "{error}");
        assert_eq!(
            Compression::resolve(Some(Compression::None), "a.parquet.gz", Format::Parquet).ok(),
            Some(Compression::None)
        );
    }

    #[tokio::test]
    async fn every_codec_round_trips_in_small_pieces() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("{i},row {i}\n").into_bytes())
            .collect();
        for codec in [
            Compression::Gzip,
            Compression::Zstd,
            Compression::Bzip2,
            Compression::Xz,
        ] {
            let mut compressor = Compressor::new(codec).expect("a codec");
            let mut compressed = Vec::new();
            for chunk in text.chunks(7_777) {
                compressed.extend(compressor.push(chunk, "x").await.expect("push"));
            }
            compressed.extend(compressor.finish("x").await.expect("finish"));
            assert!(compressed.len() < text.len() / 2, "{codec}");
            // Read back in odd-sized chunks, twice over (concatenated members).
            let twice = [compressed.clone(), compressed].concat();
            let chunks: Vec<Result<Bytes, IoError>> = twice
                .chunks(1_001)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let decoded: Vec<Bytes> = codec
                .decompress(stream::iter(chunks).boxed(), "x")
                .try_collect()
                .await
                .expect("decompress");
            assert_eq!(
                decoded.concat(),
                [text.clone(), text.clone()].concat(),
                "{codec}"
            );
        }
    }

    /// Streamed, not buffered: decompressed bytes come out in small pieces while most of
    /// the compressed input has not even been pulled, and compressed bytes leave the
    /// compressor long before the end.
    #[tokio::test]
    async fn both_directions_stream() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        // Rows with pseudo-random numbers, so that no codec shrinks them to one chunk.
        let mut seed: u64 = 42;
        let mut block = || -> Vec<u8> {
            (0..2_000)
                .flat_map(|i| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    format!("{i},customer-{},{}\n", seed >> 40, seed % 100_000).into_bytes()
                })
                .collect()
        };
        for codec in [
            Compression::Gzip,
            Compression::Zstd,
            Compression::Bzip2,
            Compression::Xz,
        ] {
            let mut compressor = Compressor::new(codec).expect("a codec");
            let mut compressed = Vec::new();
            let mut early = 0;
            let mut total = 0;
            for _ in 0..30 {
                let rows = block();
                total += rows.len();
                let out = compressor.push(&rows, "x").await.expect("push");
                early += out.len();
                compressed.extend(out);
            }
            assert!(early > 0, "{codec}: nothing came out before finish");
            compressed.extend(compressor.finish("x").await.expect("finish"));

            let pulled = Arc::new(AtomicUsize::new(0));
            let counter = Arc::clone(&pulled);
            let chunks: Vec<Bytes> = compressed
                .chunks(4096)
                .map(Bytes::copy_from_slice)
                .collect();
            let count = chunks.len();
            let input = stream::iter(chunks).map(move |chunk| {
                counter.fetch_add(1, Ordering::Relaxed);
                Ok::<_, IoError>(chunk)
            });
            let mut output = codec.decompress(input.boxed(), "x");
            let first = output.next().await.expect("a chunk").expect("decoded");
            assert!(
                first.len() <= 64 * 1024,
                "{codec}: {} bytes at once",
                first.len()
            );
            assert!(
                pulled.load(Ordering::Relaxed) * 2 < count,
                "{codec}: {} of {count} input chunks read for the first output",
                pulled.load(Ordering::Relaxed)
            );
            let mut seen = first.len();
            while let Some(chunk) = output.next().await {
                let chunk = chunk.expect("decoded");
                assert!(chunk.len() <= 64 * 1024);
                seen += chunk.len();
            }
            assert_eq!(seen, total, "{codec}");
        }
    }

    #[tokio::test]
    async fn corrupt_input_is_bad_data_naming_the_file() {
        let garbage: Vec<Result<Bytes, IoError>> = vec![Ok(Bytes::from_static(
            b"\x1f\x8b\x08\0garbage, not gzip at all",
        ))];
        let result: Result<Vec<Bytes>, IoError> = Compression::Gzip
            .decompress(stream::iter(garbage).boxed(), "in.csv.gz")
            .try_collect()
            .await;
        let error = result.expect_err("corrupt");
        assert!(
            matches!(&error, IoError::BadData { location, .. } if location == "in.csv.gz"),
            "{error}"
        );
    }
}
