//! The full-screen view of `shm-bridge watch`: a dashboard for the ACC
//! family (big speed and gear, shift lights, pedal and fuel bars, a speed
//! trace), and a live hex view of pages of unknown layout.
//!
//! The terminal is put back on every way out: a normal quit, an error
//! (the [`Screen`] guard drops), a panic (ratatui's panic hook, then the
//! guard while unwinding), and SIGINT, SIGTERM or SIGHUP, which end the
//! loop instead of the process and are raised again once the terminal and
//! the previous handlers are restored. A terminal that hangs up (its window
//! closed) ends the view too: keys are read here, not by crossterm, whose
//! reader retries a read that returns end-of-file forever.

use std::collections::{HashMap, VecDeque};
use std::io::{IsTerminal, Read};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, BorderType, Chart, Dataset, GraphType, Padding, Paragraph, Wrap,
};
use ratatui::{DefaultTerminal, Frame};

use crate::acc::{Graphics, Physics, Static};
use crate::linux::command::watch::{Target, plain_line};
use crate::linux::telemetry::{RawPage, ReadError, Sample, Telemetry};

/// Samples a second for the dashboard (the game writes 60 to 300).
const DASHBOARD_PERIOD: Duration = Duration::from_millis(33);
/// Raw pages can be large (rF2's are 250 kB each): a few looks a second.
const RAW_PERIOD: Duration = Duration::from_millis(250);
/// The speed trace's span.
const TRACE: f64 = 20.0;
/// No new packet for this long: the game is paused, in a menu, or gone.
const STALE: Duration = Duration::from_secs(2);
/// A changed byte stays highlighted this long.
const HIGHLIGHT: Duration = Duration::from_secs(1);

/// Runs the view until q, Esc, Ctrl-C, a signal or the deadline.
/// Returns whether any page was ever read.
pub fn run(telemetry: &mut Telemetry, target: &Target) -> Result<bool> {
    let signals = Signals::install();
    let mut screen = Screen::open()?;
    let mut view = View::new(target, telemetry.dir().display().to_string());
    let result = event_loop(&mut screen.terminal, telemetry, &mut view);
    drop(screen);
    if let Some(signal) = signals.restore() {
        // The terminal is back; now the signal does what it did before.
        // SAFETY: raise() only sends a signal to this process.
        unsafe { libc::raise(signal) };
    }
    if result.is_ok()
        && let Some(sample) = view.sample.as_ref().filter(|s| s.any_read())
    {
        // The alternate screen is gone: leave the last sample in the scrollback.
        println!("last sample: {}", plain_line(sample, view.start.elapsed()));
    }
    result.map(|()| view.seen)
}

/// The terminal in raw mode on the alternate screen, until dropped.
struct Screen {
    terminal: DefaultTerminal,
}

impl Screen {
    fn open() -> Result<Screen> {
        // try_init also installs a panic hook that restores the terminal.
        match ratatui::try_init() {
            Ok(terminal) => Ok(Screen { terminal }),
            Err(e) => {
                ratatui::restore();
                Err(e).context("setting up the terminal for the live view")
            }
        }
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        ratatui::restore();
    }
}

/// The last terminating signal received while the view runs (0: none).
static CAUGHT: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(signal: libc::c_int) {
    CAUGHT.store(signal, Ordering::Relaxed);
}

/// Our handlers for SIGINT, SIGTERM and SIGHUP, and the ones they replaced.
struct Signals {
    previous: Vec<(libc::c_int, libc::sigaction)>,
}

impl Signals {
    const HANDLED: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

    fn install() -> Signals {
        CAUGHT.store(0, Ordering::Relaxed);
        let mut previous = Vec::new();
        for signal in Self::HANDLED {
            // SAFETY: zeroes are a valid sigaction (no flags, empty mask, SIG_DFL).
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            // SAFETY: zeroes are a valid sigaction to be overwritten.
            let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
            // SAFETY: both structs are valid for the call; the handler only stores
            // to an atomic, which is async-signal-safe.
            if unsafe { libc::sigaction(signal, &action, &mut old) } == 0 {
                previous.push((signal, old));
            }
        }
        Signals { previous }
    }

    fn caught() -> Option<libc::c_int> {
        Some(CAUGHT.load(Ordering::Relaxed)).filter(|&s| s != 0)
    }

    /// Puts the previous handlers back; returns the signal caught, if any.
    fn restore(mut self) -> Option<libc::c_int> {
        self.put_back();
        Self::caught()
    }

    fn put_back(&mut self) {
        for (signal, old) in self.previous.drain(..) {
            // SAFETY: `old` is what sigaction gave us for this signal.
            unsafe { libc::sigaction(signal, &old, std::ptr::null_mut()) };
        }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.put_back();
    }
}

