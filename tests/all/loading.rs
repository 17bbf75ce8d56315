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
