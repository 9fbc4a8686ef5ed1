use ratatui::Terminal;
use ratatui::backend::TestBackend;

use super::*;
use crate::linux::watch::reader::{PageSample, ReadError, Reading};
use crate::titles::ac::{self, synthetic};
use crate::titles::{Copies, Family};

fn screen_text(terminal: &Terminal<TestBackend>) -> String {
    let buffer = terminal.backend().buffer();
    let mut text = String::new();
    for y in 0..buffer.area.height {
        for x in 0..buffer.area.width {
            text.push_str(buffer[(x, y)].symbol());
        }
        text.push('\n');
    }
    text
}

fn target(game: &str) -> Target {
    Target::new("Assetto Corsa Competizione".into(), Some(game.into()), None)
}

/// A sample of the ACC stand-in's three pages at update `id`.
fn acc_sample(id: i32) -> Sample {
    let mut bytes = [vec![0u8; 2048], vec![0u8; 2048], vec![0u8; 2048]];
    synthetic::physics(id).encode(&mut bytes[0]);
    synthetic::graphics(id).encode(&mut bytes[1]);
    synthetic::statics().encode(&mut bytes[2]);
    let mut copies = Copies::default();
    let labels = ["physics", "graphics", "static"];
    for (label, page) in labels.into_iter().zip(&bytes) {
        copies.push(label, page);
    }
    let pages = [ac::PHYSICS, ac::GRAPHICS, ac::STATIC]
        .into_iter()
        .zip(labels)
        .map(|(name, label)| PageSample {
            name: name.into(),
            path: format!("/dev/shm/{name}").into(),
            result: Ok(Reading::Decoded { label, len: 2048 }),
        })
        .collect();
    Sample {
        pages,
        decoded: Some(ac::FAMILY.decode(&copies)),
        taken: Instant::now(),
    }
}

#[test]
fn the_dashboard_shows_what_the_pages_hold() {
    let target = target("acc");
    let mut view = View::new(&target, "/dev/shm".into(), true);
    for id in [100, 101] {
        view.update(acc_sample(id));
    }
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| draw(f, &view)).unwrap();
    let text = screen_text(&terminal);
    for expected in [
        "Assetto Corsa Competizione",
        "porsche_992_gt3_r at spa",
        "LAP 1",
        "P3 / 24",
        "km/h",
        "9 250 rpm",
        "throttle",
        "brake",
        "fuel",
        "L of 120",
        "packet 101",
        "race · live",
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
}

#[test]
fn a_missing_page_shows_what_it_waits_for() {
    let target = target("Assetto Corsa Competizione");
    let mut view = View::new(&target, "/dev/shm".into(), true);
    view.update(Sample {
        pages: vec![PageSample {
            name: "acpmf_physics".into(),
            path: "/dev/shm/acpmf_physics".into(),
            result: Err(ReadError::Missing {
                path: "/dev/shm/acpmf_physics".into(),
            }),
        }],
        decoded: None,
        taken: Instant::now(),
    });
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
    terminal.draw(|f| draw(f, &view)).unwrap();
    let text = screen_text(&terminal);
    assert!(text.contains("waiting for acpmf_physics..."), "{text}");
    assert!(
        text.contains("launch --game 'Assetto Corsa Competizione' -- %command%"),
        "{text}"
    );
}

#[test]
fn a_page_of_any_bytes_draws_without_panicking() {
    let target = target("acc");
    let mut view = View::new(&target, "/dev/shm".into(), true);
    for fill in [0u8, 0xff, 0x7f] {
        let page = vec![fill; 2048];
        let mut copies = Copies::default();
        for label in ["physics", "graphics", "static"] {
            copies.push(label, &page);
        }
        let mut sample = acc_sample(1);
        sample.decoded = Some(ac::FAMILY.decode(&copies));
        view.update(sample);
        for (w, h) in [(100, 30), (40, 10), (200, 60)] {
            let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap();
            terminal.draw(|f| draw(f, &view)).unwrap();
        }
    }
}

#[test]
fn tyres_and_flags_are_shown_when_the_title_publishes_them() {
    let target = target("acc");
    let mut view = View::new(&target, "/dev/shm".into(), true);
    let mut sample = acc_sample(100);
    let decoded = sample.decoded.as_mut().unwrap();
    decoded.telemetry.tyre_temps_c = Some([81.0, 82.0, 83.0, 124.0]);
    decoded.telemetry.tyre_pressures_kpa = Some([172.0, 173.0, 174.0, 175.0]);
    decoded.telemetry.flags = Some(vec![crate::model::Flag::Yellow]);
    view.update(sample);
    let mut terminal = Terminal::new(TestBackend::new(110, 30)).unwrap();
    terminal.draw(|f| draw(f, &view)).unwrap();
    let text = screen_text(&terminal);
    for expected in ["YELLOW", "81°C", "124°C", "172kPa", "175kPa", "tyres"] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    // Without them: dashes, no made-up numbers.
    let mut view = View::new(&target, "/dev/shm".into(), true);
    let mut sample = acc_sample(100);
    let decoded = sample.decoded.as_mut().unwrap();
    decoded.telemetry.tyre_temps_c = None;
    decoded.telemetry.tyre_pressures_kpa = None;
    decoded.telemetry.flags = None;
    view.update(sample);
    terminal.draw(|f| draw(f, &view)).unwrap();
    let text = screen_text(&terminal);
    assert!(!text.contains("°C") && !text.contains("YELLOW"), "{text}");
}