fn event_loop(
    terminal: &mut DefaultTerminal,
    telemetry: &mut Telemetry,
    view: &mut View<'_>,
) -> Result<()> {
    let period = if telemetry.decodes() {
        DASHBOARD_PERIOD
    } else {
        RAW_PERIOD
    };
    let mut keyboard = Keyboard::open();
    let mut next_sample = Instant::now();
    loop {
        let now = Instant::now();
        if Signals::caught().is_some() || view.target.deadline.is_some_and(|d| now >= d) {
            return Ok(());
        }
        if now >= next_sample {
            view.update(telemetry.sample());
            next_sample = (next_sample + period).max(now);
        }
        terminal
            .draw(|frame| view.draw(frame))
            .context("drawing the live view")?;
        let wait = next_sample
            .saturating_duration_since(Instant::now())
            .min(Duration::from_millis(50));
        for key in keyboard.wait(wait) {
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

/// What a key asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    /// q, Esc, Ctrl-C, Ctrl-D, or the terminal hung up.
    Quit,
    /// ↓, Tab, j.
    Next,
    /// ↑, Shift-Tab, k.
    Previous,
    PageDown,
    PageUp,
    Home,
    End,
}

/// The keyboard: the terminal on stdin, else the controlling terminal,
/// else none (then only a signal or the deadline ends the view).
enum Keyboard {
    Stdin(std::io::Stdin),
    Tty(std::fs::File),
    None,
}

impl Keyboard {
    fn open() -> Keyboard {
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Keyboard::Stdin(stdin);
        }
        std::fs::File::open("/dev/tty").map_or(Keyboard::None, Keyboard::Tty)
    }

    fn fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Keyboard::Stdin(stdin) => Some(stdin.as_fd()),
            Keyboard::Tty(tty) => Some(tty.as_fd()),
            Keyboard::None => None,
        }
    }

    /// Waits up to `timeout` for keys and returns them.
    fn wait(&mut self, timeout: Duration) -> Vec<Key> {
        let Some(fd) = self.fd() else {
            std::thread::sleep(timeout);
            return Vec::new();
        };
        let timespec = rustix::event::Timespec {
            tv_sec: timeout.as_secs() as _,
            tv_nsec: timeout.subsec_nanos() as _,
        };
        let mut fds = [rustix::event::PollFd::from_borrowed_fd(
            fd,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, Some(&timespec)) {
            Ok(0) | Err(rustix::io::Errno::INTR) => return Vec::new(),
            Ok(_) => {}
            Err(_) => return vec![Key::Quit],
        }
        let revents = fds[0].revents();
        if !revents.contains(rustix::event::PollFlags::IN) {
            // Hung up or gone, with nothing left to read.
            return vec![Key::Quit];
        }
        let mut buf = [0u8; 64];
        let n = match self {
            Keyboard::Stdin(stdin) => stdin.lock().read(&mut buf),
            Keyboard::Tty(tty) => tty.read(&mut buf),
            Keyboard::None => Ok(0),
        };
        match n {
            Ok(0) => vec![Key::Quit],
            Ok(n) => parse_keys(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Vec::new(),
            Err(_) => vec![Key::Quit],
        }
    }
}

/// The keys in what the terminal sent (raw mode: bytes, and escape
/// sequences for the arrows and paging keys). Unknown input is skipped.
fn parse_keys(bytes: &[u8]) -> Vec<Key> {
    let mut keys = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let key = match bytes[i] {
            b'q' | b'Q' | 0x03 | 0x04 => Some(Key::Quit),
            b'\t' | b'j' => Some(Key::Next),
            b'k' => Some(Key::Previous),
            b' ' => Some(Key::PageDown),
            0x1b if i + 1 == bytes.len() => Some(Key::Quit),
            0x1b if matches!(bytes[i + 1], b'[' | b'O') => {
                // CSI or SS3: parameters, then one final byte in 0x40..=0x7e.
                let start = i + 2;
                let end = bytes[start..]
                    .iter()
                    .position(|b| (0x40..=0x7e).contains(b))
                    .map_or(bytes.len() - 1, |p| start + p);
                let key = match &bytes[start..=end.min(bytes.len() - 1)] {
                    b"A" => Some(Key::Previous),
                    b"B" => Some(Key::Next),
                    b"Z" => Some(Key::Previous),
                    b"5~" => Some(Key::PageUp),
                    b"6~" => Some(Key::PageDown),
                    b"H" | b"1~" | b"7~" => Some(Key::Home),
                    b"F" | b"4~" | b"8~" => Some(Key::End),
                    _ => None,
                };
                i = end;
                key
            }
            // Esc followed by something else (Alt+key): Esc.
            0x1b => Some(Key::Quit),
            _ => None,
        };
        keys.extend(key);
        i += 1;
    }
    keys
}

/// What the view remembers between samples.
struct View<'a> {
    target: &'a Target,
    dir: String,
    start: Instant,
    sample: Option<Sample>,
    seen: bool,
    /// (seconds since start, km/h), one point per new physics packet.
    speed: VecDeque<(f64, f64)>,
    /// Physics packet ids of the last second, for the update rate.
    ids: VecDeque<(Instant, i32)>,
    last_id: Option<i32>,
    last_advance: Option<Instant>,
    raw: HashMap<String, RawTrack>,
    selected: usize,
    /// First line (of 16 bytes) of the hex view.
    scroll: usize,
}

