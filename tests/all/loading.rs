//! Loading plugins: the compiled-plugin cache, metadata, and the errors for files that are
//! not Quiver plugins.

use std::path::Path;

use quiver_host::{LoadError, LoadOrigin};
use quiver_tests::{load, plugins, runtime};

#[test]
fn second_load_of_the_same_plugin_uses_the_on_disk_cache() {
    let dir = tempfile::tempdir().unwrap();
    let first = load(&runtime(dir.path()), plugins::MAP);
    assert_eq!(first.origin(), LoadOrigin::Compiled);
    // A new runtime stands for a second process start: same cache directory, fresh engine.
    let second = load(&runtime(dir.path()), plugins::MAP);
    assert_eq!(second.origin(), LoadOrigin::Cache);
    assert_eq!(second.sha256(), first.sha256());
    assert_eq!(second.metadata(), first.metadata());
    // The artifact, its metadata, the file record: no temporary files left behind.
    let mut entries: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .map(|n| {
            n.rsplit_once('-')
                .map_or(n.clone(), |(_, tail)| tail.to_owned())
        })
        .map(|n| {
            n.split_once('.')
                .map_or(n.clone(), |(_, ext)| ext.to_owned())
        })
        .collect();
    entries.sort();
    assert_eq!(entries, ["cwasm", "files", "meta.json"]);
}

#[test]
fn a_file_changed_in_place_is_loaded_again_not_taken_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plugin.wasm");
    let cache = dir.path().join("cache");
    std::fs::copy(plugins::MAP, &file).unwrap();
    let first = load(&runtime(&cache), file.to_str().unwrap());
    assert_eq!(first.name(), "map");
    // The same path now holds another plugin (same size or not: the identity also has the
    // inode's change time, which every write moves).
    std::fs::write(&file, std::fs::read(plugins::FILTER).unwrap()).unwrap();
    let second = load(&runtime(&cache), file.to_str().unwrap());
    assert_eq!(second.name(), "filter");
    assert_ne!(second.sha256(), first.sha256());
    // And back: both are cached now, each under its own content.
    std::fs::write(&file, std::fs::read(plugins::MAP).unwrap()).unwrap();
    let third = load(&runtime(&cache), file.to_str().unwrap());
    assert_eq!((third.name(), third.origin()), ("map", LoadOrigin::Cache));
    assert_eq!(third.sha256(), first.sha256());
}

#[test]
fn a_corrupt_cache_entry_is_recompiled_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    load(&runtime(dir.path()), plugins::PASSTHROUGH);
    let entry = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .unwrap();
    std::fs::write(&entry, b"garbage").unwrap();
    let again = load(&runtime(dir.path()), plugins::PASSTHROUGH);
    assert_eq!(again.origin(), LoadOrigin::Compiled);
}

#[test]
fn metadata_comes_from_the_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = load(&runtime(dir.path()), plugins::FILTER);
    let m = plugin.metadata();
    assert_eq!(m.name, "filter");
    assert_eq!(m.version, "0.1.0");
    assert!(
        m.description.contains("Keeps the rows"),
        "{}",
        m.description
    );
    assert_eq!(
        m.config_schema["required"],
        serde_json::json!(["column", "op"])
    );
    assert_eq!(plugin.sha256().len(), 64);
}

#[test]
fn files_that_are_not_plugins_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };

    let err = rt.load_file(&write("text.wasm", b"hello")).unwrap_err();
    assert!(matches!(err, LoadError::NotAComponent { .. }), "{err}");

    // A core module (what wasm32-unknown-unknown produces) is not a component.
    let core = wat::parse_str("(module (func (export \"f\")))").unwrap();
    let err = rt.load_file(&write("core.wasm", &core)).unwrap_err();
    assert!(matches!(err, LoadError::NotAComponent { .. }), "{err}");
    assert!(err.to_string().contains("wasm32-wasip2"), "{err}");

    // A valid component that does not implement the contract.
    let empty = wat::parse_str("(component)").unwrap();
    let err = rt.load_file(&write("empty.wasm", &empty)).unwrap_err();
    assert!(matches!(err, LoadError::NotAPlugin { .. }), "{err}");
    assert!(
        err.to_string().contains("quiver:transform/transform@0.1.0"),
        "{err}"
    );

    let err = rt
        .load_file(Path::new("/nonexistent/plugin.wasm"))
        .unwrap_err();
    assert!(matches!(err, LoadError::Io { .. }), "{err}");
}

