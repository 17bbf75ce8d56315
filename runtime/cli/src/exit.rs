//! Exit codes of the `quiver` command (documented in the README): the one table from fault
//! classes to numbers. Libraries only say whose fault an error is (`quiver_fault::Fault`,
//! found by `quiver_job::fault_of`); this file decides what the process returns.
//!
//! | fault | exit code |
//! |---|---|
//! | — (success) | 0 |
//! | plugin: a plugin failed on the data, a golden test or a plugin build failed | 1 |
//! | (usage: clap) | 2 |
//! | data: bad input data | 65 (`EX_DATAERR`) |
//! | unavailable: a dependency unavailable | 69 (`EX_UNAVAILABLE`) |
//! | internal | 70 (`EX_SOFTWARE`) |
//! | config: bad configuration | 78 (`EX_CONFIG`) |
//! | cancelled: Ctrl-C or SIGTERM, nothing committed | 130 |

use std::process::ExitCode;

use quiver_fault::Fault;

/// The exit code of a fault class.
pub fn code_of_fault(fault: Fault) -> u8 {
    match fault {
        Fault::Plugin => 1,
        Fault::Data => 65,
        Fault::Unavailable => 69,
        Fault::Internal => 70,
        Fault::Config => 78,
        Fault::Cancelled => 130,
    }
}

/// The exit code for `e`: the fault class of the first error in its chain that has one.
pub fn code(e: &anyhow::Error) -> ExitCode {
    let root: &(dyn std::error::Error + 'static) = e.as_ref();
    ExitCode::from(code_of_fault(quiver_job::fault_of(root)))
}