/// A raw page's history: when each byte last changed.
#[derive(Default)]
struct RawTrack {
    previous: Vec<u8>,
    changed_at: Vec<Option<Instant>>,
    last_change: Option<Instant>,
    /// Bytes that changed within [`HIGHLIGHT`], as of the last sample.
    recent: usize,
}

impl<'a> View<'a> {
    fn new(target: &'a Target, dir: String) -> View<'a> {
        View {
            target,
            dir,
            start: Instant::now(),
            sample: None,
            seen: false,
            speed: VecDeque::new(),
            ids: VecDeque::new(),
            last_id: None,
            last_advance: None,
            raw: HashMap::new(),
            selected: 0,
            scroll: 0,
        }
    }

    fn update(&mut self, sample: Sample) {
        let now = sample.taken;
        self.seen |= sample.any_read();
        if let Some(p) = sample.physics() {
            if self.last_id != Some(p.packet_id) {
                if self.last_id.is_some() {
                    self.last_advance = Some(now);
                }
                self.last_id = Some(p.packet_id);
                self.ids.push_back((now, p.packet_id));
                // Packet 0 is the zeroed page before the game's first write.
                if p.packet_id != 0 {
                    let t = now.duration_since(self.start).as_secs_f64();
                    self.speed.push_back((t, f64::from(p.speed_kmh.max(0.0))));
                }
            }
        } else {
            self.last_id = None;
        }
        while self
            .ids
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > Duration::from_secs(1))
        {
            self.ids.pop_front();
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

    fn select(&mut self, by: isize) {
        let n = self.sample.as_ref().map_or(0, |s| s.pages.len());
        if n > 0 {
            self.selected = (self.selected as isize + by).rem_euclid(n as isize) as usize;
            self.scroll = 0;
        }
    }

    fn scroll(&mut self, by: isize) {
        self.scroll = self.scroll.saturating_add_signed(by);
    }

    /// Packets a second over the last second.
    fn rate(&self) -> Option<f64> {
        let (first, last) = (self.ids.front()?, self.ids.back()?);
        let span = last.0.duration_since(first.0).as_secs_f64();
        (span > 0.2).then(|| f64::from(last.1.wrapping_sub(first.1)) / span)
    }

    fn draw(&self, frame: &mut Frame) {
        let area = frame.area();
        let Some(sample) = &self.sample else {
            return;
        };
        let outer = Block::bordered()
            .border_type(BorderType::Rounded)
            .border_style(Style::new().fg(Color::DarkGray))
            .padding(Padding::horizontal(1))
            .title(Line::from(vec![
                Span::styled(" shm-bridge watch · ", Style::new().fg(Color::Gray)),
                Span::styled(
                    format!("{} ", self.target.title),
                    Style::new().fg(Color::White).add_modifier(Modifier::BOLD),
                ),
            ]))
            .title(self.status(sample).right_aligned())
            .title_bottom(Line::from(vec![
                key(" q "),
                Span::styled(" quit ", Style::new().fg(Color::Gray)),
                if self.dashboard(sample) {
                    Span::raw("")
                } else {
                    Span::styled(
                        " ↑↓ mapping  PgUp/PgDn scroll ",
                        Style::new().fg(Color::Gray),
                    )
                },
            ]))
            .title_bottom(self.footer(sample).right_aligned());
        let inner = outer.inner(area);
        frame.render_widget(outer, area);
        if inner.width < 60 || inner.height < 14 {
            // Too small for gauges: the one-line summary, wrapped.
            let text = plain_line(sample, self.start.elapsed());
            frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), inner);
            return;
        }
        if sample.physics().is_none() && sample.missing().iter().any(|n| is_acc(n)) {
            self.draw_waiting(frame, inner, sample);
        } else if self.dashboard(sample) {
            self.draw_dashboard(frame, inner, sample);
        } else {
            self.draw_raw(frame, inner, sample);
        }
    }

    fn dashboard(&self, sample: &Sample) -> bool {
        sample.pages.iter().any(|p| is_acc(&p.name))
    }