/// A component whose one function holds more values on its operand stack than the shape
/// limit (compile time grows with the square of that height) is refused before anything
/// compiles it, naming the function and the limit; the cache stays empty.
#[test]
fn a_compile_bomb_is_refused_before_compiling() {
    let dir = tempfile::tempdir().unwrap();
    let pushes: String = (0..2_000)
        .map(|i| format!("(f64.add (local.get 0) (f64.const {i})) "))
        .collect();
    let bomb = wat::parse_str(format!(
        "(component (core module (func) (func (param f64) (result f64) {pushes} {})))",
        "f64.add ".repeat(1_999)
    ))
    .unwrap();
    let started = std::time::Instant::now();
    let err = runtime(dir.path())
        .load_bytes(&bomb, "bomb.wasm")
        .unwrap_err();
    assert!(matches!(err, LoadError::Refused { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("bomb.wasm is refused before compiling")
            && text.contains("core function 1")
            && text.contains("operand stack of 1001, past the limit of 1000"),
        "{text}"
    );
    // The shape check is a linear pass: no compile happened (one would take ~0.3 s here).
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    assert_eq!(cache_entries(dir.path()), Vec::<String>::new());
}

/// A component that compiles but is not a usable plugin leaves no artifact behind: the
/// cache keeps only what passed the probe.
#[test]
fn a_refused_component_leaves_nothing_in_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let empty = wat::parse_str("(component (core module (func)))").unwrap();
    let err = runtime(dir.path())
        .load_bytes(&empty, "empty.wasm")
        .unwrap_err();
    assert!(matches!(err, LoadError::NotAPlugin { .. }), "{err}");
    assert_eq!(cache_entries(dir.path()), Vec::<String>::new());
}

/// Past its size cap the cache removes the least recently used entries (a cache hit counts
/// as a use), never the one just written.
#[test]
fn a_full_cache_evicts_the_least_recently_used_entries() {
    let scratch = tempfile::tempdir().unwrap();
    load(&runtime(scratch.path()), plugins::FILTER);
    let filter_bytes = top_level_bytes(scratch.path());

    let dir = tempfile::tempdir().unwrap();
    let map = load(&runtime(dir.path()), plugins::MAP);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let passthrough = load(&runtime(dir.path()), plugins::PASSTHROUGH);
    std::thread::sleep(std::time::Duration::from_millis(20));
    // A hit makes `map` the more recently used of the two.
    assert_eq!(
        load(&runtime(dir.path()), plugins::MAP).origin(),
        LoadOrigin::Cache
    );
    let cap = top_level_bytes(dir.path()) + filter_bytes - 1;

    let capped = |cache: &Path| {
        quiver_host::Runtime::new(quiver_host::RuntimeConfig {
            cache_dir: Some(cache.to_owned()),
            cache_max_bytes: cap,
            ..quiver_host::RuntimeConfig::default()
        })
        .unwrap()
    };
    let filter = load(&capped(dir.path()), plugins::FILTER);
    assert!(top_level_bytes(dir.path()) <= cap);
    let mut kept: Vec<String> = cache_entries(dir.path())
        .into_iter()
        .filter(|n| n.ends_with(".cwasm"))
        .map(|n| n[..64].to_owned())
        .collect();
    kept.sort();
    let mut expected = vec![map.sha256().to_owned(), filter.sha256().to_owned()];
    expected.sort();
    assert_eq!(
        kept,
        expected,
        "passthrough ({}) should have gone",
        passthrough.sha256()
    );
    assert_eq!(
        load(&runtime(dir.path()), plugins::PASSTHROUGH).origin(),
        LoadOrigin::Compiled
    );
}

/// Names of the cache's artifacts and metadata files (not the `files/` records).
fn cache_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n != "files")
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn top_level_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[test]
fn a_big_component_copies_its_memory_image_cached_apart_from_the_mapped_kind() {
    use arrow_array::{ArrayRef, Float64Array, RecordBatch};
    use quiver_host::{Limits, MemoryInit, Metering, Runtime, RuntimeConfig, Sandbox};
    use std::sync::Arc;

    let dir = tempfile::tempdir().unwrap();
    let with_threshold = |bytes: u64| {
        Runtime::new(RuntimeConfig {
            cache_dir: Some(dir.path().to_owned()),
            copy_memory_from_bytes: bytes,
            ..RuntimeConfig::default()
        })
        .unwrap()
    };
    let input = RecordBatch::try_from_iter([(
        "amount",
        Arc::new(Float64Array::from(vec![Some(1.5), None, Some(-4.0)])) as ArrayRef,
    )])
    .unwrap();
    let config = r#"{"columns": [{"column": "amount", "scale": 2.0, "offset": 1.0}]}"#;

    // The default threshold maps a Rust plugin's small image.
    let mapped = load(&runtime(dir.path()), plugins::MAP);
    assert_eq!(mapped.memory_init(), MemoryInit::Cow);
    // A threshold under its size copies it: another engine, so another compile and cache
    // entry — the mapped kind's artifact is not reused for it, nor the other way round.
    let copying = with_threshold(1);
    let copied = load(&copying, plugins::MAP);
    assert_eq!(copied.memory_init(), MemoryInit::Copy);
    assert_eq!(copied.origin(), LoadOrigin::Compiled);
    assert_eq!(
        load(&with_threshold(1), plugins::MAP).origin(),
        LoadOrigin::Cache
    );
    assert_eq!(
        load(&runtime(dir.path()), plugins::MAP).origin(),
        LoadOrigin::Cache
    );
    // Both kinds compute the same thing, fuel-metered or not.
    let want = quiver_tests::run(&mapped, config, std::slice::from_ref(&input));
    assert_eq!(
        quiver_tests::run(&copied, config, std::slice::from_ref(&input)),
        want
    );
    let fueled = copying
        .load_file_metered(Path::new(plugins::MAP), Metering::Fuel)
        .unwrap();
    assert_eq!(
        (fueled.memory_init(), fueled.metering()),
        (MemoryInit::Copy, Metering::Fuel)
    );
    let sandbox = Sandbox {
        limits: Limits {
            fuel: Some(50_000_000),
            ..Limits::default()
        },
        ..Sandbox::default()
    };
    let mut t = fueled
        .transformer(config, input.schema(), &sandbox)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut got = t.process(&input).unwrap_or_else(|e| panic!("{e}"));
    got.extend(t.finish().unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(got, want);
}
