//! The progress bar shown while a drill runs.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Progress over every run of a drill, counted in timeline buckets.
///
/// The bar draws on standard error and stays hidden when standard error is
/// not a terminal.
#[derive(Debug, Clone)]
pub(crate) struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// Creates a bar for `buckets` buckets in total; `visible` false hides it.
    pub(crate) fn new(buckets: u64, visible: bool) -> Self {
        let bar = if visible {
            ProgressBar::new(buckets)
        } else {
            ProgressBar::hidden()
        };
        let style = ProgressStyle::with_template(
            "{elapsed_precise} [{bar:32}] {percent:>3}% eta {eta} {msg}",
        )
        .expect("the template is valid")
        .progress_chars("=> ");
        bar.set_style(style);
        bar.enable_steady_tick(Duration::from_millis(250));
        Self { bar }
    }

    /// Shows which run is in progress.
    pub(crate) fn start_run(&self, index: usize, total: usize, label: &str) {
        self.bar
            .set_message(format!("run {}/{total}: {label}", index + 1));
    }

    /// Counts one finished bucket.
    pub(crate) fn advance(&self) {
        self.bar.inc(1);
    }

    /// Prints a line above the bar.
    pub(crate) fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
