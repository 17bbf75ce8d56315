//! Generated bindings of the `quiver:transform` world, and nothing else.
//!
//! `bindgen!` output lives only here (house style: one bindings module). The borrowing
//! ownership mode makes the parameters we send to a plugin borrow the host's Arrow buffers
//! (`&[u8]`), so a batch is copied once, straight into guest memory, instead of first into
//! owned vectors; results come back owned.

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "quiver:transform/plugin",
    ownership: Borrowing { duplicate_if_necessary: true },
});

pub use quiver::transform::host::Level;
pub use quiver::transform::types;
