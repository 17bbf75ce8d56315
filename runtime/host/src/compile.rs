//! Compiling a component under a budget: a shape check first, a bounded number of compiles
//! at once, and a wall-time limit after which the compile is killed and its CPU released.
//!
//! wasmtime cannot cancel a compile running on a thread, so the budget is enforced by
//! compiling in a child process: the host re-executes its own binary (the `quiver` CLI, or
//! whatever [`CompileBudget::worker`] names) with [`WORKER_ARG`] and a [`WorkerRequest`];
//! the binary's `main` runs it ([`WorkerRequest::run`]: an engine of the very same
//! configuration precompiles the component to an artifact file) and exits.
//! The parent loads that artifact (`Component::deserialize_file`, which checks wasmtime's
//! version and engine compatibility) or, past the budget, kills the child. The worker's
//! `main` also ends it shortly after the budget and when its parent goes away (its stdin, a
//! pipe the parent holds, reaches end of file), so a crashed host leaves no compile behind.
//!
//! Without a worker (a library user, the test binaries) the compile runs in-process: the
//! shape check and the concurrency bound still hold, the wall-time budget cannot.
//!
//! Nothing reaches the compiled-plugin cache from here: the artifact is committed by
//! `plugin.rs` only after the component proved to be a usable plugin (`cache::commit`), so a
//! refused upload leaves nothing behind.

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use wasmtime::Engine;
use wasmtime::component::Component;

use crate::error::LoadError;
use crate::runtime::{MemoryInit, Metering, RuntimeConfig, engine_config};
use crate::shape::{ShapeError, ShapeLimits, check};

/// The first argument that makes a host binary a compile worker (see [`worker_main`]).
pub const WORKER_ARG: &str = "__quiver-compile-worker";

/// The worker's exit code when it stopped itself at its budget (plus a grace period, so the
/// parent normally kills it first).
pub const WORKER_OUT_OF_TIME: u8 = 3;

/// How compiles are bounded.
#[derive(Debug, Clone)]
pub struct CompileBudget {
    /// Limits on the shape of each core function, checked before compiling.
    pub shape: ShapeLimits,
    /// Most compiles running at once in the process; more wait their turn.
    pub jobs: usize,
    /// Wall time one compile may take before it is killed (enforced only with a worker).
    pub timeout: Duration,
    /// The executable run (with [`WORKER_ARG`]) to compile in a child process; `None`
    /// compiles in-process.
    pub worker: Option<PathBuf>,
}

impl Default for CompileBudget {
    fn default() -> Self {
        Self {
            shape: ShapeLimits::default(),
            jobs: std::thread::available_parallelism().map_or(1, usize::from),
            timeout: Duration::from_secs(120),
            worker: None,
        }
    }
}

/// A counting semaphore for compile slots.
#[derive(Debug)]
pub(crate) struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
}

/// A held compile slot; released on drop.
pub(crate) struct Slot<'a>(&'a Slots);

