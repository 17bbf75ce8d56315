//! Byte streams under the streaming formats (CSV, NDJSON, Arrow IPC stream): one per input,
//! from stdin or from a whole-object GET, decompressed on the way when the input is
//! compressed, with a peek at the first lines for schema inference that does not read
//! anything twice, a skip of leading lines, and the loop that feeds bytes to a push-based
//! arrow decoder.

use bytes::{Bytes, BytesMut};
use futures::stream::{self, BoxStream};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use tokio_util::io::ReaderStream;

use super::BatchStream;
use super::input::{Input, Reader};
use crate::IoError;
use arrow_array::RecordBatch;

/// The bytes of one input, in order.
pub(crate) type ByteStream = BoxStream<'static, Result<Bytes, IoError>>;

/// At most this much is buffered to find the lines schema inference looks at; a file whose
/// first lines are longer is inferred from what fits.
const PEEK_LIMIT: usize = 16 * 1024 * 1024;

/// Streams the bytes of `input`, decompressed.
///
/// # Errors
///
/// From the storage: [`IoError::NotFound`], [`IoError::Unavailable`].
pub(crate) async fn open(input: &Input) -> Result<ByteStream, IoError> {
    let raw = open_raw(input).await?;
    Ok(input.compression.decompress(raw, &input.name))
}

async fn open_raw(input: &Input) -> Result<ByteStream, IoError> {
    match &input.reader {
        Reader::Stdin => {
            let stream =
                ReaderStream::new(tokio::io::stdin()).map_err(|error| IoError::Unavailable {
                    location: "stdin".into(),
                    message: error.to_string(),
                });
            Ok(stream.boxed())
        }
        Reader::Object { store, path, .. } => {
            let name = input.name.clone();
            let result = store
                .get(path)
                .await
                .map_err(|error| IoError::from_store(&name, error))?;
            Ok(result
                .into_stream()
                .map_err(move |error| IoError::from_store(&name, error))
                .boxed())
        }
    }
}

/// `bytes` without its first `lines` lines (each ended by `\n`).
pub(crate) fn skip_lines(bytes: ByteStream, lines: usize) -> ByteStream {
    if lines == 0 {
        return bytes;
    }
    let mut left = lines;
    bytes
        .try_filter_map(move |chunk: Bytes| {
            let mut start = 0;
            while left > 0 {
                match chunk[start..].iter().position(|&b| b == b'\n') {
                    Some(at) => {
                        start += at + 1;
                        left -= 1;
                    }
                    None => return std::future::ready(Ok(None)),
                }
            }
            let rest = chunk.slice(start..);
            std::future::ready(Ok((!rest.is_empty()).then_some(rest)))
        })
        .boxed()
}

/// Every record of `bytes` through a blocking reader, for whole-file schema inference: `read`
/// runs on a blocking thread and reads the stream as it arrives.
///
/// # Errors
///
/// Whatever `read` returns; storage errors met while reading, as they were.
pub(crate) async fn read_blocking<T: Send + 'static>(
    bytes: ByteStream,
    name: &str,
    read: impl FnOnce(&mut dyn std::io::BufRead) -> Result<T, IoError> + Send + 'static,
) -> Result<T, IoError> {
    let reader = tokio_util::io::StreamReader::new(bytes.map_err(std::io::Error::other));
    let shown = name.to_string();
    tokio::task::spawn_blocking(move || {
        let mut bridge = std::io::BufReader::new(tokio_util::io::SyncIoBridge::new(reader));
        read(&mut bridge)
    })
    .await
    .map_err(|error| {
        IoError::internal(format!("inferring the schema of {shown} panicked: {error}"))
    })?
}

/// The first lines of a byte stream, kept to be read again.
pub(crate) struct Peeked {
    /// Everything read so far.
    prefix: Bytes,
    /// Whether `prefix` is the whole input.
    complete: bool,
    /// The bytes after `prefix`.
    rest: ByteStream,
}

