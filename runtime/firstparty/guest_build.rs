//! Building guest crates to `wasm32-wasip2` components from a build script, shared by
//! `runtime/firstparty/build.rs` (the shipped plugins, embedded in the binary) and
//! `tests/build.rs` (the test-only guests), which include this file with `#[path]`.
//!
//! Guests build in their own target directory (`<target>/guests`): a nested cargo in the
//! outer build's directory would wait forever on the lock the outer cargo holds. Both build
//! scripts use the same directory, so they share artifacts (and cargo's lock on it orders
//! them).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A `cargo build --release --target wasm32-wasip2` of guests into `target_dir`, with the
/// environment every guest build shares.
pub fn guest_build(workspace: &Path, target_dir: &Path) -> Command {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--release", "--target", "wasm32-wasip2"])
        .env("CARGO_TARGET_DIR", target_dir)
        // Debug info makes components several times larger and slower to compile.
        .env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        // Flags meant for the host build must not leak into the guest build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("QUIVER_TAGGER_VERSION")
        .env_remove("QUIVER_TAGGER_BROKEN")
        .env_remove("QUIVER_EVIL2_SCHEMA_BYTES");
    cmd
}

/// Install the `wasm32-wasip2` standard library when it is missing.
///
/// `rust-toolchain.toml` lists the target, but rustup only honours that list when it
/// installs the toolchain; a machine that already has the pinned toolchain (as CI machines
/// do) would otherwise fail the guest build with "can't find crate for `core`".
pub fn ensure_wasm_target() {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok();
    let installed = sysroot.is_some_and(|o| {
        let root = String::from_utf8_lossy(&o.stdout).trim().to_owned();
        Path::new(&root).join("lib/rustlib/wasm32-wasip2").is_dir()
    });
    if !installed {
        let status = Command::new("rustup")
            .args(["target", "add", "wasm32-wasip2"])
            .status();
        if !status.is_ok_and(|s| s.success()) {
            println!(
                "cargo:warning=could not install the wasm32-wasip2 target; run `rustup target add wasm32-wasip2`"
            );
        }
    }
}

/// `<target>/guests`, where `<target>` is the outer build's target directory (the
/// checkout's `target/` when it cannot be told, e.g. under `cargo install`).
pub fn guest_target_dir(out_dir: &Path, workspace: &Path) -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        let dir = if dir.is_absolute() {
            dir
        } else {
            workspace.join(dir)
        };
        return dir.join("guests");
    }
    // OUT_DIR is <target>/[<triple>/]<profile>/build/<pkg>-<hash>/out.
    out_dir
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "target"))
        .map(|t| t.join("guests"))
        .unwrap_or_else(|| workspace.join("target/guests"))
}

/// Build `crates` (package names) into `target_dir`, panicking with a reproduction hint on
/// failure.
pub fn build_guests(workspace: &Path, target_dir: &Path, crates: &[&str]) {
    let started = std::time::Instant::now();
    let mut cmd = guest_build(workspace, target_dir);
    for p in crates {
        cmd.args(["-p", p]);
    }
    let status = cmd
        .status()
        .expect("running cargo to build the guest plugins");
    assert!(
        status.success(),
        "building the guest plugins {crates:?} failed (see above); try `cargo build --release --target wasm32-wasip2 -p {}` to reproduce",
        crates.first().copied().unwrap_or_default()
    );
    eprintln!("guests {crates:?} built in {:.1?}", started.elapsed());
}

/// The component cargo wrote for `krate` in `target_dir` (a library's artifact is named
/// after the crate with `-` turned into `_`).
pub fn component_path(target_dir: &Path, krate: &str) -> PathBuf {
    target_dir
        .join("wasm32-wasip2/release")
        .join(format!("{}.wasm", krate.replace('-', "_")))
}