    /// Top right: live, stale or waiting.
    fn status(&self, sample: &Sample) -> Line<'static> {
        let missing = sample.missing();
        if !sample.any_read() {
            return Line::from(Span::styled(
                format!(" {} waiting ", spinner(self.start)),
                Style::new().fg(Color::Yellow),
            ));
        }
        if sample.physics().is_some() {
            let stale = self.last_advance.is_none_or(|at| at.elapsed() > STALE);
            if stale {
                let paused = sample
                    .graphics()
                    .map(|g| g.status_label())
                    .filter(|s| *s != "live")
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default();
                return Line::from(Span::styled(
                    format!(" ○ no new data{paused} "),
                    Style::new().fg(Color::Yellow),
                ));
            }
            let rate = self
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
    fn footer(&self, sample: &Sample) -> Line<'static> {
        let mut spans = Vec::new();
        for (page, _) in sample.raw().filter(|_| self.dashboard(sample)) {
            let track = self.raw.get(&page.name);
            let live = track
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
            .physics()
            .map(|p| format!(" · packet {}", p.packet_id))
            .unwrap_or_default();
        spans.push(Span::styled(
            format!(" {}{packet} ", self.dir),
            Style::new().fg(Color::Gray),
        ));
        Line::from(spans)
    }

    fn draw_waiting(&self, frame: &mut Frame, area: Rect, sample: &Sample) {
        let missing = sample.missing();
        let mut lines = vec![
            Line::from(Span::styled(
                format!(
                    "{}  waiting for {}...",
                    spinner(self.start),
                    missing.join(", ")
                ),
                Style::new().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            )),
            Line::raw(""),
            Line::from(Span::styled(
                format!("in {}", self.dir),
                Style::new().fg(Color::Gray),
            )),
            Line::raw(""),
            Line::from(Span::styled(
                "Start the game through the bridge: in Steam, set its launch options to",
                Style::new().fg(Color::Gray),
            )),
            Line::from(Span::styled(
                format!(
                    "shm-bridge launch --game {} -- %command%",
                    self.target
                        .game
                        .as_deref()
                        .map_or("TITLE".into(), shell_word)
                ),
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
        let height = lines.len() as u16;
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

    fn draw_dashboard(&self, frame: &mut Frame, area: Rect, sample: &Sample) {
        let physics = sample.physics().cloned().unwrap_or_default();
        let graphics = sample.graphics();
        let statics = sample.statics();
        let [info, dials, bars, bottom] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Length(5),
            Constraint::Length(4),
            Constraint::Min(6),
        ])
        .areas(area);
        frame.render_widget(Paragraph::new(info_line(graphics, statics)), info);

        let [speed, gear, rpm] = Layout::horizontal([
            Constraint::Length(26),
            Constraint::Length(14),
            Constraint::Min(20),
        ])
        .spacing(1)
        .areas(dials);
        let speed_text = format!("{:>3}", physics.speed_kmh.max(0.0).round() as i64 % 1000);
        frame.render_widget(
            Paragraph::new(big_text(&speed_text, Style::new().fg(Color::White)))
                .alignment(Alignment::Center)
                .block(panel("speed").title(Line::from(" km/h ").right_aligned())),
            speed,
        );
        let gear_label = physics.gear_label();
        let gear_color = match gear_label.as_str() {
            "R" => Color::Red,
            "N" => Color::Yellow,
            _ => Color::Cyan,
        };
        frame.render_widget(
            Paragraph::new(big_text(&gear_label, Style::new().fg(gear_color)))
                .alignment(Alignment::Center)
                .block(panel("gear")),
            gear,
        );
        self.draw_rpm(frame, rpm, &physics, statics);
        draw_bars(frame, bars, &physics, statics);

        let [times, trace] = Layout::horizontal([Constraint::Length(30), Constraint::Min(20)])
            .spacing(1)
            .areas(bottom);
        frame.render_widget(lap_times(graphics, statics, self.rate()), times);
        self.draw_trace(frame, trace);
    }

    fn draw_rpm(&self, frame: &mut Frame, area: Rect, p: &Physics, statics: Option<&Static>) {
        let max = statics
            .map(|s| s.max_rpm)
            .filter(|&m| m > 0)
            .unwrap_or(9000)
            .max(p.rpm);
        let ratio = (f64::from(p.rpm.max(0)) / f64::from(max)).clamp(0.0, 1.0);
        let block = panel("rpm");
        let inner = block.inner(area);
        frame.render_widget(block, area);
        let [lights, bar, text] = Layout::vertical([Constraint::Length(1); 3]).areas(inner);
        frame.render_widget(
            Paragraph::new(shift_lights(ratio, lights.width, self.start))
                .alignment(Alignment::Center),
            lights,
        );
        let color = if ratio >= 0.92 {
            Color::Red
        } else if ratio >= 0.8 {
            Color::Yellow
        } else {
            Color::Green
        };
        frame.render_widget(Paragraph::new(bar_line(ratio, bar.width, color)), bar);
        frame.render_widget(
            Paragraph::new(Line::from(vec![
                Span::styled(
                    thousands(p.rpm),
                    Style::new().fg(Color::White).add_modifier(Modifier::BOLD),
                ),
                Span::styled(
                    format!(" / {} rpm", thousands(max)),
                    Style::new().fg(Color::Gray),
                ),
            ]))
            .alignment(Alignment::Center),
            text,
        );
    }

    fn draw_trace(&self, frame: &mut Frame, area: Rect) {
        let now = self.start.elapsed().as_secs_f64();
        let top = self.speed.iter().map(|(_, v)| *v).fold(100.0_f64, f64::max);
        let top = (top / 50.0).ceil() * 50.0;
        let points: Vec<(f64, f64)> = self.speed.iter().copied().collect();
        let chart = Chart::new(vec![
            Dataset::default()
                .marker(Marker::Braille)
                .graph_type(GraphType::Line)
                .style(Style::new().fg(Color::Cyan))
                .data(&points),
        ])
        .block(panel("speed, last 20 s"))
        .x_axis(
            Axis::default()
                .bounds([now - TRACE, now])
                .style(Style::new().fg(Color::DarkGray)),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels([
                    Span::raw("0"),
                    Span::raw(format!("{:.0}", top / 2.0)),
                    Span::raw(format!("{top:.0}")),
                ])
                .style(Style::new().fg(Color::DarkGray)),
        );
        frame.render_widget(chart, area);
    }

    fn draw_raw(&self, frame: &mut Frame, area: Rect, sample: &Sample) {
        let rows = sample.pages.len() as u16 + 1;
        let [table, dump] = Layout::vertical([Constraint::Length(rows), Constraint::Min(4)])
            .spacing(1)
            .areas(area);
        let mut lines = vec![Line::from(Span::styled(
            format!("  {:<34} {:>10}  {}", "MAPPING", "BYTES", "STATE"),
            Style::new().fg(Color::Gray).add_modifier(Modifier::BOLD),
        ))];
        let selected = self.selected.min(sample.pages.len().saturating_sub(1));
        for (i, page) in sample.pages.iter().enumerate() {
            let mark = if i == selected { "▶ " } else { "  " };
            let (size, state, color) = match &page.result {
                Ok(reading) => {
                    let len = match reading {
                        crate::linux::telemetry::Reading::Raw(r) => r.bytes.len(),
                        _ => 0,
                    };
                    let track = self.raw.get(&page.name);
                    let live = track
                        .and_then(|t| t.last_change)
                        .is_some_and(|at| at.elapsed() < HIGHLIGHT);
                    if live {
                        let recent = track.map_or(0, |t| t.recent);
                        (
                            len.to_string(),
                            format!("● changing: {recent} bytes in the last second"),
                            Color::Green,
                        )
                    } else {
                        (len.to_string(), "○ still".to_owned(), Color::Gray)
                    }
                }
                Err(ReadError::Missing { .. }) => (
                    "-".into(),
                    format!("{} waiting for it", spinner(self.start)),
                    Color::Yellow,
                ),
                Err(e) => ("-".into(), format!("{e:#}"), Color::Red),
            };
            let style = if i == selected {
                Style::new().add_modifier(Modifier::BOLD)
            } else {
                Style::new()
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{mark}{:<34} {size:>10}  ", page.name), style),
                Span::styled(state, style.fg(color)),
            ]));
        }
        frame.render_widget(Paragraph::new(lines), table);

        let page = &sample.pages[selected];
        let title = format!(" {} ", page.path.display());
        let block = panel(&title);
        let inner = block.inner(dump);
        match (&page.result, self.raw.get(&page.name)) {
            (Ok(crate::linux::telemetry::Reading::Raw(raw)), Some(track)) => {
                let total = raw.bytes.len().div_ceil(16);
                let visible = inner.height as usize;
                let first = self.scroll.min(total.saturating_sub(visible));
                let block = block.title(
                    Line::from(format!(
                        " bytes {}–{} of {} ",
                        first * 16,
                        ((first + visible) * 16).min(raw.bytes.len()),
                        raw.bytes.len()
                    ))
                    .right_aligned(),
                );
                let lines = hex_lines(raw, track, first, visible);
                frame.render_widget(Paragraph::new(lines).block(block), dump);
            }
            _ => {
                frame.render_widget(
                    Paragraph::new(Span::styled(
                        "nothing to show yet",
                        Style::new().fg(Color::DarkGray),
                    ))
                    .block(block),
                    dump,
                );
            }
        }
    }
}

/// `acc`, or `'Assetto Corsa'`: a word as a shell reads it.
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

fn is_acc(name: &str) -> bool {
    let base = name.rsplit('\\').next().unwrap_or(name);
    matches!(
        base,
        crate::acc::PHYSICS | crate::acc::GRAPHICS | crate::acc::STATIC
    )
}

fn key(text: &str) -> Span<'_> {
    Span::styled(text, Style::new().fg(Color::Black).bg(Color::Gray))
}

