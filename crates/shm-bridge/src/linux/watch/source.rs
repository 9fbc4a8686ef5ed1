//! A title's pages as the commands that follow them read them (`watch`,
//! `record`, `serve`): the title resolved, a reader of every place the pages
//! may be in, the game's frames where the title has an update event, the
//! pace of samples between frames, and which samples are fresh.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::frames::Frames;
use super::reader::Reader;
use super::target::{self, Watched};
use crate::cli::maps::MapArgs;
use crate::core::presets::Presets;
use crate::linux::places::Place;
use crate::model::Telemetry;

/// What is followed and how it is read.
#[derive(Debug)]
pub struct Source {
    /// The title and its mappings.
    pub watched: Watched,
    /// The place read first.
    pub place: Place,
    /// Reads the pages.
    pub reader: Reader,
    /// The game's frames, if the title has an update event.
    pub frames: Option<Frames>,
}

impl Source {
    /// The mappings of `maps` (or the title bridged now) in `places`.
    pub fn resolve(maps: &MapArgs, presets: &Presets, places: Vec<Place>) -> Result<Source> {
        let (watched, place) = target::resolve(maps, presets, &places)?;
        Ok(Source::new(watched, place, places))
    }

    /// `watched`, read in `place` first, then in the first of `places`
    /// holding its pages (pages that are nowhere yet are looked for in
    /// every place as they come).
    pub fn new(watched: Watched, place: Place, places: Vec<Place>) -> Source {
        let dirs: Vec<PathBuf> = std::iter::once(place.path.clone())
            .chain(places.into_iter().map(|p| p.path))
            .collect();
        let frames = Frames::follow(dirs.clone(), watched.events.clone());
        let reader = Reader::new(&place.path, &watched.specs, watched.family).also_in(dirs);
        Source {
            watched,
            place,
            reader,
            frames,
        }
    }
}

/// When the next sample is taken: on each of the game's frames, and every
/// `period` without one, on schedule however long a sample took.
#[derive(Debug)]
pub struct Pace {
    period: Duration,
    next: Instant,
}

impl Pace {
    /// A sample every `period` from now.
    pub fn new(period: Duration) -> Pace {
        Pace {
            period,
            next: Instant::now(),
        }
    }

    /// Waits for the next frame or the next period, at most until
    /// `deadline` (a last sample is then taken at the deadline); says
    /// whether a frame came.
    pub fn wait(&mut self, frames: Option<&Frames>, deadline: Option<Instant>) -> bool {
        let now = Instant::now();
        self.next = self.next.checked_add(self.period).unwrap_or(now).max(now);
        let until = deadline.map_or(self.next, |d| self.next.min(d));
        let frame = match frames {
            Some(frames) => frames.wait_until(until),
            None => {
                std::thread::sleep(until.saturating_duration_since(now));
                false
            }
        };
        if frame {
            // The next look without a frame is a period after this one.
            self.next = Instant::now();
        }
        frame
    }
}

/// A sample is fresh when the game's update counter moved, or, for a
/// title without one, when anything did.
pub fn is_fresh(last: Option<&Telemetry>, now: &Telemetry) -> bool {
    match (last, now.update) {
        (None, _) => true,
        (Some(last), Some(update)) => last.update != Some(update),
        (Some(last), None) => last != now,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_is_a_moved_counter_or_any_change_without_one() {
        let a = Telemetry {
            update: Some(1),
            speed_kmh: Some(1.0),
            ..Telemetry::default()
        };
        assert!(is_fresh(None, &a));
        assert!(!is_fresh(Some(&a), &a));
        let b = Telemetry {
            update: Some(2),
            ..a.clone()
        };
        assert!(is_fresh(Some(&a), &b));
        let c = Telemetry {
            update: None,
            ..a.clone()
        };
        assert!(!is_fresh(Some(&c), &c));
    }

    #[test]
    fn the_pace_keeps_its_schedule_and_stops_at_the_deadline() {
        let mut pace = Pace::new(Duration::from_secs(3600));
        let start = Instant::now();
        let deadline = start + Duration::from_millis(20);
        assert!(!pace.wait(None, Some(deadline)));
        assert!(Instant::now() >= deadline);
        assert!(start.elapsed() < Duration::from_secs(60));
    }
}
