//! Generated bindings of the `quiver:transform` worlds, and nothing else.
//!
//! `bindgen!` output lives only here (house style: one bindings module), one submodule per
//! released contract version: the host runs plugins of every version side by side.
//!
//! - [`v1`] (`wit/0.1.0`): columns cross as buffers in both directions. The borrowing
//!   ownership mode makes the parameters we send to a plugin borrow the host's Arrow buffers
//!   (`&[u8]`), so a batch is copied once, straight into guest memory; results come back
//!   owned.
//! - [`v2`] (`wit/0.2.0`): columns stay in the host as resources (`column`, `batch`), mapped
//!   to [`crate::columns`]' host types so they live in each store's resource table.

/// `quiver:transform@0.1.0`.
pub mod v1 {
    wasmtime::component::bindgen!({
        path: "../../wit/0.1.0",
        world: "quiver:transform/plugin",
        ownership: Borrowing { duplicate_if_necessary: true },
    });

    pub use quiver::transform::host::Level;
    pub use quiver::transform::types;
}

/// `quiver:transform@0.2.0`.
pub mod v2 {
    wasmtime::component::bindgen!({
        path: "../../wit/0.2.0",
        world: "quiver:transform/plugin",
        with: {
            "quiver:transform/columns.column": crate::columns::ColumnRes,
            "quiver:transform/columns.batch": crate::columns::BatchRes,
        },
        // Host functions may trap: a kernel whose result would break the plugin's memory
        // limit or deadline stops the call like a guest trap would.
        imports: { default: trappable },
    });

    pub use quiver::transform::host::Level;
    pub use quiver::transform::{columns, compute, types};
}
