//! Compiles the guest plugins to `wasm32-wasip2` components before the tests build, the way
//! wasmtime's `test-programs/artifacts/build.rs` does, so `cargo test` on a fresh clone needs
//! nothing else. The paths of the built components are written to `$OUT_DIR/plugins.rs`.
//!
//! The first-party plugins (`plugins/`) and the test-only guests (`tests/guests/`: `evil`,
//! `tagger`, `bench-kernels`) build in `<target>/guests`, with the helpers of
//! `runtime/firstparty/guest_build.rs` (which embeds the first-party ones in the binary from
//! the same directory, so the two builds share artifacts).
//!
//! `evil2` is built again with `QUIVER_EVIL2_SCHEMA_BYTES` set (its `metadata()` then
//! declares a 50 MB config schema; metadata cannot depend on config), copied to
//! `target/guests/variants/evil2-huge-schema.wasm`, and built once more without it.
//!
//! The test plugin `tagger` is then built again as other versions (`QUIVER_TAGGER_VERSION`,
//! `QUIVER_TAGGER_BROKEN`; cargo tracks both, so each build recompiles only `tagger`), and
//! every version is copied to `target/guests/variants/tagger-<version>.wasm` for the hot-swap
//! tests.

use std::path::PathBuf;
use std::time::Instant;

#[path = "../runtime/firstparty/guest_build.rs"]
mod guest_build;

use guest_build::{ensure_wasm_target, guest_build, guest_target_dir};

/// The guest crates built together against contract 0.2, in the order their constants are
/// emitted.
const PLUGINS: &[&str] = &[
    "passthrough",
    "map",
    "filter",
    "dedupe",
    "shape",
    "impute",
    "validate",
    "anonymise",
    "features",
    "score",
    "bench-kernels",
    "evil2",
];

/// Guests built on their own against contract 0.1 (the SDK's `contract-0-1` feature would
/// turn every guest of a shared build into a 0.1 one): the hostile plugin of the 0.1 attacks.
const V0_1_PLUGINS: &[&str] = &["evil"];

/// The versions `tagger` is built as, whether each is the broken build (an extra output
/// column), and whether it targets contract 0.1: 1.0.0 is a 0.1 component, so the hot-swap
/// tests also swap a 0.1 version for a 0.2 one.
const TAGGER_VARIANTS: &[(&str, bool, bool)] = &[
    ("1.0.0", false, true),
    ("2.0.0", false, false),
    ("3.0.0", true, false),
    ("4.0.0", false, false),
];

