//! The process-wide [`Runtime`]: the wasmtime engines, their `Linker`s and epoch tickers.
//!
//! There is one engine per process for ordinary plugins, configured once: the pooling
//! allocator (instantiation in tens of microseconds, measured in
//! `../shared/design/BOUNDARY.md`), epoch interruption (a deadline on every guest call) and a
//! linker that offers the Quiver host imports plus a WASI whose every capability is denied
//! unless a grant says otherwise (`sandbox.rs`). A second engine, with fuel metering on top,
//! is built the first time a stage asks for a fuel budget: metering costs 13–21% of compute
//! (BOUNDARY.md) and code compiled with it differs, so plugins that do not need it never pay.
//! Each of the two comes in a second kind for big components (the Python interpreter with
//! its pre-initialised heap), built on first use: their linear memory is copied at
//! instantiation instead of mapped copy-on-write ([`MemoryInit`], with the measurements
//! that decided it).
//! Plugins are loaded through [`Runtime::load_file`] / [`Runtime::load_bytes`] (see
//! `plugin.rs`) and compiled under the budget of `compile.rs`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings;
use crate::compile::{CompileBudget, Slots};
use crate::error::LoadError;
use crate::limits::Limits;
use crate::state::StoreState;

/// How the process-wide engine is set up.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Directory of the compiled-plugin cache; `None` disables it. Entries are keyed by the
    /// component's sha256 and the engine's compatibility hash (wasmtime version + settings).
    pub cache_dir: Option<PathBuf>,
    /// Period of the epoch ticker: the resolution of every call deadline.
    pub epoch_tick: Duration,
    /// Most plugin instances alive at once in the process (slots of the pooling allocator).
    pub max_instances: u32,
    /// The operator's ceiling: no stage may ask for more than these limits (a stage's
    /// `fuel` must also stay under a ceiling `fuel` when one is set). `ceiling.memory` also
    /// sizes the pooling allocator's memory slots.
    pub ceiling: Limits,
    /// How compiles are bounded: shape limits, concurrency, wall time, worker process.
    pub compile: CompileBudget,
    /// Bytes the compiled-plugin cache may hold; the least recently used entries go first.
    pub cache_max_bytes: u64,
    /// Components of at least this many bytes get their memory copied at instantiation
    /// ([`MemoryInit::Copy`]); smaller ones map it copy-on-write. `u64::MAX`: never copy.
    pub copy_memory_from_bytes: u64,
}

/// How an instance's linear memory gets the contents the component starts with.
///
/// Copy-on-write (wasmtime's default) makes instantiation cost microseconds, but a page
/// first read and later written costs a private copy *and* a TLB shootdown (an
/// inter-processor interrupt to every core the process runs on; a VM exit on a VM). An
/// interpreter built by componentize-py snapshots a heap of about 13 MB whose allocators
/// hand out free slots scattered over it, so every call writes a few pages of the image
/// for the first time: measured with `perf`, 329 such faults over the 123 calls of a
/// 1M-row run, about 17 µs each, were half of an empty Python stage's busy time; copying
/// the image at instantiation left 2. In A/B runs of one binary (six runs each, medians)
/// the empty Python stage went from 8.7 to 5.1 ms busy at 8,192-row batches and from 4.5
/// to 2.8 ms at 65,536, the SDK README's `orders` example from 38.8 to 31.8 ms, for 5 ms
/// more start-up, once per instance (2.8 → 8.0 ms). StarlingMonkey (JavaScript) gained
/// nothing measurable (5.3 against 6.0 ms at 65,536, 14.3 against 13.8 at 8,192) for 2.6 ms
/// more start-up, and a small Rust plugin loses: copying its 1 MB image makes a bare
/// instantiation 410 µs instead of 10.5 µs. Hence a size threshold,
/// [`RuntimeConfig::copy_memory_from_bytes`] (default [`DEFAULT_COPY_MEMORY_FROM_BYTES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MemoryInit {
    /// The compiled image mapped copy-on-write.
    Cow,
    /// The image copied into the instance's memory when it is created.
    Copy,
}