/// Reads from `bytes` until `lines` newlines (or the end, or [`PEEK_LIMIT`]) are buffered.
///
/// # Errors
///
/// Whatever the stream yields.
pub(crate) async fn peek_lines(mut bytes: ByteStream, lines: usize) -> Result<Peeked, IoError> {
    let mut prefix = BytesMut::new();
    let mut seen = 0;
    while seen < lines && prefix.len() < PEEK_LIMIT {
        match bytes.next().await {
            Some(chunk) => {
                let chunk = chunk?;
                seen += chunk.iter().filter(|&&b| b == b'\n').count();
                prefix.extend_from_slice(&chunk);
            }
            None => {
                return Ok(Peeked {
                    prefix: prefix.freeze(),
                    complete: true,
                    rest: stream::empty().boxed(),
                });
            }
        }
    }
    Ok(Peeked {
        prefix: prefix.freeze(),
        complete: false,
        rest: bytes,
    })
}

impl Peeked {
    /// The peeked bytes cut after the last complete line, unless they are the whole input
    /// (or hold no complete line at all).
    pub(crate) fn head(&self) -> &[u8] {
        if self.complete {
            return &self.prefix;
        }
        match self.prefix.iter().rposition(|&b| b == b'\n') {
            Some(end) => &self.prefix[..=end],
            None => &self.prefix,
        }
    }

    /// The whole input again: the peeked bytes, then the rest.
    pub(crate) fn into_stream(self) -> ByteStream {
        stream::once(async move { Ok(self.prefix) })
            .chain(self.rest)
            .boxed()
    }
}

/// A push-based decoder of one streaming format.
pub(crate) trait Decode: Send + 'static {
    /// Consumes bytes from the front of `buf` (never called with an empty `buf` to mean the
    /// end: that is [`Decode::finish`]); returns a batch once one is complete. Each call
    /// either consumes bytes or returns a batch, or the input cannot make progress.
    fn push(&mut self, buf: &mut Bytes) -> Result<Option<RecordBatch>, IoError>;

    /// The input ended: returns the remaining batches one per call, then `None`.
    fn finish(&mut self) -> Result<Option<RecordBatch>, IoError>;
}

/// Feeds `bytes` through `decoder`. The stream ends after its first error.
pub(crate) fn decode<D: Decode>(bytes: ByteStream, decoder: D, name: String) -> BatchStream {
    struct State<D> {
        bytes: ByteStream,
        decoder: D,
        buf: Bytes,
        eof: bool,
        name: String,
    }
    let state = State {
        bytes,
        decoder,
        buf: Bytes::new(),
        eof: false,
        name,
    };
    stream::try_unfold(state, |mut state| async move {
        loop {
            if state.eof {
                return Ok(state.decoder.finish()?.map(|batch| (batch, state)));
            }
            let before = state.buf.len();
            if let Some(batch) = state.decoder.push(&mut state.buf)? {
                return Ok(Some((batch, state)));
            }
            if state.buf.is_empty() {
                match state.bytes.next().await {
                    Some(chunk) => state.buf = chunk?,
                    None => state.eof = true,
                }
            } else if state.buf.len() == before {
                return Err(IoError::internal(format!(
                    "the decoder of {} stopped consuming input",
                    state.name
                )));
            }
        }
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(parts: &[&'static str]) -> ByteStream {
        let parts: Vec<Result<Bytes, IoError>> = parts
            .iter()
            .map(|p| Ok(Bytes::from_static(p.as_bytes())))
            .collect();
        stream::iter(parts).boxed()
    }

    #[tokio::test]
    async fn peek_keeps_everything_for_the_second_read() {
        let peeked = peek_lines(chunks(&["a,b\n1,", "2\n3,4\n5", ",6\n"]), 2)
            .await
            .expect("peek");
        assert_eq!(peeked.head(), b"a,b\n1,2\n3,4\n");
        let all: Vec<Bytes> = peeked.into_stream().try_collect().await.expect("read");
        assert_eq!(all.concat(), b"a,b\n1,2\n3,4\n5,6\n");
    }

    #[tokio::test]
    async fn skipped_lines_may_span_chunks() {
        let all: Vec<Bytes> = skip_lines(chunks(&["# a\n# b", "b\n#", " c\nx,y\n", "1,2\n"]), 3)
            .try_collect()
            .await
            .expect("read");
        assert_eq!(all.concat(), b"x,y\n1,2\n");
    }

    #[tokio::test]
    async fn peek_of_a_short_input_is_complete() {
        let peeked = peek_lines(chunks(&["a,b\n1,2"]), 10).await.expect("peek");
        assert_eq!(peeked.head(), b"a,b\n1,2");
    }
}