fn main() {
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest_dir = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let workspace = manifest_dir
        .parent()
        .expect("tests/ lives in the workspace root");
    let target_dir = guest_target_dir(&out_dir, workspace);

    for dir in [
        "wit",
        "sdk/rust",
        "runtime/columnar",
        "plugins",
        "tests/guests",
        "Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={}", workspace.join(dir).display());
    }

    ensure_wasm_target();

    // The variant builds overwrite `release/tagger.wasm` between a build and its copy: hold a
    // lock over the whole sequence so a concurrent build script (another profile of the outer
    // build uses the same guest directory) cannot swap a version in between.
    std::fs::create_dir_all(&target_dir).expect("creating the guest target directory");
    let lock = std::fs::File::create(target_dir.join("quiver-guests.lock"))
        .expect("creating the guest build lock");
    lock.lock().expect("locking the guest build");

    guest_build::build_guests(workspace, &target_dir, PLUGINS);
    for p in V0_1_PLUGINS {
        let started = Instant::now();
        let status = guest_build(workspace, &target_dir)
            .args(["-p", p])
            .status()
            .expect("running cargo to build a 0.1 guest");
        assert!(
            status.success(),
            "building {p} (contract 0.1) failed (see above)"
        );
        eprintln!("{p} (contract 0.1) built in {:.1?}", started.elapsed());
    }

    let release = target_dir.join("wasm32-wasip2/release");
    let variants = target_dir.join("variants");
    std::fs::create_dir_all(&variants).expect("creating target/guests/variants");
    let copy_tagger = |version: &str| {
        let to = variants.join(format!("tagger-{version}.wasm"));
        std::fs::copy(release.join("tagger.wasm"), &to)
            .unwrap_or_else(|e| panic!("copying tagger.wasm to {}: {e}", to.display()));
        to
    };
    let huge_schema = variants.join("evil2-huge-schema.wasm");
    for schema_bytes in [Some("50000000"), None] {
        let mut cmd = guest_build(workspace, &target_dir);
        cmd.args(["-p", "evil2"]);
        if let Some(n) = schema_bytes {
            cmd.env("QUIVER_EVIL2_SCHEMA_BYTES", n);
        }
        let status = cmd.status().expect("running cargo to build evil2");
        assert!(status.success(), "building evil2 failed (see above)");
        if schema_bytes.is_some() {
            std::fs::copy(release.join("evil2.wasm"), &huge_schema)
                .unwrap_or_else(|e| panic!("copying evil2.wasm to {}: {e}", huge_schema.display()));
        }
    }
    let mut tagger_versions = Vec::new();
    for &(version, broken, v0_1) in TAGGER_VARIANTS {
        let started = Instant::now();
        let mut cmd = guest_build(workspace, &target_dir);
        cmd.args(["-p", "tagger"])
            .env("QUIVER_TAGGER_VERSION", version);
        if v0_1 {
            cmd.args(["--features", "tagger/contract-0-1"]);
        }
        if broken {
            cmd.env("QUIVER_TAGGER_BROKEN", "1");
        } else {
            cmd.env_remove("QUIVER_TAGGER_BROKEN");
        }
        let status = cmd.status().expect("running cargo to build tagger");
        assert!(
            status.success(),
            "building tagger {version} failed (see above); try `QUIVER_TAGGER_VERSION={version} cargo build --release --target wasm32-wasip2 -p tagger` to reproduce"
        );
        tagger_versions.push((version, copy_tagger(version)));
        eprintln!("tagger {version} built in {:.1?}", started.elapsed());
    }
    drop(lock);

    let mut code =
        String::from("// Generated by tests/build.rs: paths of the compiled guest plugins.\n");
    let tagger = tagger_versions[0].1.clone();
    let all = PLUGINS
        .iter()
        .chain(V0_1_PLUGINS)
        .map(|p| (*p, guest_build::component_path(&target_dir, p)))
        .chain([("tagger", tagger)]);
    for (p, path) in all {
        assert!(
            path.is_file(),
            "expected {} after the guest build",
            path.display()
        );
        code.push_str(&format!(
            "/// The compiled `{p}` plugin component.\npub const {}: &str = {:?};\n",
            // `bench-kernels` → `BENCH_KERNELS`: a crate name may hold '-', a constant not.
            p.to_uppercase().replace('-', "_"),
            path.display().to_string()
        ));
    }
    code.push_str(&format!(
        "/// `evil2` built to declare a 50 MB config schema in its metadata.\n\
         pub const EVIL2_HUGE_SCHEMA: &str = {:?};\n",
        huge_schema.display().to_string()
    ));
    code.push_str(
        "/// Every build of the `tagger` test plugin as (version, component path), oldest first.\n\
         /// 1.0.0 targets contract 0.1, the others 0.2; 3.0.0 is the broken one: its output has\n\
         /// the extra column `tagged_broken`.\n\
         pub const TAGGER_VERSIONS: &[(&str, &str)] = &[\n",
    );
    for (version, path) in &tagger_versions {
        code.push_str(&format!(
            "    ({version:?}, {:?}),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    std::fs::write(out_dir.join("plugins.rs"), code).expect("writing plugins.rs");

    generate_c_bindings(workspace, &out_dir.join("c-bindings"));
}

/// What `wit-bindgen c --world plugin` generates from `wit/0.2.0` (the contract the C SDK
/// speaks) today, into `out`, for the tidy test that compares it with the committed
/// `sdk/c/bindings/`.
fn generate_c_bindings(workspace: &std::path::Path, out: &std::path::Path) {
    let mut resolve = wit_parser::Resolve::default();
    let (pkg, _) = resolve
        .push_dir(workspace.join("wit/0.2.0"))
        .expect("parsing wit/");
    let world = resolve
        .select_world(&[pkg], Some("plugin"))
        .expect("the `plugin` world of wit/");
    let mut files = wit_bindgen_core::Files::default();
    wit_bindgen_c::Opts::default()
        .build()
        .generate(&mut resolve, world, &mut files)
        .expect("generating the C bindings");
    let _ = std::fs::remove_dir_all(out);
    std::fs::create_dir_all(out).expect("creating the C bindings folder");
    for (name, contents) in files.iter() {
        std::fs::write(out.join(name), contents).expect("writing a C binding file");
    }
}
