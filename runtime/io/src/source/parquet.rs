//! Parquet inputs, read with ranged requests (footer first, then the column chunks of one
//! row group at a time) through parquet's async reader over `object_store`. With `columns`,
//! only the chosen columns' chunks are fetched.
//!
//! Why ranged and not whole-object: Parquet files are routinely larger than memory, and the
//! footer alone yields the schema, so a glob's schemas are checked before any data moves.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use super::input::{Input, Reader};
use super::{First, Opened, Settings, check_schema, conform, project_schema, projection};
use crate::IoError;

/// Opens `input` as Parquet; `first` is the first input of the same source, if this is not it.
pub(crate) async fn open(
    input: &Input,
    settings: &Settings,
    first: Option<&First>,
) -> Result<Opened, IoError> {
    let Reader::Object { store, path, size } = &input.reader else {
        return Err(IoError::internal(
            "Parquet from stdin passed the format check",
        ));
    };
    let reader = ObjectReader {
        store: Arc::clone(store),
        path: path.clone(),
        size: *size,
    };
    let builder = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|error| classify(&input.name, error))?;
    let file_schema = Arc::clone(builder.schema());
    let indices = projection(&file_schema, settings.columns.as_deref(), &input.name)?;
    let schema = match first {
        Some(first) => {
            check_schema(first, &file_schema, &input.name)?;
            Arc::clone(&first.schema)
        }
        None => project_schema(&file_schema, &indices)?,
    };
    let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
    let mut builder = builder;
    if let Some(groups) = &settings.row_groups {
        let have = builder.metadata().num_row_groups();
        if let Some(bad) = groups.iter().find(|&&g| g >= have) {
            return Err(IoError::config(
                "row_groups",
                format!(
                    "row group {bad} does not exist: {} has {have} (numbered from 0)",
                    input.name
                ),
            ));
        }
        builder = builder.with_row_groups(groups.clone());
    }
    let batches = builder
        .with_batch_size(settings.batch_rows)
        .with_projection(mask)
        .build()
        .map_err(|error| classify(&input.name, error))?;
    let name = input.name.clone();
    let target = Arc::clone(&schema);
    let batches = batches
        .map_err(move |error| classify(&name, error))
        .and_then(move |batch| std::future::ready(conform(&target, batch)))
        .boxed();
    Ok(Opened {
        file_schema,
        schema,
        header: None,
        batches,
    })
}

/// The compressed bytes of each row group of the Parquet `input` (its footer only).
pub(crate) async fn row_group_bytes(input: &Input) -> Result<Vec<u64>, IoError> {
    let Reader::Object { store, path, size } = &input.reader else {
        return Err(IoError::internal("row groups of a Parquet stdin"));
    };
    let mut reader = ObjectReader {
        store: Arc::clone(store),
        path: path.clone(),
        size: *size,
    };
    let metadata = reader
        .get_metadata(None)
        .await
        .map_err(|error| classify(&input.name, error))?;
    Ok(metadata
        .row_groups()
        .iter()
        .map(|g| u64::try_from(g.compressed_size()).unwrap_or(0))
        .collect())
}

/// Parquet's view of one object: ranged GETs. (parquet 60 deprecated its own
/// `ParquetObjectReader` in favour of implementing this trait.)
struct ObjectReader {
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
    /// Known from the listing or HEAD, so the footer is found without a suffix request.
    size: u64,
}

/// Bytes read with the first request at the end of the file: usually the whole footer.
const FOOTER_PREFETCH: usize = 64 * 1024;

impl AsyncFileReader for ObjectReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.path, range)
                .await
                .map_err(|error| ParquetError::External(Box::new(error)))
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        // `get_ranges` coalesces nearby ranges into fewer requests.
        async move {
            self.store
                .get_ranges(&self.path, &ranges)
                .await
                .map_err(|error| ParquetError::External(Box::new(error)))
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_metadata_options(options.map(|o| o.metadata_options().clone()))
                .with_prefetch_hint(Some(FOOTER_PREFETCH))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

/// Storage errors stay storage errors; everything else parquet says is about the file.
fn classify(name: &str, error: ParquetError) -> IoError {
    match error {
        ParquetError::External(source) => match source.downcast::<object_store::Error>() {
            Ok(store) => IoError::from_store(name, *store),
            Err(other) => IoError::bad_data(name, format!("invalid Parquet: {other}")),
        },
        other => IoError::bad_data(name, format!("invalid Parquet: {other}")),
    }
}
