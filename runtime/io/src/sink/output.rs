//! Where one output file's bytes go until commit, and how it becomes visible:
//!
//! - local file: a hidden temporary file in the target's directory
//!   (`.name.<random>.partial`), fsynced when the file is finished, renamed over the target
//!   at commit (without replacing an existing file in `error_if_exists` mode), then the
//!   directory is fsynced. Dropped before commit, the temporary file is deleted; a process
//!   killed with SIGKILL leaves only the hidden `.partial` file, never a partial target.
//! - object store: a multipart upload, completed only at commit and aborted on abort or
//!   drop. Until completion no object is visible. A process killed before commit leaves an
//!   incomplete upload that is invisible but billed: give the bucket a lifecycle rule that
//!   deletes incomplete multipart uploads (S3 `AbortIncompleteMultipartUpload`, GCS and
//!   Azure likewise) to have them garbage-collected.
//! - stdout: bytes are written as they come; nothing can be taken back, so stdout output is
//!   not atomic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, WriteMultipart};
use tempfile::TempPath;
use tokio::io::AsyncWriteExt;

use crate::IoError;

/// Part uploads in flight per multipart upload.
const UPLOAD_CONCURRENCY: usize = 4;

/// An output being written.
pub(crate) enum Output {
    /// A local temporary file.
    Local(LocalTemp),
    /// An object store multipart upload.
    Upload(Upload),
    /// The process's stdout.
    Stdout(tokio::io::Stdout),
}

/// A finished output waiting for commit.
pub(crate) enum Pending {
    /// A synced and closed temporary file, renamed at commit.
    Local(LocalDone),
    /// An upload with every part sent, completed at commit.
    Upload(Upload),
    /// Stdout, flushed at commit.
    Stdout(tokio::io::Stdout),
}

impl Output {
    /// Starts a local file that will become `target` (display name `name`).
    pub(crate) async fn local(target: PathBuf, name: String) -> Result<Output, IoError> {
        let dir = target.parent().map(Path::to_path_buf).unwrap_or_default();
        let file_name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let shown = name.clone();
        let created = tokio::task::spawn_blocking(move || {
            let prefix = format!(".{file_name}.");
            let mut builder = tempfile::Builder::new();
            builder.prefix(&prefix).suffix(".partial").rand_bytes(8);
            // The default 0600 would survive the rename; 0666 minus the umask is what any
            // other newly created file gets.
            #[cfg(unix)]
            builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
            builder.tempfile_in(&dir)
        })
        .await
        .map_err(|e| IoError::internal(format!("creating a file for {shown} panicked: {e}")))?
        .map_err(|e| IoError::from_fs(&name, "cannot create a temporary file beside it", e))?;
        let (file, temp) = created.into_parts();
        Ok(Output::Local(LocalTemp {
            file: tokio::fs::File::from_std(file),
            temp,
            target,
            name,
        }))
    }

    /// Starts a multipart upload to `path` of `store` (display name `name`).
    pub(crate) async fn upload(
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        name: String,
    ) -> Result<Output, IoError> {
        let upload = store
            .put_multipart(&path)
            .await
            .map_err(|error| IoError::from_store(&name, error))?;
        Ok(Output::Upload(Upload {
            writer: Some(WriteMultipart::new(upload)),
            name,
        }))
    }

    /// Appends `bytes`.
    pub(crate) async fn write(&mut self, bytes: Bytes) -> Result<(), IoError> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self {
            Output::Local(local) => local
                .file
                .write_all(&bytes)
                .await
                .map_err(|e| IoError::from_fs(&local.name, "cannot write", e)),
            Output::Upload(upload) => {
                let Some(writer) = upload.writer.as_mut() else {
                    return Err(IoError::internal("write after the upload ended"));
                };
                writer.put(bytes);
                writer
                    .wait_for_capacity(UPLOAD_CONCURRENCY)
                    .await
                    .map_err(|error| IoError::from_store(&upload.name, error))
            }
            Output::Stdout(stdout) => {
                stdout
                    .write_all(&bytes)
                    .await
                    .map_err(|e| IoError::Unavailable {
                        location: "stdout".into(),
                        message: e.to_string(),
                    })
            }
        }
    }

    /// Ends writing: a local file is flushed and fsynced. Nothing becomes visible.
    pub(crate) async fn finish(self) -> Result<Pending, IoError> {
        match self {
            Output::Local(local) => {
                let LocalTemp {
                    mut file,
                    temp,
                    target,
                    name,
                } = local;
                let synced = async {
                    file.flush().await?;
                    file.sync_all().await
                };
                synced
                    .await
                    .map_err(|e| IoError::from_fs(&name, "cannot write", e))?;
                // Closed now: a directory of many parts must not hold a descriptor per part.
                drop(file);
                Ok(Pending::Local(LocalDone { temp, target, name }))
            }
            Output::Upload(upload) => Ok(Pending::Upload(upload)),
            Output::Stdout(stdout) => Ok(Pending::Stdout(stdout)),
        }
    }
}

