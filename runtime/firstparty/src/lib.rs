//! The first-party plugins, built into every `quiver` binary.
//!
//! `build.rs` compiles each folder of `plugins/` to a `wasm32-wasip2` component and embeds
//! its bytes here, with its name, version and sha256. A pipeline can then name a plugin
//! (`plugin = "dedupe"`) from any folder on any machine where quiver is installed, with
//! nothing else to download or configure; `quiver-job`'s resolver offers them after the
//! plugin path and before a server's catalogue.
//!
//! Why embedded rather than installed beside the binary: `cargo install` installs one file,
//! so anything beside it would need a second install step (and could drift from the binary's
//! version); embedded, a binary always carries the plugins it was tested with. The cost is
//! the components' size in the binary — zstd-compressed, about a tenth of their 51 MB (see
//! the README for the figure) — and a guest build when this crate builds. Components are
//! decompressed and compiled by wasmtime on first use, then found in the compile cache by
//! their sha256 without being decompressed again.

#![deny(missing_docs)]

/// One embedded plugin component.
#[derive(Debug, Clone, Copy)]
pub struct Embedded {
    /// The plugin's name (its crate name).
    pub name: &'static str,
    /// Its version (its crate version).
    pub version: &'static str,
    /// sha256 of the component bytes (hex, of the uncompressed component).
    pub sha256: &'static str,
    /// Size of the component in bytes.
    pub size: usize,
    /// The component, zstd-compressed.
    pub compressed: &'static [u8],
}

impl Embedded {
    /// The component's bytes.
    ///
    /// # Errors
    /// The embedded data does not decompress (a corrupt build).
    pub fn bytes(&self) -> std::io::Result<Vec<u8>> {
        zstd::decode_all(self.compressed)
    }
}

include!(concat!(env!("OUT_DIR"), "/embedded.rs"));

/// The embedded plugin `name`, if there is one.
pub fn get(name: &str) -> Option<&'static Embedded> {
    PLUGINS.iter().find(|p| p.name == name)
}