impl Slots {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            free: Mutex::new(n.max(1)),
            freed: Condvar::new(),
        }
    }

    fn acquire(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .freed
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

/// A compiled component and what the cache needs to keep it.
pub(crate) struct Compiled {
    pub(crate) component: Component,
    /// The artifact file a worker wrote (in a temporary directory removed on drop);
    /// `None` when compiled in-process (the cache then serializes the component).
    pub(crate) artifact: Option<(tempfile::TempDir, PathBuf)>,
}

/// Check `bytes`' shape, wait for a compile slot, and compile within the budget.
pub(crate) fn compile(
    engine: &Engine,
    config: &RuntimeConfig,
    (metering, init): (Metering, MemoryInit),
    slots: &Slots,
    bytes: &[u8],
    origin: &str,
) -> Result<Compiled, LoadError> {
    let budget = &config.compile;
    check(bytes, &budget.shape).map_err(|e| match e {
        ShapeError::Invalid(reason) => LoadError::NotAComponent {
            origin: origin.to_owned(),
            reason,
        },
        too_large @ ShapeError::TooLarge { .. } => LoadError::Refused {
            origin: origin.to_owned(),
            reason: too_large.to_string(),
        },
    })?;
    let _slot = slots.acquire();
    let Some(worker) = &budget.worker else {
        let component = Component::new(engine, bytes).map_err(|e| LoadError::NotAComponent {
            origin: origin.to_owned(),
            reason: format!("{e:?}"),
        })?;
        return Ok(Compiled {
            component,
            artifact: None,
        });
    };
    in_worker(engine, config, (metering, init), worker, bytes, origin)
}

fn in_worker(
    engine: &Engine,
    config: &RuntimeConfig,
    (metering, memory_init): (Metering, MemoryInit),
    worker: &Path,
    bytes: &[u8],
    origin: &str,
) -> Result<Compiled, LoadError> {
    let budget = config.compile.timeout;
    let engine_err = |what: &str, e: &dyn std::fmt::Display| {
        LoadError::Engine(format!("{what} to compile {origin}: {e}"))
    };
    let parent = config.cache_dir.clone().unwrap_or_else(std::env::temp_dir);
    std::fs::create_dir_all(&parent).map_err(|e| engine_err("cannot create the folder", &e))?;
    let dir = tempfile::Builder::new()
        .prefix(".compile-")
        .tempdir_in(&parent)
        .map_err(|e| engine_err("cannot make a temporary folder", &e))?;
    let input = dir.path().join("component.wasm");
    let output = dir.path().join("component.cwasm");
    std::fs::write(&input, bytes).map_err(|e| engine_err("cannot write the component", &e))?;

    let request = WorkerRequest {
        metering,
        memory_init,
        max_instances: config.max_instances,
        max_memory: config.ceiling.memory.0,
        timeout: budget,
        input,
        output: output.clone(),
    };
    let mut child = Command::new(worker)
        .arg(WORKER_ARG)
        .args(request.to_args())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| engine_err(&format!("cannot start {}", worker.display()), &e))?;
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= budget => {
                // Kill first, then reap: the CPU is released before the caller hears back.
                let _ = child.kill();
                let _ = child.wait();
                tracing::warn!(plugin = %origin, budget = ?budget, "compile abandoned at its budget");
                return Err(LoadError::CompileTimeout {
                    origin: origin.to_owned(),
                    budget,
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(engine_err("cannot wait for the compile worker", &e)),
        }
    };
    drop(child.stdin.take());
    if status.code() == Some(i32::from(WORKER_OUT_OF_TIME)) {
        return Err(LoadError::CompileTimeout {
            origin: origin.to_owned(),
            budget,
        });
    }
    if !status.success() {
        // The worker's one line of error, bounded (it prints nothing else).
        let mut message = String::new();
        if let Some(stderr) = child.stderr.take() {
            let _ = stderr.take(64 << 10).read_to_string(&mut message);
        }
        let message = message.trim();
        return Err(LoadError::NotAComponent {
            origin: origin.to_owned(),
            reason: if message.is_empty() {
                format!("the compile worker ended with {status}")
            } else {
                message.to_owned()
            },
        });
    }
    // SAFETY: the artifact was written by our own executable's worker mode from
    // `Engine::precompile_component` with an engine built by the same `engine_config`, into a
    // private temporary folder; wasmtime checks its header, version and the engine's
    // compatibility before using it.
    let component = unsafe { Component::deserialize_file(engine, &output) }
        .map_err(|e| engine_err("cannot load the compiled artifact", &e))?;
    Ok(Compiled {
        component,
        artifact: Some((dir, output)),
    })
}

/// One compile handed to a worker process: what it compiles, for which engine, by when.
/// [`Self::to_args`] and [`Self::from_args`] are the worker's command line (after
/// [`WORKER_ARG`]); the binary that serves as worker calls [`Self::run`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerRequest {
    /// The engine the artifact is for: metered by fuel or not,
    pub metering: Metering,
    /// and with memory images mapped or copied.
    pub memory_init: MemoryInit,
    /// `RuntimeConfig::max_instances` of the parent (it shapes the engine).
    pub max_instances: u32,
    /// `RuntimeConfig::ceiling.memory` of the parent, in bytes (it shapes the engine).
    pub max_memory: u64,
    /// The parent's budget: the worker should end itself shortly after it.
    pub timeout: Duration,
    /// The component to compile.
    pub input: PathBuf,
    /// Where the artifact goes.
    pub output: PathBuf,
}

