//! Arrow IPC inputs. Files are read with ranged requests: the trailer and footer first
//! (schema and the offsets of every block), then the dictionaries, then one record batch per
//! request, so memory holds one batch, not the file, and a glob's schemas are checked
//! before any data moves. Streams (`.arrows`, stdin) go through arrow's push decoder. Batches
//! come out as they were written: `batch_rows` does not re-chunk them. `columns` is applied
//! to each decoded batch (an IPC file's buffers sit next to each other in one block).

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::Block;
use arrow_ipc::convert::try_fb_to_schema;
use arrow_ipc::reader::{FileDecoder, StreamDecoder, read_footer_length};
use arrow_schema::{ArrowError, SchemaRef};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt, stream};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};

use super::bytes::{self as raw, ByteStream, Decode};
use super::input::{Input, Reader};
use super::{First, Opened, Settings, check_schema, conform, project_schema, projection};
use crate::IoError;

/// `ARROW1`, padded to 8 bytes, opens a file; `<footer length: i32><ARROW1>` closes it.
const LEADING_MAGIC: u64 = 8;
const TRAILER: u64 = 10;

/// Opens `input` as an Arrow IPC file; `first` is the first input of the same source, if
/// this is not it.
pub(crate) async fn open_file(
    input: &Input,
    settings: &Settings,
    first: Option<&First>,
) -> Result<Opened, IoError> {
    let Reader::Object { store, path, size } = &input.reader else {
        return Err(IoError::internal(
            "an Arrow file from stdin passed the format check",
        ));
    };
    let name = input.name.clone();
    let bad = |message: String| IoError::bad_data(&name, message);
    let size = *size;
    if size < LEADING_MAGIC + TRAILER {
        return Err(bad(format!(
            "{size} bytes is too short for an Arrow IPC file"
        )));
    }
    let fetch = Fetch {
        store: Arc::clone(store),
        path: path.clone(),
        name: name.clone(),
    };
    let trailer = fetch.range(size - TRAILER, size).await?;
    let trailer: [u8; 10] = trailer
        .as_ref()
        .try_into()
        .map_err(|_| bad("the file ended early".into()))?;
    let footer_len = read_footer_length(trailer).map_err(|e| bad(not_arrow(e)))?;
    let footer_start = (size - TRAILER)
        .checked_sub(footer_len as u64)
        .filter(|&start| start >= LEADING_MAGIC)
        .ok_or_else(|| bad(format!("the footer length {footer_len} exceeds the file")))?;
    let footer_bytes = fetch.range(footer_start, size - TRAILER).await?;
    let footer = arrow_ipc::root_as_footer(&footer_bytes)
        .map_err(|e| bad(format!("not an Arrow IPC file: unreadable footer: {e}")))?;
    let ipc_schema = footer
        .schema()
        .ok_or_else(|| bad("not an Arrow IPC file: the footer has no schema".into()))?;
    if !ipc_schema.endianness().equals_to_target_endianness() {
        return Err(bad(
            "the file is big-endian, which this platform cannot read".into(),
        ));
    }
    let schema: SchemaRef = Arc::new(try_fb_to_schema(ipc_schema).map_err(|e| bad(not_arrow(e)))?);
    let version = footer.version();
    let dictionaries: Vec<Block> = footer
        .dictionaries()
        .map(|blocks| blocks.iter().copied().collect())
        .unwrap_or_default();
    let blocks: Vec<Block> = footer
        .recordBatches()
        .map(|blocks| blocks.iter().copied().collect())
        .unwrap_or_default();

    let indices = projection(&schema, settings.columns.as_deref(), &name)?;
    let target = match first {
        Some(first) => {
            check_schema(first, &schema, &name)?;
            Arc::clone(&first.schema)
        }
        None => project_schema(&schema, &indices)?,
    };
    let mut decoder = FileDecoder::new(Arc::clone(&schema), version);
    if indices.len() != schema.fields().len() {
        decoder = decoder.with_projection(indices);
    }
    for block in &dictionaries {
        let data = fetch.block(block, footer_start).await?;
        decoder
            .read_dictionary(block, &data)
            .map_err(|e| bad(format!("bad dictionary: {e}")))?;
    }
    let decoder = Arc::new(decoder);
    let conform_to = Arc::clone(&target);
    let batches = stream::iter(blocks.into_iter().enumerate())
        .then(move |(index, block)| {
            let fetch = fetch.clone();
            let decoder = Arc::clone(&decoder);
            let conform_to = Arc::clone(&conform_to);
            async move {
                let data = fetch.block(&block, footer_start).await?;
                let batch = decoder.read_record_batch(&block, &data).map_err(|e| {
                    IoError::bad_data(&fetch.name, format!("bad record batch {}: {e}", index + 1))
                })?;
                match batch {
                    Some(batch) => conform(&conform_to, batch).map(Some),
                    None => Ok(None),
                }
            }
        })
        .try_filter_map(|batch| std::future::ready(Ok(batch)))
        .boxed();
    Ok(Opened {
        file_schema: schema,
        schema: target,
        header: None,
        batches,
    })
}

