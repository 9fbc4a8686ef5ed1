//! The full-screen view of `shm-bridge watch`: the dashboard of a decoded
//! title ([`dashboard`]), and a live hex view of pages of unknown layout
//! ([`rawview`]), in a frame that says whether data is flowing.
//!
//! The terminal is put back on every way out: a normal quit, an error
//! (the [`terminal::Screen`] guard drops), a panic (ratatui's panic hook,
//! then the guard while unwinding), and SIGINT, SIGTERM or SIGHUP, which end
//! the loop instead of the process and do what they did before once the
//! terminal is restored. A terminal that hangs up ends the view too.

mod dashboard;
mod font;
mod keys;
mod rawview;
mod state;
mod terminal;
mod widgets;

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Padding, Paragraph, Wrap};
use ratatui::{DefaultTerminal, Frame};

use super::frames::Frames;
use super::reader::{Reader, Sample};
use super::target::Target;
use super::text::plain_line;
use keys::{Key, Keyboard};
use state::HIGHLIGHT;
use state::View;
use widgets::{key, spinner};

/// Samples a second for the dashboard (the game writes 60 to 300).
const DASHBOARD_PERIOD: Duration = Duration::from_millis(33);
/// Raw pages can be large (rF2's are 250 kB each): a few looks a second.
const RAW_PERIOD: Duration = Duration::from_millis(250);
/// No new update for this long: the game is paused, in a menu, or gone.
const STALE: Duration = Duration::from_secs(2);

/// Runs the view until q, Esc, Ctrl-C, a signal or the deadline, drawing
/// on each of the game's `frames` too. Returns whether any page was ever read.
pub fn run(reader: &mut Reader, target: &Target, frames: Option<&Frames>) -> Result<bool> {
    let signals = terminal::Signals::install()?;
    let mut screen = terminal::Screen::open()?;
    let mut view = View::new(target, reader.dir().display().to_string(), reader.decodes());
    let result = event_loop(&mut screen.terminal, reader, &mut view, &signals, frames);
    drop(screen);
    if let Some(signal) = signals.restore() {
        // The terminal is back; now the signal does what it did before.
        terminal::die_of(signal);
    }
    result?;
    if let Some(sample) = view.sample.as_ref().filter(|s| s.any_read()) {
        // The alternate screen is gone: leave the last sample in the scrollback.
        outln!("last sample: {}", plain_line(sample, view.start.elapsed()))?;
    }
    Ok(view.seen)
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    reader: &mut Reader,
    view: &mut View<'_>,
    signals: &terminal::Signals,
    frames: Option<&Frames>,
) -> Result<()> {
    let period = if view.decodes {
        DASHBOARD_PERIOD
    } else {
        RAW_PERIOD
    };
    let mut keyboard = Keyboard::open();
    let mut next_sample = Instant::now();
    loop {
        let now = Instant::now();
        if signals.caught().is_some() || view.target.deadline.is_some_and(|d| now >= d) {
            return Ok(());
        }
        if now >= next_sample {
            view.update(reader.sample());
            next_sample = next_sample.checked_add(period).unwrap_or(now).max(now);
        }
        terminal
            .draw(|frame| draw(frame, view))
            .context("drawing the live view")?;
        let wait = next_sample
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(50));
        let (keys, frame) = keyboard.wait(wait, frames.map(Frames::fd));
        if frame && frames.is_some_and(Frames::take) {
            // A frame was written: show it now, and look again a period on
            // if no other comes.
            next_sample = Instant::now();
        }
        for key in keys {
            match key {
                Key::Quit => return Ok(()),
                Key::Next => view.select(1),
                Key::Previous => view.select(-1),
                Key::PageDown => view.scroll(16),
                Key::PageUp => view.scroll(-16),
                Key::Home => view.scroll(isize::MIN / 2),
                Key::End => view.scroll(isize::MAX / 2),
            }
        }
    }
}

/// The frame, and in it the dashboard, the raw view, or what is awaited.
fn draw(frame: &mut Frame, view: &View<'_>) {
    let area = frame.area();
    let Some(sample) = &view.sample else {
        return;
    };
    let outer = Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(Color::DarkGray))
        .padding(Padding::horizontal(1))
        .title(Line::from(vec![
            Span::styled(" shm-bridge watch · ", Style::new().fg(Color::Gray)),
            Span::styled(
                format!("{} ", view.target.title),
                Style::new().fg(Color::White).add_modifier(Modifier::BOLD),
            ),
        ]))
        .title(status(view, sample).right_aligned())
        .title_bottom(Line::from(vec![
            key(" q "),
            Span::styled(" quit ", Style::new().fg(Color::Gray)),
            if view.decodes {
                Span::raw("")
            } else {
                Span::styled(
                    " ↑↓ mapping  PgUp/PgDn scroll ",
                    Style::new().fg(Color::Gray),
                )
            },
        ]))
        .title_bottom(footer(view, sample).right_aligned());
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if inner.width < 60 || inner.height < 14 {
        // Too small for gauges: the one-line summary, wrapped.
        let text = plain_line(sample, view.start.elapsed());
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
        return;
    }
    match sample.decoded.as_ref().filter(|_| view.decodes) {
        Some(decoded) => dashboard::draw(frame, inner, view, &decoded.telemetry),
        None if view.decodes && !sample.missing().is_empty() => {
            draw_waiting(frame, inner, view, sample);
        }
        None if view.decodes => dashboard::draw(frame, inner, view, &Default::default()),
        None => rawview::draw(frame, inner, view, sample),
    }
}