fn panel(title: &str) -> Block<'_> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(Color::DarkGray))
        .title(Span::styled(
            format!(" {} ", title.trim()),
            Style::new().fg(Color::Gray),
        ))
}

fn spinner(start: Instant) -> char {
    const FRAMES: [char; 8] = ['⣾', '⣽', '⣻', '⢿', '⡿', '⣟', '⣯', '⣷'];
    FRAMES[(start.elapsed().as_millis() / 120) as usize % FRAMES.len()]
}

/// `7 850`: thin groups are easier to read at a glance.
fn thousands(n: i32) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// ACC's session types.
pub fn session_label(session: i32) -> &'static str {
    match session {
        0 => "practice",
        1 => "qualifying",
        2 => "race",
        3 => "hotlap",
        4 => "time attack",
        5 => "drift",
        6 => "drag",
        7 => "hotstint",
        8 => "superpole",
        _ => "unknown session",
    }
}

/// Car, track, driver, session, position and lap, in one line.
fn info_line(graphics: Option<&Graphics>, statics: Option<&Static>) -> Vec<Line<'static>> {
    let strong = Style::new().fg(Color::White).add_modifier(Modifier::BOLD);
    let dim = Style::new().fg(Color::Gray);
    let mut spans = Vec::new();
    match statics {
        Some(s) if !s.car_model.is_empty() => {
            spans.push(Span::styled(s.car_model.clone(), strong));
            spans.push(Span::styled(" at ", dim));
            spans.push(Span::styled(s.track.clone(), strong));
            let driver = [&s.player_name, &s.player_surname]
                .iter()
                .filter(|n| !n.is_empty())
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            if !driver.is_empty() {
                spans.push(Span::styled(format!("   {driver}"), dim));
            }
        }
        _ => spans.push(Span::styled("car and track not published yet", dim)),
    }
    let mut second = Vec::new();
    if let Some(g) = graphics {
        let cars = statics
            .filter(|s| s.num_cars > 0)
            .map(|s| format!(" / {}", s.num_cars))
            .unwrap_or_default();
        second.push(Span::styled(
            format!(" P{}{cars} ", g.position),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ));
        second.push(Span::styled(
            format!("  LAP {}", g.completed_laps + 1),
            strong,
        ));
        second.push(Span::styled(
            format!("   {} · {}", session_label(g.session), g.status_label()),
            dim,
        ));
        if !g.best_time.is_empty() && !g.best_time.starts_with('-') {
            second.push(Span::styled(format!("   best {}", g.best_time), dim));
        }
    }
    vec![Line::from(spans), Line::from(second)]
}

