//! `columns = [...]`: a source yields only the chosen columns, in the chosen order, in every
//! format; from Parquet only their column chunks are fetched, which a store wrapper that
//! counts the bytes of every GET shows.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow_array::{ArrayRef, Float64Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};
use futures::stream::BoxStream;
use quiver_io::object_store::path::Path as ObjectPath;
use quiver_io::object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result as StoreResult,
};
use quiver_io::{IoError, SinkSpec, SourceSpec, Storage};

use crate::{FORMATS, ext, read_all, sample, sink_spec, source_spec, write_all};

/// An `ObjectStore` that counts the bytes every GET returns.
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn ObjectStore>,
    bytes: Arc<AtomicU64>,
}

impl fmt::Display for Counting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait::async_trait]
impl ObjectStore for Counting {
    async fn put_opts(
        &self,
        location: &ObjectPath,
        payload: PutPayload,
        options: PutOptions,
    ) -> StoreResult<PutResult> {
        self.inner.put_opts(location, payload, options).await
    }

    async fn put_multipart_opts(
        &self,
        location: &ObjectPath,
        options: PutMultipartOptions,
    ) -> StoreResult<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, options).await
    }

    async fn get_opts(&self, location: &ObjectPath, options: GetOptions) -> StoreResult<GetResult> {
        let head = options.head;
        let result = self.inner.get_opts(location, options).await?;
        if !head {
            let Range { start, end } = result.range.clone();
            self.bytes.fetch_add(end - start, Ordering::Relaxed);
        }
        Ok(result)
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, StoreResult<ObjectPath>>,
    ) -> BoxStream<'static, StoreResult<ObjectPath>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&ObjectPath>) -> BoxStream<'static, StoreResult<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&ObjectPath>) -> StoreResult<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &ObjectPath,
        to: &ObjectPath,
        options: CopyOptions,
    ) -> StoreResult<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

/// 60 float columns of 50,000 rows: a wide file whose columns are each ~1/60 of it.
fn wide() -> RecordBatch {
    let columns: Vec<ArrayRef> = (0..60)
        .map(|c| {
            Arc::new(Float64Array::from_iter_values(
                (0..50_000).map(|r| ((r * 7919 + c * 104_729) % 1_000_003) as f64 / 7.0),
            )) as ArrayRef
        })
        .collect();
    let schema = Schema::new(
        (0..60)
            .map(|c| Field::new(format!("c{c:02}"), DataType::Float64, false))
            .collect::<Vec<_>>(),
    );
    RecordBatch::try_new(Arc::new(schema), columns).expect("wide batch")
}

#[tokio::test]
async fn columns_fetch_only_their_column_chunks_from_a_wide_parquet_file() {
    let bytes = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&bytes);
    let storage = Storage::from_env().with_layer(move |inner| {
        Arc::new(Counting {
            inner,
            bytes: Arc::clone(&counter),
        })
    });
    let base = std::path::Path::new("/");
    let path = "memory://projection/wide.parquet";
    let mut sink = SinkSpec::new(path);
    sink.parquet.compression = "none".parse().expect("codec");
    write_all(&sink, base, &storage, &[wide()]).await;

    bytes.store(0, Ordering::Relaxed);
    let (_, all) = read_all(&SourceSpec::new(path), base, &storage)
        .await
        .expect("read all");
    let every_column = bytes.swap(0, Ordering::Relaxed);
    assert_eq!(all.num_columns(), 60);

    let mut spec = SourceSpec::new(path);
    spec.columns = Some(vec!["c41".into(), "c07".into()]);
    let (_, two) = read_all(&spec, base, &storage).await.expect("read two");
    let two_columns = bytes.swap(0, Ordering::Relaxed);
    eprintln!("bytes fetched: {every_column} for 60 columns, {two_columns} for 2");
    assert_eq!(two.num_columns(), 2);
    assert_eq!(two.schema().field(0).name(), "c41");
    assert_eq!(two.column(0), all.column(41));
    assert_eq!(two.column(1), all.column(7));
    // Two of sixty equal columns, plus the footer: far below a tenth of the whole read.
    assert!(
        two_columns * 10 < every_column,
        "{two_columns} bytes for 2 columns vs {every_column} for 60"
    );
}

#[tokio::test]
async fn columns_select_and_order_in_every_format() {
    let dir = tempfile::tempdir().expect("tempdir");
    let storage = Storage::from_env();
    for format in FORMATS {
        let name = format!("all.{}", ext(format));
        write_all(
            &sink_spec(&name, format, None),
            dir.path(),
            &storage,
            &sample(),
        )
        .await;
        let mut spec = source_spec(&name);
        spec.columns = Some(vec!["amount".into(), "id".into(), "at".into()]);
        let (_, batch) = read_all(&spec, dir.path(), &storage)
            .await
            .unwrap_or_else(|e| panic!("{format}: {e}"));
        let names: Vec<String> = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["amount", "id", "at"], "{format}");
        let full = arrow_select::concat::concat_batches(&crate::sample_schema(), &sample())
            .expect("concat");
        assert_eq!(batch.column(0), full.column(6), "{format}");
        assert_eq!(batch.column(1), full.column(0), "{format}");

        spec.columns = Some(vec!["id".into(), "colour".into()]);
        let error = crate::read_error(&spec, dir.path(), &storage).await;
        assert!(
            matches!(&error, IoError::Config { key, message } if key == "columns" && message.contains("\"colour\"")),
            "{format}: {error}"
        );
    }
}
