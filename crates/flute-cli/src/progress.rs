//! Progress display: indicatif bars on stderr when it is a terminal, nothing otherwise.

use std::io::IsTerminal;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A set of progress bars, drawn only when stderr is a terminal.
pub(crate) struct Bars {
    multi: Option<MultiProgress>,
    quiet: bool,
}

impl Bars {
    pub(crate) fn new(quiet: bool) -> Self {
        let on = !quiet && std::io::stderr().is_terminal();
        Self {
            multi: on.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            quiet,
        }
    }

    /// A byte-counting bar with rate and ETA (hidden when not drawing).
    pub(crate) fn bytes(&self, total: u64, label: &str) -> ProgressBar {
        let Some(m) = &self.multi else {
            return ProgressBar::hidden();
        };
        let pb = m.add(ProgressBar::new(total));
        pb.set_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
        );
        pb.set_prefix(label.chars().take(12).collect::<String>());
        pb
    }

    /// Prints a line without tearing the bars.
    pub(crate) fn println(&self, line: &str) {
        match &self.multi {
            Some(m) => {
                let _ = m.println(line);
            }
            None if !self.quiet => eprintln!("{line}"),
            None => {}
        }
    }
}
