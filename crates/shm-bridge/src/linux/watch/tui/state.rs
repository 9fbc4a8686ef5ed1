//! What the full-screen view remembers between samples: the last sample,
//! the speed trace, how fast updates come, which bytes of raw pages changed
//! when, and what the keys selected.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::linux::watch::reader::Sample;
use crate::linux::watch::target::Target;

/// The speed trace's span, seconds.
pub const TRACE: f64 = 20.0;
/// A changed byte stays highlighted this long.
pub const HIGHLIGHT: Duration = Duration::from_secs(1);

/// The view's state.
pub struct View<'a> {
    /// What is watched.
    pub target: &'a Target,
    /// The directory read, as shown.
    pub dir: String,
    /// Whether the title's pages are decoded (else only bytes are shown).
    pub decodes: bool,
    /// When the view started.
    pub start: Instant,
    /// The last sample.
    pub sample: Option<Sample>,
    /// Whether any page was ever read.
    pub seen: bool,
    /// (seconds since start, km/h), one point per new update.
    pub speed: VecDeque<(f64, f64)>,
    /// Update counters of the last second, for the rate.
    updates: VecDeque<(Instant, i64)>,
    last_update: Option<i64>,
    /// When the counter last moved.
    pub last_advance: Option<Instant>,
    /// Raw pages' histories, by mapping name.
    pub raw: HashMap<String, RawTrack>,
    /// The page selected in the raw view.
    pub selected: usize,
    /// First row (of 16 bytes) of the hex view.
    pub scroll: usize,
}

/// A raw page's history: when each byte last changed.
#[derive(Default)]
pub struct RawTrack {
    previous: Vec<u8>,
    /// When each byte last changed.
    pub changed_at: Vec<Option<Instant>>,
    /// When any byte last changed.
    pub last_change: Option<Instant>,
    /// Bytes that changed within [`HIGHLIGHT`], as of the last sample.
    pub recent: usize,
}

impl<'a> View<'a> {
    /// A view with nothing seen yet.
    pub fn new(target: &'a Target, dir: String, decodes: bool) -> View<'a> {
        View {
            target,
            dir,
            decodes,
            start: Instant::now(),
            sample: None,
            seen: false,
            speed: VecDeque::new(),
            updates: VecDeque::new(),
            last_update: None,
            last_advance: None,
            raw: HashMap::new(),
            selected: 0,
            scroll: 0,
        }
    }

    /// Takes in a new sample.
    pub fn update(&mut self, sample: Sample) {
        let now = sample.taken;
        self.seen |= sample.any_read();
        let telemetry = sample.decoded.as_ref().map(|d| &d.telemetry);
        match telemetry.and_then(|t| t.update.map(|u| (u, t.speed_kmh))) {
            Some((update, speed)) if self.last_update != Some(update) => {
                if self.last_update.is_some() {
                    self.last_advance = Some(now);
                }
                self.last_update = Some(update);
                self.updates.push_back((now, update));
                // Update 0 is the zeroed page before the game's first write.
                if let Some(speed) = speed.filter(|_| update != 0) {
                    let t = now.duration_since(self.start).as_secs_f64();
                    self.speed.push_back((t, f64::from(speed.max(0.0))));
                }
            }
            Some(_) => {}
            None => self.last_update = None,
        }
        while self
            .updates
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > Duration::from_secs(1))
        {
            self.updates.pop_front();
        }
        let oldest = now.duration_since(self.start).as_secs_f64() - TRACE;
        while self.speed.front().is_some_and(|(t, _)| *t < oldest) {
            self.speed.pop_front();
        }
        for (page, raw) in sample.raw() {
            let track = self.raw.entry(page.name.clone()).or_default();
            if track.previous.len() != raw.bytes.len() {
                track.changed_at = vec![None; raw.bytes.len()];
            } else {
                for (i, (a, b)) in track.previous.iter().zip(&raw.bytes).enumerate() {
                    if a != b {
                        track.changed_at[i] = Some(now);
                        track.last_change = Some(now);
                    }
                }
            }
            track.previous.clone_from(&raw.bytes);
            track.recent = track
                .changed_at
                .iter()
                .filter(|at| at.is_some_and(|at| now.duration_since(at) < HIGHLIGHT))
                .count();
        }
        self.sample = Some(sample);
    }

    /// Moves the raw view's selection by `by` pages, round.
    pub fn select(&mut self, by: isize) {
        let n = self.sample.as_ref().map_or(0, |s| s.pages.len());
        if n > 0 {
            self.selected = (self.selected as isize + by).rem_euclid(n as isize) as usize;
            self.scroll = 0;
        }
    }

    /// Scrolls the hex view by `by` rows.
    pub fn scroll(&mut self, by: isize) {
        self.scroll = self.scroll.saturating_add_signed(by);
    }

    /// Updates a second over the last second.
    pub fn rate(&self) -> Option<f64> {
        let (first, last) = (self.updates.front()?, self.updates.back()?);
        let span = last.0.duration_since(first.0).as_secs_f64();
        (span > 0.2).then(|| last.1.wrapping_sub(first.1) as f64 / span)
    }
}
