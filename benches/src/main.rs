//! `quiver-bench-data`: the data generator and the native end-to-end job, as a process of
//! its own so `peer/run.sh` can measure its wall time and peak memory like Quiver's and
//! Polars'.
//!
//! ```text
//! quiver-bench-data gen <out.parquet> <rows>
//! quiver-bench-data native-job <in.parquet> <out.parquet>
//! ```

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use quiver_benches::job;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let started = Instant::now();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["gen", out, rows] => match rows.parse::<u64>() {
            Ok(rows) => job::write_orders(Path::new(out), rows).map(|()| rows),
            Err(e) => {
                eprintln!("rows {rows:?}: {e}");
                return ExitCode::from(2);
            }
        },
        ["native-job", input, output] => job::run_native(Path::new(input), Path::new(output)),
        _ => {
            eprintln!(
                "usage: quiver-bench-data gen <out.parquet> <rows>\n       \
                 quiver-bench-data native-job <in.parquet> <out.parquet>"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(rows) => {
            println!("rows={rows} seconds={:.3}", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