impl Pending {
    /// Makes the output visible. With `no_clobber`, a local file that appeared at the target
    /// meanwhile is not replaced ([`IoError::Exists`]).
    pub(crate) async fn commit(self, no_clobber: bool) -> Result<(), IoError> {
        match self {
            Pending::Local(local) => local.commit(no_clobber).await,
            Pending::Upload(mut upload) => {
                let Some(writer) = upload.writer.take() else {
                    return Err(IoError::internal("commit after the upload ended"));
                };
                writer
                    .finish()
                    .await
                    .map(drop)
                    .map_err(|error| IoError::from_store(&upload.name, error))
            }
            Pending::Stdout(mut stdout) => stdout.flush().await.map_err(|e| IoError::Unavailable {
                location: "stdout".into(),
                message: e.to_string(),
            }),
        }
    }

    /// Discards the output: deletes the temporary file or aborts the upload.
    pub(crate) async fn abort(self) -> Result<(), IoError> {
        match self {
            Pending::Local(local) => {
                drop(local);
                Ok(())
            }
            Pending::Upload(upload) => upload.abort().await,
            Pending::Stdout(_) => Ok(()),
        }
    }
}

impl Output {
    /// Discards the output, as [`Pending::abort`].
    pub(crate) async fn abort(self) -> Result<(), IoError> {
        match self {
            Output::Local(local) => {
                drop(local);
                Ok(())
            }
            Output::Upload(upload) => upload.abort().await,
            Output::Stdout(_) => Ok(()),
        }
    }
}

/// A temporary file becoming `target`. Deleted when dropped before commit.
pub(crate) struct LocalTemp {
    file: tokio::fs::File,
    temp: TempPath,
    target: PathBuf,
    name: String,
}

/// A finished temporary file. Deleted when dropped before commit.
pub(crate) struct LocalDone {
    temp: TempPath,
    target: PathBuf,
    name: String,
}

impl LocalDone {
    async fn commit(self, no_clobber: bool) -> Result<(), IoError> {
        let LocalDone { temp, target, name } = self;
        let shown = name.clone();
        let renamed = tokio::task::spawn_blocking(move || {
            let persisted = if no_clobber {
                temp.persist_noclobber(&target)
            } else {
                temp.persist(&target)
            };
            // The error's `TempPath` is dropped here, deleting the temporary file.
            persisted.map_err(|e| e.error)?;
            // The rename is durable only once the directory entry is.
            if let Some(dir) = target.parent() {
                std::fs::File::open(dir)?.sync_all()?;
            }
            Ok::<(), std::io::Error>(())
        })
        .await
        .map_err(|e| IoError::internal(format!("renaming {shown} panicked: {e}")))?;
        renamed.map_err(|e| IoError::from_fs(&name, "cannot move the finished file into place", e))
    }
}

/// A multipart upload; aborted when dropped before commit.
pub(crate) struct Upload {
    /// `None` once completed or aborted.
    writer: Option<WriteMultipart>,
    name: String,
}

impl Upload {
    async fn abort(mut self) -> Result<(), IoError> {
        match self.writer.take() {
            Some(writer) => writer
                .abort()
                .await
                .map_err(|error| IoError::from_store(&self.name, error)),
            None => Ok(()),
        }
    }
}

impl Drop for Upload {
    /// Drop cannot wait: the abort request is sent from a task on the current runtime. If
    /// there is none, or the runtime stops first, the upload stays incomplete, which is
    /// invisible (see the module documentation for the lifecycle rule that removes it).
    fn drop(&mut self) {
        if let Some(writer) = self.writer.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let name = std::mem::take(&mut self.name);
            runtime.spawn(async move {
                if let Err(error) = writer.abort().await {
                    tracing::warn!(output = %name, %error, "could not abort a multipart upload");
                }
            });
        }
    }
}