impl WorkerRequest {
    /// The worker's arguments after [`WORKER_ARG`].
    pub fn to_args(&self) -> Vec<OsString> {
        vec![
            match self.metering {
                Metering::Epoch => "epoch".into(),
                Metering::Fuel => "fuel".into(),
            },
            match self.memory_init {
                MemoryInit::Cow => "cow".into(),
                MemoryInit::Copy => "copy".into(),
            },
            self.max_instances.to_string().into(),
            self.max_memory.to_string().into(),
            self.timeout.as_millis().to_string().into(),
            self.input.clone().into_os_string(),
            self.output.clone().into_os_string(),
        ]
    }

    /// Read the worker's arguments (those after [`WORKER_ARG`]).
    ///
    /// # Errors
    /// A usage message when they are not what [`Self::to_args`] writes.
    pub fn from_args(args: &[OsString]) -> Result<Self, String> {
        let usage = || {
            format!(
                "usage: {WORKER_ARG} epoch|fuel cow|copy MAX_INSTANCES MAX_MEMORY TIMEOUT_MS IN OUT"
            )
        };
        let [
            metering,
            memory_init,
            instances,
            memory,
            timeout_ms,
            input,
            output,
        ] = args
        else {
            return Err(usage());
        };
        let number = |s: &OsString| s.to_str().and_then(|s| s.parse::<u64>().ok());
        let (Some(instances), Some(max_memory), Some(timeout_ms)) =
            (number(instances), number(memory), number(timeout_ms))
        else {
            return Err(usage());
        };
        let metering = match metering.to_str() {
            Some("epoch") => Metering::Epoch,
            Some("fuel") => Metering::Fuel,
            _ => return Err(usage()),
        };
        let memory_init = match memory_init.to_str() {
            Some("cow") => MemoryInit::Cow,
            Some("copy") => MemoryInit::Copy,
            _ => return Err(usage()),
        };
        Ok(Self {
            metering,
            memory_init,
            max_instances: u32::try_from(instances).map_err(|_| usage())?,
            max_memory,
            timeout: Duration::from_millis(timeout_ms),
            input: input.into(),
            output: output.into(),
        })
    }

    /// Compile: build the engine the parent uses, precompile the input, write the artifact.
    ///
    /// # Errors
    /// Why the component does not compile (or a file cannot be read or written).
    pub fn run(&self) -> Result<(), String> {
        let mut config = RuntimeConfig {
            cache_dir: None,
            max_instances: self.max_instances,
            ..RuntimeConfig::default()
        };
        config.ceiling.memory = bytesize::ByteSize(self.max_memory);
        Engine::new(&engine_config(&config, self.metering, self.memory_init))
            .and_then(|engine| {
                let bytes = std::fs::read(&self.input)?;
                engine.precompile_component(&bytes)
            })
            .and_then(|artifact| Ok(std::fs::write(&self.output, artifact)?))
            .map_err(|e| format!("{e:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_request_round_trips_through_its_arguments() {
        let request = WorkerRequest {
            metering: Metering::Fuel,
            memory_init: MemoryInit::Copy,
            max_instances: 256,
            max_memory: 4 << 30,
            timeout: Duration::from_millis(120_000),
            input: "/tmp/a b/component.wasm".into(),
            output: "/tmp/a b/component.cwasm".into(),
        };
        assert_eq!(WorkerRequest::from_args(&request.to_args()), Ok(request));
        let err = WorkerRequest::from_args(&["epoch".into()]).unwrap_err();
        assert!(err.starts_with("usage: __quiver-compile-worker"), "{err}");
    }

    #[test]
    fn slots_bound_how_many_compiles_run_at_once() {
        let slots = std::sync::Arc::new(Slots::new(2));
        let running = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let most = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (slots, running, most) = (slots.clone(), running.clone(), most.clone());
                std::thread::spawn(move || {
                    let _slot = slots.acquire();
                    let now = running.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    most.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    running.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(most.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
