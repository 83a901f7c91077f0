//! Progress of a running sync: bars with records/s and ETA on a terminal, a plain line
//! every few seconds otherwise.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use crmsync_core::{Direction, Progress, ProgressSink};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::output::Out;

/// How often a plain progress line is printed, at most.
const LINE_EVERY: Duration = Duration::from_secs(2);

/// Receives the engine's progress and shows it.
pub struct Reporter {
    out: Out,
    bars: Option<MultiProgress>,
    state: Mutex<HashMap<String, Track>>,
    /// When the current phase began: the job's start, or the previous direction's last
    /// page (so records/s measures this direction alone).
    phase_start: Mutex<Instant>,
}

struct Track {
    bar: Option<ProgressBar>,
    started: Instant,
    last_line: Option<Instant>,
}

fn key(p: &Progress) -> String {
    let way = match p.direction {
        Direction::Pull => "pull",
        Direction::Push => "push",
        Direction::Both => "both",
    };
    format!("{} {way}", p.object)
}

impl Reporter {
    /// Bars when stdout is a terminal (and not `--json`), lines otherwise.
    pub fn new(out: Out) -> Arc<Self> {
        let bars = (out.stdout_tty && !out.json)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        Arc::new(Self {
            out,
            bars,
            state: Mutex::new(HashMap::new()),
            phase_start: Mutex::new(Instant::now()),
        })
    }

    /// The sink to hand to the engine.
    pub fn sink(self: &Arc<Self>) -> ProgressSink {
        let me = Arc::clone(self);
        Arc::new(move |p: &Progress| me.update(p))
    }

    fn update(&self, p: &Progress) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let name = key(p);
        let mut phase_start = self.phase_start.lock().unwrap_or_else(|e| e.into_inner());
        let track = state.entry(name.clone()).or_insert_with(|| Track {
            bar: self
                .bars
                .as_ref()
                .map(|multi| multi.add(new_bar(&name).with_elapsed(phase_start.elapsed()))),
            started: *phase_start,
            last_line: None,
        });
        *phase_start = Instant::now();
        drop(phase_start);
        if let Some(bar) = &track.bar {
            if let Some(total) = p.estimated_total {
                if bar.length() != Some(total.max(p.records_done)) {
                    bar.set_length(total.max(p.records_done));
                    bar.set_style(bar_style(true));
                }
            }
            bar.set_position(p.records_done);
            return;
        }
        let due = track.last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY);
        if due {
            track.last_line = Some(Instant::now());
            let secs = track.started.elapsed().as_secs_f64().max(0.001);
            let total = p
                .estimated_total
                .map(|t| format!(" of ~{t}"))
                .unwrap_or_default();
            let line = format!(
                "  {name}: {} records{total}, page {} ({:.0} records/s)",
                p.records_done,
                p.page,
                p.records_done as f64 / secs
            );
            if self.out.json {
                self.out.note(line);
            } else {
                self.out.line(line);
            }
        }
    }

    /// Ends the bars of a finished job.
    pub fn finish(&self) {
        *self.phase_start.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        for (_, track) in state.drain() {
            if let Some(bar) = track.bar {
                bar.finish_and_clear();
            }
        }
    }
}

fn new_bar(name: &str) -> ProgressBar {
    let bar = ProgressBar::no_length();
    bar.set_style(bar_style(false));
    bar.set_prefix(name.to_owned());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn bar_style(known_total: bool) -> ProgressStyle {
    let template = if known_total {
        "{prefix:>14} [{bar:30}] {human_pos}/{human_len} records  {rate}  ETA {eta}"
    } else {
        "{prefix:>14} {spinner} {human_pos} records  {rate}"
    };
    ProgressStyle::with_template(template)
        .map(|s| {
            s.progress_chars("=> ").with_key(
                "rate",
                |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let secs = state.elapsed().as_secs_f64().max(0.001);
                    let _ = write!(w, "{:.0} records/s", state.pos() as f64 / secs);
                },
            )
        })
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}