/// Throttle, brake, steering and fuel, one bar each.
fn draw_bars(frame: &mut Frame, area: Rect, p: &Physics, statics: Option<&Static>) {
    let rows = Layout::vertical([Constraint::Length(1); 4]).split(area);
    let row = |i: usize| {
        let [label, bar, value] = Layout::horizontal([
            Constraint::Length(10),
            Constraint::Min(10),
            Constraint::Length(16),
        ])
        .spacing(1)
        .areas(rows[i]);
        (label, bar, value)
    };
    let label =
        |text: &'static str| Paragraph::new(Span::styled(text, Style::new().fg(Color::Gray)));
    let gauge =
        |ratio: f64, color: Color, width: u16| Paragraph::new(bar_line(ratio, width, color));

    let (l, b, v) = row(0);
    frame.render_widget(label("throttle"), l);
    frame.render_widget(gauge(f64::from(p.gas), Color::Green, b.width), b);
    frame.render_widget(Paragraph::new(format!("{:>4.0} %", p.gas * 100.0)), v);

    let (l, b, v) = row(1);
    frame.render_widget(label("brake"), l);
    frame.render_widget(gauge(f64::from(p.brake), Color::Red, b.width), b);
    frame.render_widget(Paragraph::new(format!("{:>4.0} %", p.brake * 100.0)), v);

    let (l, b, v) = row(2);
    frame.render_widget(label("steering"), l);
    frame.render_widget(Paragraph::new(steering(p.steer_angle, b.width)), b);
    frame.render_widget(Paragraph::new(format!("{:>+5.2}", p.steer_angle)), v);

    let (l, b, v) = row(3);
    frame.render_widget(label("fuel"), l);
    let max_fuel = statics.map(|s| s.max_fuel).filter(|&m| m > 0.0);
    let ratio = f64::from(p.fuel) / f64::from(max_fuel.unwrap_or(100.0).max(p.fuel));
    let color = if ratio < 0.1 {
        Color::Red
    } else if ratio < 0.25 {
        Color::Yellow
    } else {
        Color::LightBlue
    };
    frame.render_widget(gauge(ratio, color, b.width), b);
    let of = max_fuel.map(|m| format!(" of {m:.0}")).unwrap_or_default();
    frame.render_widget(Paragraph::new(format!("{:>5.1} L{of}", p.fuel)), v);
}

/// A horizontal bar filled to `ratio`, in eighths of a cell, on a dim track.
fn bar_line(ratio: f64, width: u16, color: Color) -> Line<'static> {
    const PARTIAL: [&str; 8] = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
    let width = usize::from(width);
    let eighths = (ratio.clamp(0.0, 1.0) * (width * 8) as f64).round() as usize;
    let (full, part) = (eighths / 8, eighths % 8);
    let mut filled = "█".repeat(full);
    filled.push_str(PARTIAL[part]);
    let used = full + usize::from(part > 0);
    Line::from(vec![
        Span::styled(filled, Style::new().fg(color)),
        Span::styled(
            "─".repeat(width.saturating_sub(used)),
            Style::new().fg(Color::DarkGray),
        ),
    ])
}