fn not_arrow(error: ArrowError) -> String {
    format!("not an Arrow IPC file: {error}")
}

/// Ranged reads of one object.
#[derive(Clone)]
struct Fetch {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    name: String,
}

impl Fetch {
    async fn range(&self, start: u64, end: u64) -> Result<Bytes, IoError> {
        self.store
            .get_range(&self.path, start..end)
            .await
            .map_err(|error| IoError::from_store(&self.name, error))
    }

    /// The bytes of `block`, which the footer (at `limit`) says where to find.
    async fn block(&self, block: &Block, limit: u64) -> Result<Buffer, IoError> {
        let range = u64::try_from(block.offset()).ok().and_then(|start| {
            let meta = u64::try_from(block.metaDataLength()).ok()?;
            let body = u64::try_from(block.bodyLength()).ok()?;
            let end = start.checked_add(meta)?.checked_add(body)?;
            (start >= LEADING_MAGIC && end <= limit && end > start).then_some(start..end)
        });
        let Some(range) = range else {
            return Err(IoError::bad_data(
                &self.name,
                "a block of the footer points outside the file",
            ));
        };
        Ok(Buffer::from(self.range(range.start, range.end).await?))
    }
}

/// Opens `input` as an Arrow IPC stream; `first` is the first input of the same source, if
/// this is not it.
pub(crate) async fn open_stream(
    input: &Input,
    settings: &Settings,
    first: Option<&First>,
) -> Result<Opened, IoError> {
    let mut bytes = raw::open(input).await?;
    let mut decoder = IpcStreamDecode {
        decoder: StreamDecoder::new(),
        pending: Buffer::from(Vec::<u8>::new()),
        queued: None,
        decoded: 0,
        name: input.name.clone(),
    };
    let schema = decoder.prime(&mut bytes).await?;
    let indices = projection(&schema, settings.columns.as_deref(), &input.name)?;
    let target = match first {
        Some(first) => {
            check_schema(first, &schema, &input.name)?;
            Arc::clone(&first.schema)
        }
        None => project_schema(&schema, &indices)?,
    };
    let conform_to = Arc::clone(&target);
    let whole = indices.len() == schema.fields().len();
    let batches = raw::decode(bytes, decoder, input.name.clone())
        .and_then(move |batch| {
            let batch = if whole {
                Ok(batch)
            } else {
                batch
                    .project(&indices)
                    .map_err(|e| IoError::internal(format!("projecting a batch: {e}")))
            };
            std::future::ready(batch.and_then(|batch| conform(&conform_to, batch)))
        })
        .boxed();
    Ok(Opened {
        file_schema: schema,
        schema: target,
        header: None,
        batches,
    })
}

/// arrow-ipc's stream decoder, holding the unread rest of a chunk between batches.
struct IpcStreamDecode {
    decoder: StreamDecoder,
    /// Bytes received but not yet given to the decoder.
    pending: Buffer,
    /// A batch decoded while looking for the schema.
    queued: Option<RecordBatch>,
    /// Batches returned so far, to say which one is bad.
    decoded: u64,
    name: String,
}

impl IpcStreamDecode {
    /// Reads until the schema message has been decoded.
    async fn prime(&mut self, bytes: &mut ByteStream) -> Result<SchemaRef, IoError> {
        loop {
            if let Some(schema) = self.decoder.schema() {
                return Ok(schema);
            }
            match bytes.next().await {
                Some(chunk) => {
                    self.pending = Buffer::from(chunk?);
                    self.queued = self.step()?;
                }
                None => {
                    return Err(IoError::bad_data(
                        &self.name,
                        "not an Arrow IPC stream: it ends before its schema",
                    ));
                }
            }
        }
    }

    fn step(&mut self) -> Result<Option<RecordBatch>, IoError> {
        let batch = self.decoder.decode(&mut self.pending).map_err(|error| {
            IoError::bad_data(
                &self.name,
                format!(
                    "bad Arrow IPC stream at batch {}: {error}",
                    self.decoded + 1
                ),
            )
        })?;
        self.decoded += u64::from(batch.is_some());
        Ok(batch)
    }
}

impl Decode for IpcStreamDecode {
    fn push(&mut self, buf: &mut Bytes) -> Result<Option<RecordBatch>, IoError> {
        if let Some(batch) = self.queued.take() {
            return Ok(Some(batch));
        }
        // `step` consumes all of `pending` unless it returns a batch.
        loop {
            if self.pending.is_empty() {
                if buf.is_empty() {
                    return Ok(None);
                }
                self.pending = Buffer::from(std::mem::take(buf));
            }
            if let Some(batch) = self.step()? {
                return Ok(Some(batch));
            }
        }
    }

    fn finish(&mut self) -> Result<Option<RecordBatch>, IoError> {
        if let Some(batch) = self.queued.take() {
            return Ok(Some(batch));
        }
        if !self.pending.is_empty()
            && let Some(batch) = self.step()?
        {
            return Ok(Some(batch));
        }
        self.decoder.finish().map_err(|error| {
            IoError::bad_data(
                &self.name,
                format!("the Arrow IPC stream is cut short: {error}"),
            )
        })?;
        Ok(None)
    }
}