/// Components this big or bigger have their memory copied: 16 MiB, over the JavaScript
/// plugins (StarlingMonkey, about 13.9 MB) and the first-party Rust ones (under 2 MB), under
/// the Python ones (CPython and its standard library, 18.7 MB and up).
pub const DEFAULT_COPY_MEMORY_FROM_BYTES: u64 = 16 << 20;

impl RuntimeConfig {
    /// How a component of `len` bytes is initialised under this configuration.
    pub fn memory_init_for(&self, len: u64) -> MemoryInit {
        if len >= self.copy_memory_from_bytes {
            MemoryInit::Copy
        } else {
            MemoryInit::Cow
        }
    }
}

/// How a plugin's execution is bounded besides its wall-clock deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metering {
    /// Epoch interruption only (the default; cheapest).
    Epoch,
    /// Epoch interruption and fuel: deterministic budgets, same verdict on any machine.
    Fuel,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        Self {
            cache_dir: default_cache_dir(),
            epoch_tick: Duration::from_millis(10),
            max_instances: 256,
            ceiling: Limits::default_ceiling(),
            compile: CompileBudget::default(),
            cache_max_bytes: DEFAULT_CACHE_MAX_BYTES,
            copy_memory_from_bytes: DEFAULT_COPY_MEMORY_FROM_BYTES,
        }
    }
}

/// The default size cap of the compiled-plugin cache: 2 GiB, about 40 compiled Python or
/// JavaScript plugins (40–50 MB each) or 200 Rust ones.
pub const DEFAULT_CACHE_MAX_BYTES: u64 = 2 << 30;

/// `$QUIVER_CACHE_DIR`, else `$XDG_CACHE_HOME/quiver`, else `$HOME/.cache/quiver`.
fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("QUIVER_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("quiver"))
}

/// The process-wide plugin runtime. Cheap to clone; all clones share one engine.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    /// Compiles and runs every plugin that is neither fuel-metered nor big.
    pub(crate) epoch: Engines,
    /// The other engines, each built on first use (`Err` if it could not be): fuel-metered
    /// copy-on-write, epoch with copied memory, fuel-metered with copied memory.
    others: [OnceLock<Result<Engines, String>>; 3],
    /// As given at construction.
    pub(crate) config: RuntimeConfig,
    /// Period of the epoch tickers: one deadline tick.
    pub(crate) tick: Duration,
    /// Compile slots (`config.compile.jobs`).
    pub(crate) compile_slots: Slots,
}

/// One engine with its linker and its epoch ticker.
pub(crate) struct Engines {
    /// Compiles and runs plugins.
    pub(crate) engine: Engine,
    /// Host imports + WASI, linked once; every plugin is instantiated through it.
    pub(crate) linker: Linker<StoreState>,
    /// Stops the ticker thread when the runtime goes away.
    _ticker: Ticker,
}