/// A bar from the centre towards the side the wheel is turned.
fn steering(angle: f32, width: u16) -> Line<'static> {
    let width = width.max(3) as usize;
    let centre = width / 2;
    let reach = (f64::from(angle.clamp(-1.0, 1.0)) * centre as f64).round() as isize;
    let tip = (centre as isize + reach).clamp(0, width as isize - 1) as usize;
    let (lo, hi) = (centre.min(tip), centre.max(tip));
    let spans: Vec<Span> = (0..width)
        .map(|i| {
            if i == centre {
                Span::styled("┃", Style::new().fg(Color::White))
            } else if (lo..=hi).contains(&i) {
                Span::styled("█", Style::new().fg(Color::Magenta))
            } else {
                Span::styled("·", Style::new().fg(Color::DarkGray))
            }
        })
        .collect();
    Line::from(spans)
}

/// Ten lights that fill from 80% of the rev limit, green to red, and all
/// flash blue at the limit.
fn shift_lights(ratio: f64, width: u16, start: Instant) -> Line<'static> {
    const LIGHTS: usize = 10;
    let lit = (((ratio - 0.8) / 0.18) * LIGHTS as f64)
        .ceil()
        .clamp(0.0, LIGHTS as f64) as usize;
    let flash = ratio >= 0.97;
    let on = (start.elapsed().as_millis() / 100).is_multiple_of(2);
    let gap = if width as usize >= LIGHTS * 4 {
        "  "
    } else {
        " "
    };
    let mut spans = Vec::new();
    for i in 0..LIGHTS {
        let color = if flash {
            if on {
                Color::LightBlue
            } else {
                Color::DarkGray
            }
        } else if i >= lit {
            Color::DarkGray
        } else if i < 4 {
            Color::Green
        } else if i < 7 {
            Color::Yellow
        } else {
            Color::Red
        };
        let symbol = if color == Color::DarkGray {
            "○"
        } else {
            "●"
        };
        spans.push(Span::styled(symbol, Style::new().fg(color)));
        if i + 1 < LIGHTS {
            spans.push(Span::raw(gap));
        }
    }
    Line::from(spans)
}

fn lap_times(
    graphics: Option<&Graphics>,
    statics: Option<&Static>,
    rate: Option<f64>,
) -> Paragraph<'static> {
    let dim = Style::new().fg(Color::Gray);
    let plain = Style::new().fg(Color::White);
    let row = |name: &'static str, value: String, style: Style| {
        Line::from(vec![
            Span::styled(format!("{name:<9}"), dim),
            Span::styled(value, style),
        ])
    };
    let mut lines = match graphics {
        Some(g) => vec![
            row(
                "current",
                g.current_time.clone(),
                plain.add_modifier(Modifier::BOLD),
            ),
            row("last", g.last_time.clone(), plain),
            row("best", g.best_time.clone(), Style::new().fg(Color::Magenta)),
            row("split", g.split.clone(), plain),
            Line::raw(""),
            row("laps", format!("{} done", g.completed_laps), plain),
            row("session", session_label(g.session).to_owned(), plain),
        ],
        None => vec![Line::from(Span::styled("no graphics page", dim))],
    };
    if let Some(s) = statics.filter(|s| !s.ac_version.is_empty()) {
        lines.push(row(
            "game",
            format!("{} (memory {})", s.ac_version, s.sm_version),
            dim,
        ));
    }
    if let Some(rate) = rate {
        lines.push(row("updates", format!("{rate:.0} a second"), dim));
    }
    Paragraph::new(lines).block(panel("lap"))
}

/// A hex dump whose recently changed bytes stand out.
fn hex_lines(raw: &RawPage, track: &RawTrack, first: usize, count: usize) -> Vec<Line<'static>> {
    let now = Instant::now();
    let hot = |i: usize| {
        track
            .changed_at
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|at| now.duration_since(at) < HIGHLIGHT)
    };
    raw.bytes
        .chunks(16)
        .enumerate()
        .skip(first)
        .take(count)
        .map(|(row, chunk)| {
            let base = row * 16;
            let mut spans = vec![Span::styled(
                format!("{base:08x}  "),
                Style::new().fg(Color::DarkGray),
            )];
            for (j, b) in chunk.iter().enumerate() {
                let style = if hot(base + j) {
                    Style::new().fg(Color::Black).bg(Color::Yellow)
                } else if *b == 0 {
                    Style::new().fg(Color::DarkGray)
                } else {
                    Style::new().fg(Color::White)
                };
                spans.push(Span::styled(format!("{b:02x}"), style));
                spans.push(Span::raw(if j == 7 { "  " } else { " " }));
            }
            let text: String = chunk
                .iter()
                .map(|&b| {
                    if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    }
                })
                .collect();
            spans.push(Span::raw(" ".repeat(3 * (16 - chunk.len()) + 1)));
            spans.push(Span::styled(text, Style::new().fg(Color::Gray)));
            Line::from(spans)
        })
        .collect()
}

