//! Whole titles: ACC's three pages at 60 Hz, and any title's known
//! scenario written with its update protocol.

use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use shm_bridge::core::presets::Presets;
use shm_bridge::scenario::Publish;
use shm_bridge::titles::{
    self,
    ac::{self, synthetic},
};
use shmem::ShBytes;

use crate::standin::{RunArgs, mapping};

/// One of the pages ACC bumps a packet id in.
struct Page {
    name: &'static str,
    view: &'static mut ShBytes,
    /// The next update, encoded here first and then copied in.
    buf: Vec<u8>,
}

impl Page {
    fn open(name: &'static str, len: usize) -> Result<Page, String> {
        Ok(Page {
            name,
            view: mapping(&format!("Local\\{name}"), len)?,
            buf: vec![0; len],
        })
    }

    /// Copies the update in: every field first, then the packet id (at
    /// offset 0) with release ordering, so that a reader that sees the
    /// new id after the copy also sees the fields it stands for.
    fn publish(&mut self) -> Result<(), String> {
        let (packet_id, fields) = self.view.split_at_mut(4);
        fields.copy_from_slice(&self.buf[4..]);
        let id = i32::from_le_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
        packet_id
            .atomics::<AtomicI32>()
            .map_err(|e| format!("{}: {e}", self.name))?[0]
            .store(id, Ordering::Release);
        Ok(())
    }
}

pub fn acc_session(run: &RunArgs) -> Result<(), String> {
    let mut physics = Page::open(ac::PHYSICS, ac::PHYSICS_LEN)?;
    let mut graphics = Page::open(ac::GRAPHICS, ac::GRAPHICS_LEN)?;
    let statics = mapping(&format!("Local\\{}", ac::STATIC), ac::STATIC_LEN)?;

    let session = synthetic::statics();
    let mut buf = vec![0u8; ac::STATIC_LEN];
    session.encode(&mut buf);
    statics.copy_from_slice(&buf);
    println!(
        "static page written: {} at {}",
        session.car_model, session.track
    );
    println!("writing physics and graphics at {} Hz", synthetic::RATE_HZ);

    let start = Instant::now();
    let period = Duration::from_secs(1) / synthetic::RATE_HZ;
    let mut id: i32 = 0;
    while !run.expired(start) {
        id = id.checked_add(1).ok_or("packet id overflow")?;
        synthetic::physics(id).encode(&mut physics.buf);
        physics.publish()?;
        synthetic::graphics(id).encode(&mut graphics.buf);
        graphics.publish()?;
        // Ticks are counted from the start, so sleeping late never drifts the rate.
        let next = period
            .checked_mul(id.unsigned_abs())
            .and_then(|d| start.checked_add(d))
            .ok_or("the clock ran out")?;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    println!("wrote {id} packets; done");
    Ok(())
}

/// How long `--torn` stops halfway through a page.
const TORN_PAUSE: Duration = Duration::from_micros(100);

/// Writes `game`'s scenario: frame `frame` held, or `rate` frames a second
/// until `--seconds` pass.
pub fn scenario(
    game: &str,
    rate: u32,
    frame: Option<u32>,
    torn: bool,
    run: &RunArgs,
) -> Result<(), String> {
    let presets = Presets::builtin();
    let preset = presets.find(game).map_err(|e| e.to_string())?;
    let family = titles::of_preset(preset)
        .ok_or_else(|| format!("{}: shm-bridge does not decode its pages", preset.title))?;
    let session = family
        .scenario()
        .ok_or_else(|| format!("{}: no scenario for its pages", preset.title))?;
    // Mappings the game only locks (LMU's lock), as their words.
    let locked_by: Vec<&str> = session
        .frame(1)
        .iter()
        .filter_map(|u| match u.publish {
            Publish::UnderLock { lock, .. } => Some(lock),
            _ => None,
        })
        .collect();
    let mut pages = Vec::new();
    let mut locks: Vec<(String, &'static [AtomicI32])> = Vec::new();
    for spec in preset.specs().map_err(|e| e.to_string())? {
        let size = spec.size.ok_or_else(|| format!("{}: no size", spec.name))?;
        let size = usize::try_from(size).map_err(|_| format!("{}: too large", spec.name))?;
        let view = mapping(spec.name.as_str(), size)?;
        let file = spec.file_name().to_owned();
        if locked_by.contains(&file.as_str()) {
            let words = view
                .atomics::<AtomicI32>()
                .map_err(|e| format!("{}: {e}", spec.name))?;
            locks.push((file, words));
        } else {
            pages.push((file, view));
        }
    }
    let mut write = |n: u32| -> Result<(), String> {
        for update in session.frame(n) {
            let lock = match update.publish {
                Publish::UnderLock { lock, busy } => locks
                    .iter()
                    .find(|(file, _)| file == lock)
                    .and_then(|(_, words)| words.get(busy / 4)),
                _ => None,
            };
            if let Some((_, page)) = pages.iter_mut().find(|(file, _)| file == update.file) {
                update
                    .publish_with(page, lock, || {
                        if torn {
                            // Shorter than a reader's pause between its two
                            // copies: a counter written last (AC's) tells a
                            // torn copy only from a writer that finishes.
                            let until = Instant::now() + TORN_PAUSE;
                            while Instant::now() < until {
                                std::hint::spin_loop();
                            }
                        }
                    })
                    .map_err(|e| format!("{}: {e}", update.file))?;
            }
        }
        Ok(())
    };
    let start = Instant::now();
    if let Some(n) = frame {
        write(n)?;
        println!("frame {n} written; holding it");
        while run.seconds.is_none() || !run.expired(start) {
            std::thread::sleep(Duration::from_millis(50));
        }
        return Ok(());
    }
    let period = Duration::from_secs(1) / rate;
    let mut n: u32 = 0;
    while !run.expired(start) {
        n = n.checked_add(1).ok_or("frame number overflow")?;
        write(n)?;
        if n == 1 {
            println!("writing {} frames at {rate} Hz", preset.title);
        }
        let next = period
            .checked_mul(n)
            .and_then(|d| start.checked_add(d))
            .ok_or("the clock ran out")?;
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    println!("wrote {n} frames; done");
    Ok(())
}