impl Engines {
    fn new(
        config: &RuntimeConfig,
        metering: Metering,
        init: MemoryInit,
    ) -> Result<Self, LoadError> {
        let engine =
            Engine::new(&engine_config(config, metering, init)).map_err(LoadError::engine)?;
        let mut linker = Linker::<StoreState>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(LoadError::engine)?;
        crate::sandbox::link(&mut linker).map_err(LoadError::engine)?;
        // Both contract versions: their interfaces are versioned, so they never collide.
        bindings::v1::Plugin::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s)
            .map_err(LoadError::engine)?;
        bindings::v2::Plugin::add_to_linker::<_, HasSelf<StoreState>>(&mut linker, |s| s)
            .map_err(LoadError::engine)?;
        let ticker = Ticker::start(engine.clone(), config.epoch_tick);
        Ok(Self {
            engine,
            linker,
            _ticker: ticker,
        })
    }
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Build the engine, link the host imports and start the epoch ticker.
    ///
    /// # Errors
    /// [`LoadError::Engine`] when wasmtime refuses the configuration (e.g. the machine cannot
    /// reserve the pooling allocator's address space).
    pub fn new(config: RuntimeConfig) -> Result<Self, LoadError> {
        let epoch = Engines::new(&config, Metering::Epoch, MemoryInit::Cow)?;
        Ok(Self {
            inner: Arc::new(RuntimeInner {
                epoch,
                others: [OnceLock::new(), OnceLock::new(), OnceLock::new()],
                tick: config.epoch_tick,
                compile_slots: Slots::new(config.compile.jobs),
                config,
            }),
        })
    }

    /// The engine (and linker) for plugins run under `metering` with memory `init`.
    pub(crate) fn engines(
        &self,
        metering: Metering,
        init: MemoryInit,
    ) -> Result<&Engines, LoadError> {
        let slot = match (metering, init) {
            (Metering::Epoch, MemoryInit::Cow) => return Ok(&self.inner.epoch),
            (Metering::Fuel, MemoryInit::Cow) => &self.inner.others[0],
            (Metering::Epoch, MemoryInit::Copy) => &self.inner.others[1],
            (Metering::Fuel, MemoryInit::Copy) => &self.inner.others[2],
        };
        slot.get_or_init(|| {
            Engines::new(&self.inner.config, metering, init).map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| LoadError::Engine(e.clone()))
    }

    /// The wasmtime engine of unmetered plugins (for benchmarks and tools).
    pub fn engine(&self) -> &Engine {
        &self.inner.epoch.engine
    }

    /// The configuration this runtime was built with.
    pub fn config(&self) -> &RuntimeConfig {
        &self.inner.config
    }
}

pub(crate) fn engine_config(
    config: &RuntimeConfig,
    metering: Metering,
    init: MemoryInit,
) -> Config {
    let mut c = Config::new();
    c.wasm_component_model(true);
    c.epoch_interruption(true);
    c.consume_fuel(metering == Metering::Fuel);
    // A compile-time setting as well (the image is laid out for mapping), so artifacts of
    // the two kinds differ and the cache keys them apart by the engine's compatibility hash.
    c.memory_init_cow(init == MemoryInit::Cow);
    // Pooling: instance slots are reserved up front, so instantiation is a few µs of
    // bookkeeping rather than mmap/munmap per instance.
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(config.max_instances);
    pool.total_core_instances(config.max_instances * 2);
    pool.total_memories(config.max_instances * 2);
    pool.total_tables(config.max_instances * 4);
    pool.max_memory_size(usize::try_from(config.ceiling.memory.0).unwrap_or(usize::MAX));
    // Keep a little memory resident per slot so a reused slot does not page-fault afresh.
    pool.linear_memory_keep_resident(64 << 10);
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    c
}

/// A thread that advances the engine's epoch every `tick`, so every guest call can carry a
/// deadline. Stops when dropped.
struct Ticker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(engine: Engine, tick: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let handle = std::thread::Builder::new()
            .name("quiver-epoch".into())
            .spawn(move || {
                while !flag.load(Ordering::Relaxed) {
                    std::thread::sleep(tick);
                    engine.increment_epoch();
                }
            })
            .expect("spawning the epoch ticker thread");
        Self {
            stop,
            handle: Some(handle),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_at_or_over_the_threshold_copy_their_memory_image() {
        let config = RuntimeConfig::default();
        let at = DEFAULT_COPY_MEMORY_FROM_BYTES;
        assert_eq!(config.memory_init_for(at - 1), MemoryInit::Cow);
        assert_eq!(config.memory_init_for(at), MemoryInit::Copy);
        // A first-party Rust plugin, a JavaScript one, a Python one.
        assert_eq!(config.memory_init_for(2_000_000), MemoryInit::Cow);
        assert_eq!(config.memory_init_for(13_836_748), MemoryInit::Cow);
        assert_eq!(config.memory_init_for(18_765_205), MemoryInit::Copy);
        let never = RuntimeConfig {
            copy_memory_from_bytes: u64::MAX,
            ..RuntimeConfig::default()
        };
        assert_eq!(never.memory_init_for(u64::MAX - 1), MemoryInit::Cow);
    }
}
