//! The `quiver` binary: everything is in the library (`lib.rs`); this file only picks the
//! allocator.

use std::process::ExitCode;

// The host allocates and frees a buffer per column per batch; glibc malloc's trim/regrow
// churn on that path measured up to 10x slower (../shared/design/BOUNDARY.md).
// `--features system-allocator` keeps the system's, for heap profilers.
#[cfg(not(feature = "system-allocator"))]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    quiver_cli::main()
}
