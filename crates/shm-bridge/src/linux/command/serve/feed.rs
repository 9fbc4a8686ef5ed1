//! The samples every client gets: a thread reads the title's pages on each
//! of the game's frames (or, without an update event, when their counters
//! moved, looked at `--rate` times a second), and each fresh sample is
//! written once, as the document `watch --once --json` prints, for every
//! client to send as it is.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::Bytes;
use axum::extract::ws::Utf8Bytes;
use tokio::sync::watch;

use crate::linux::watch::json::write_sample;
use crate::linux::watch::reader::RELOOK;
use crate::linux::watch::{Pace, Source, is_fresh};
use crate::model::Telemetry;

/// One sample, as every client is sent it.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The document, as `watch --once --json` writes it (no newline).
    pub json: Bytes,
    /// The same, as a WebSocket text message holds it.
    pub text: Utf8Bytes,
    /// Whether it holds the title's telemetry; without, no game is running
    /// (the document says which pages are missing, or what went wrong).
    pub live: bool,
}

/// The latest snapshot, for every client to wait on.
pub type Latest = watch::Receiver<Arc<Snapshot>>;

/// The thread that reads the pages.
#[derive(Debug)]
pub struct Feed {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Feed {
    /// Starts reading `source` (every `period` without frames), and returns
    /// once the first sample is in.
    pub fn start(source: Source, period: Duration) -> Result<(Feed, Latest)> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut sampler = Sampler::new(source);
        // The first sample is always fresh.
        let first = sampler
            .next()
            .context("the first sample could not be written as JSON")?;
        let (tx, rx) = watch::channel(Arc::new(first));
        let done = stop.clone();
        let thread = std::thread::Builder::new()
            .name("serve-feed".into())
            .spawn(move || sampler.run(&tx, period, &done))
            .context("starting the thread that reads the pages")?;
        Ok((
            Feed {
                stop,
                thread: Some(thread),
            },
            rx,
        ))
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads samples and tells fresh ones.
struct Sampler {
    source: Source,
    /// The last live sample's telemetry.
    last: Option<Telemetry>,
    /// The last document sent, to tell a change without telemetry.
    sent: Option<Snapshot>,
    /// Where documents are written (kept between samples).
    buf: Vec<u8>,
}

impl Sampler {
    fn new(source: Source) -> Sampler {
        Sampler {
            source,
            last: None,
            sent: None,
            buf: Vec::with_capacity(16 << 10),
        }
    }

    /// Samples on each frame or period until told to stop, sending each
    /// fresh one.
    fn run(&mut self, tx: &watch::Sender<Arc<Snapshot>>, period: Duration, stop: &AtomicBool) {
        let mut pace = Pace::new(period);
        // With no game running, pages are looked for less often.
        let mut idle = Pace::new(RELOOK.max(period));
        while !stop.load(Ordering::Relaxed) {
            let no_game = self.sent.as_ref().is_some_and(|s| !s.live);
            let pace = if no_game { &mut idle } else { &mut pace };
            let frame = pace.wait(self.source.frames.as_ref(), None);
            // Between frames, a look at the pages' counters is enough to
            // tell that nothing moved.
            if !frame && !self.source.reader.may_have_news() {
                continue;
            }
            if let Some(snapshot) = self.next() {
                tx.send_replace(Arc::new(snapshot));
            }
        }
    }

    /// A sample, if it is fresh: live telemetry whose update counter moved,
    /// or, without telemetry, a document other than the last one sent.
    fn next(&mut self) -> Option<Snapshot> {
        let sample = self.source.reader.sample();
        let telemetry = sample.decoded.as_ref().map(|d| &d.telemetry);
        let live = telemetry.is_some();
        if let Some(now) = telemetry {
            if !is_fresh(self.last.as_ref(), now) {
                return None;
            }
            self.last = Some(now.clone());
        } else {
            self.last = None;
        }
        self.buf.clear();
        let title = &self.source.watched.title;
        if write_sample(&mut self.buf, &sample, Duration::ZERO, title, None).is_err() {
            // Writing JSON to memory fails only on a value JSON cannot hold.
            return None;
        }
        if !live
            && self
                .sent
                .as_ref()
                .is_some_and(|s| !s.live && s.json == self.buf)
        {
            return None;
        }
        let json = Bytes::copy_from_slice(&self.buf);
        // serde_json writes UTF-8.
        let text = Utf8Bytes::try_from(json.clone()).ok()?;
        let snapshot = Snapshot { json, text, live };
        self.sent = Some(snapshot.clone());
        Some(snapshot)
    }
}