/// Three lines of large characters drawn with half blocks (a 3×5 pixel
/// font, each pixel two columns wide).
fn big_text(text: &str, style: Style) -> Vec<Line<'static>> {
    let glyphs: Vec<&[&str; 5]> = text.chars().map(glyph).collect();
    (0..3)
        .map(|row| {
            let mut line = String::new();
            for (n, g) in glyphs.iter().enumerate() {
                if n > 0 {
                    line.push(' ');
                }
                let top = g[row * 2].as_bytes();
                let bottom = g.get(row * 2 + 1).map_or(&[][..], |r| r.as_bytes());
                for (i, &t) in top.iter().enumerate() {
                    let b = bottom.get(i).copied().unwrap_or(b'0');
                    let cell = match (t == b'1', b == b'1') {
                        (true, true) => "██",
                        (true, false) => "▀▀",
                        (false, true) => "▄▄",
                        (false, false) => "  ",
                    };
                    line.push_str(cell);
                }
            }
            Line::from(Span::styled(line, style.add_modifier(Modifier::BOLD)))
        })
        .collect()
}

fn glyph(c: char) -> &'static [&'static str; 5] {
    match c {
        '0' => &["111", "101", "101", "101", "111"],
        '1' => &["010", "110", "010", "010", "111"],
        '2' => &["111", "001", "111", "100", "111"],
        '3' => &["111", "001", "111", "001", "111"],
        '4' => &["101", "101", "111", "001", "001"],
        '5' => &["111", "100", "111", "001", "111"],
        '6' => &["111", "100", "111", "101", "111"],
        '7' => &["111", "001", "001", "001", "001"],
        '8' => &["111", "101", "111", "101", "111"],
        '9' => &["111", "101", "111", "001", "111"],
        'R' => &["110", "101", "110", "101", "101"],
        'N' => &["1001", "1101", "1011", "1001", "1001"],
        '-' => &["000", "000", "111", "000", "000"],
        _ => &["000", "000", "000", "000", "000"],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

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

    #[test]
    fn keys_are_read_from_raw_bytes_and_sequences() {
        use Key::*;
        assert_eq!(parse_keys(b"q"), [Quit]);
        assert_eq!(parse_keys(b"\x1b"), [Quit], "Esc alone");
        assert_eq!(parse_keys(b"\x03"), [Quit], "Ctrl-C in raw mode");
        assert_eq!(
            parse_keys(b"\x1b[B\x1b[A\x1bOB\t\x1b[Z"),
            [Next, Previous, Next, Next, Previous]
        );
        assert_eq!(
            parse_keys(b"\x1b[5~\x1b[6~\x1b[H\x1b[4~"),
            [PageUp, PageDown, Home, End]
        );
        assert_eq!(parse_keys(b"x\x1b[1;5Cj"), [Next], "unknown keys skipped");
        assert_eq!(parse_keys(b"\x1b["), Vec::<Key>::new(), "a cut sequence");
    }

    #[test]
    fn big_digits_are_three_lines_of_half_blocks() {
        let lines = big_text("1N", Style::new());
        assert_eq!(lines.len(), 3);
        let rows: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        assert_eq!(rows[0], "▄▄██   ██▄▄  ██");
        assert_eq!(rows[2], "▀▀▀▀▀▀ ▀▀    ▀▀");
        assert_eq!(thousands(7850), "7 850");
        assert_eq!(thousands(-12), "-12");
    }

    #[test]
    fn the_dashboard_shows_what_the_pages_hold() {
        use crate::linux::telemetry::{PageSample, Reading};
        let target = Target {
            title: "Assetto Corsa Competizione".into(),
            game: Some("acc".into()),
            deadline: None,
            seconds: None,
        };
        let mut view = View::new(&target, "/dev/shm".into());
        let page = |name: &str, reading| PageSample {
            name: name.into(),
            path: format!("/dev/shm/{name}").into(),
            result: Ok(reading),
        };
        for id in [100, 101] {
            view.update(Sample {
                pages: vec![
                    page(
                        "acpmf_physics",
                        Reading::Physics(crate::acc::synthetic::physics(id)),
                    ),
                    page(
                        "acpmf_graphics",
                        Reading::Graphics(crate::acc::synthetic::graphics(id)),
                    ),
                    page(
                        "acpmf_static",
                        Reading::Static(crate::acc::synthetic::statics()),
                    ),
                ],
                taken: Instant::now(),
            });
        }
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        terminal.draw(|f| view.draw(f)).unwrap();
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
        let target = Target {
            title: "Assetto Corsa Competizione".into(),
            game: Some("Assetto Corsa Competizione".into()),
            deadline: None,
            seconds: None,
        };
        let mut view = View::new(&target, "/dev/shm".into());
        view.update(Sample {
            pages: vec![crate::linux::telemetry::PageSample {
                name: "acpmf_physics".into(),
                path: "/dev/shm/acpmf_physics".into(),
                result: Err(ReadError::Missing {
                    path: "/dev/shm/acpmf_physics".into(),
                }),
            }],
            taken: Instant::now(),
        });
        let mut terminal = Terminal::new(TestBackend::new(100, 30)).unwrap();
        terminal.draw(|f| view.draw(f)).unwrap();
        let text = screen_text(&terminal);
        assert!(text.contains("waiting for acpmf_physics..."), "{text}");
        assert!(
            text.contains("launch --game 'Assetto Corsa Competizione' -- %command%"),
            "{text}"
        );
    }
}