/// Top right: live, stale or waiting.
fn status(view: &View<'_>, sample: &Sample) -> Line<'static> {
    let missing = sample.missing();
    if !sample.any_read() {
        return Line::from(Span::styled(
            format!(" {} waiting ", spinner(view.start)),
            Style::new().fg(Color::Yellow),
        ));
    }
    if let Some(t) = sample.decoded.as_ref().map(|d| &d.telemetry) {
        let stale = view.last_advance.is_none_or(|at| at.elapsed() > STALE);
        if stale {
            let paused = t
                .status
                .filter(|s| *s != crate::model::Status::Live)
                .map(|s| format!(" ({s})"))
                .unwrap_or_default();
            return Line::from(Span::styled(
                format!(" ○ no new data{paused} "),
                Style::new().fg(Color::Yellow),
            ));
        }
        let rate = view
            .rate()
            .map(|r| format!(" {r:.0} Hz"))
            .unwrap_or_default();
        return Line::from(Span::styled(
            format!(" ● LIVE{rate} "),
            Style::new().fg(Color::Green).add_modifier(Modifier::BOLD),
        ));
    }
    if missing.is_empty() {
        Line::from(Span::styled(" ● reading ", Style::new().fg(Color::Green)))
    } else {
        Line::from(Span::styled(
            format!(
                " {} of {} mapped ",
                sample.pages.len() - missing.len(),
                sample.pages.len()
            ),
            Style::new().fg(Color::Yellow),
        ))
    }
}

/// Bottom right: where the data comes from.
fn footer(view: &View<'_>, sample: &Sample) -> Line<'static> {
    let mut spans = Vec::new();
    for (page, _) in sample.raw().filter(|_| view.decodes) {
        let live = view
            .raw
            .get(&page.name)
            .and_then(|t| t.last_change)
            .is_some_and(|at| at.elapsed() < HIGHLIGHT);
        spans.push(Span::styled(
            format!(
                " {} {} ",
                page.name,
                if live { "changing" } else { "still" }
            ),
            Style::new().fg(if live { Color::Green } else { Color::DarkGray }),
        ));
    }
    let packet = sample
        .decoded
        .as_ref()
        .and_then(|d| d.telemetry.update)
        .map(|u| format!(" · packet {u}"))
        .unwrap_or_default();
    spans.push(Span::styled(
        format!(" {}{packet} ", view.dir),
        Style::new().fg(Color::Gray),
    ));
    Line::from(spans)
}

/// What the view waits for, and how to start the game through the bridge.
fn draw_waiting(frame: &mut Frame, area: Rect, view: &View<'_>, sample: &Sample) {
    let game = view.target.game.as_deref().map_or("TITLE".into(), |g| {
        shlex::try_quote(g).map_or_else(|_| "TITLE".into(), |q| q.into_owned())
    });
    let mut lines = vec![
        Line::from(Span::styled(
            format!(
                "{}  waiting for {}...",
                spinner(view.start),
                sample.missing().join(", ")
            ),
            Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
        )),
        Line::raw(""),
        Line::from(Span::styled(
            format!("in {}", view.dir),
            Style::new().fg(Color::Gray),
        )),
        Line::raw(""),
        Line::from(Span::styled(
            "Start the game through the bridge: in Steam, set its launch options to",
            Style::new().fg(Color::Gray),
        )),
        Line::from(Span::styled(
            format!("shm-bridge launch --game {game} -- %command%"),
            Style::new().fg(Color::Cyan),
        )),
        Line::from(Span::styled(
            "(or try `shm-bridge demo`). The view picks the pages up when they appear.",
            Style::new().fg(Color::Gray),
        )),
    ];
    for problem in sample.problems() {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            problem,
            Style::new().fg(Color::Red),
        )));
    }
    let height = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let [_, middle, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(height),
        Constraint::Fill(1),
    ])
    .areas(area);
    frame.render_widget(
        Paragraph::new(lines)
            .alignment(Alignment::Center)
            .wrap(Wrap { trim: true }),
        middle,
    );
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
