//! The live progress display of `quiver run`: one line for the source and one per stage
//! (rows, Arrow bytes and rows/s), redrawn a few times a second on stderr.
//!
//! Shown only when stderr is a terminal (and `--quiet` is not given): in CI logs and files
//! the run prints its summary and nothing else. The display only reads the engine's atomic
//! counters ([`Progress`]); it never slows the run down by more than one redraw per tick.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytesize::ByteSize;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use quiver_pipeline::Progress;

/// How often the display is redrawn.
const TICK: Duration = Duration::from_millis(200);

/// A running display; [`Display::stop`] clears it before the summary is printed.
pub struct Display {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Display {
    /// Start drawing `progress` on stderr, or nothing when stderr is not a terminal.
    pub fn start(progress: Arc<Progress>, enabled: bool) -> Display {
        let stop = Arc::new(AtomicBool::new(false));
        let draw = enabled && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let thread = draw.then(|| {
            let stop = stop.clone();
            std::thread::Builder::new()
                .name("quiver-progress".into())
                .spawn(move || draw_until(&progress, &stop))
                .ok()
        });
        Display {
            stop,
            thread: thread.flatten(),
        }
    }

    /// Stop drawing and clear the lines.
    pub fn stop(mut self) {
        self.finish();
    }

    fn finish(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.finish();
    }
}

fn line(multi: &MultiProgress, prefix: &str) -> ProgressBar {
    let style = ProgressStyle::with_template("{spinner} {prefix:<16.bold} {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let bar = multi.add(ProgressBar::new_spinner().with_style(style));
    bar.set_prefix(prefix.to_owned());
    bar
}

fn rate(rows: u64, elapsed: Duration) -> f64 {
    rows as f64 / elapsed.as_secs_f64().max(1e-3)
}

fn draw_until(progress: &Progress, stop: &AtomicBool) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    let source = line(&multi, "source");
    let stages: Vec<ProgressBar> = progress
        .stages
        .iter()
        .map(|(name, _)| line(&multi, name))
        .collect();
    let sink = line(&multi, "sink");
    let started = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let elapsed = started.elapsed();
        let read = progress.rows_read.load(Ordering::Relaxed);
        source.set_message(format!(
            "{read:>12} rows read   {:>10.0} rows/s",
            rate(read, elapsed)
        ));
        source.tick();
        for (bar, (_, c)) in stages.iter().zip(&progress.stages) {
            let rows_in = c.rows_in.load(Ordering::Relaxed);
            let rows_out = c.rows_out.load(Ordering::Relaxed);
            let bytes = c.bytes_in.load(Ordering::Relaxed);
            let failed = c.rows_skipped.load(Ordering::Relaxed)
                + c.rows_dead_lettered.load(Ordering::Relaxed);
            let mut msg = format!(
                "{rows_in:>12} rows in → {rows_out} out   {:>10}   {:>10.0} rows/s",
                ByteSize(bytes).display().si().to_string(),
                rate(rows_in, elapsed)
            );
            if failed > 0 {
                msg.push_str(&format!("   {failed} rows failed"));
            }
            bar.set_message(msg);
            bar.tick();
        }
        let written = progress.rows_written.load(Ordering::Relaxed);
        sink.set_message(format!("{written:>12} rows written"));
        sink.tick();
        std::thread::sleep(TICK);
    }
    let _ = multi.clear();
}
