//! The pieces the full-screen view is drawn with: bars, shift lights, the
//! steering gauge, panels, and a hex dump whose changed bytes stand out.

use std::time::Instant;

use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType};

use super::state::{HIGHLIGHT, RawTrack};
use crate::linux::watch::hex;
use crate::linux::watch::reader::RawPage;

/// A key as the footer shows it.
pub fn key(text: &str) -> Span<'_> {
    Span::styled(text, Style::new().fg(Color::Black).bg(Color::Gray))
}

/// A rounded box with a title.
pub fn panel(title: &str) -> Block<'_> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(Style::new().fg(Color::DarkGray))
        .title(Span::styled(
            format!(" {} ", title.trim()),
            Style::new().fg(Color::Gray),
        ))
}

/// A spinner that turns while something is awaited.
pub fn spinner(start: Instant) -> char {
    const FRAMES: [char; 8] = ['⣾', '⣽', '⣻', '⢿', '⡿', '⣟', '⣯', '⣷'];
    FRAMES[(start.elapsed().as_millis() / 120) as usize % FRAMES.len()]
}

/// `7 850`: thin groups are easier to read at a glance.
pub fn thousands(n: i32) -> String {
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

/// A horizontal bar filled to `ratio`, in eighths of a cell, on a dim track.
pub fn bar_line(ratio: f64, width: u16, color: Color) -> Line<'static> {
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
pub fn steering(angle: f32, width: u16) -> Line<'static> {
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
pub fn shift_lights(ratio: f64, width: u16, start: Instant) -> Line<'static> {
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

/// A hex dump whose recently changed bytes stand out.
pub fn hex_lines(
    raw: &RawPage,
    track: &RawTrack,
    first: usize,
    count: usize,
) -> Vec<Line<'static>> {
    let now = Instant::now();
    let hot = |i: usize| {
        track
            .changed_at
            .get(i)
            .copied()
            .flatten()
            .is_some_and(|at| now.duration_since(at) < HIGHLIGHT)
    };
    hex::rows(&raw.bytes, 0, first, count)
        .map(|row| {
            let mut spans = vec![Span::styled(
                row.offset_text(),
                Style::new().fg(Color::DarkGray),
            )];
            for (column, b) in row.bytes.iter().enumerate() {
                let style = if hot(row.offset + column) {
                    Style::new().fg(Color::Black).bg(Color::Yellow)
                } else if *b == 0 {
                    Style::new().fg(Color::DarkGray)
                } else {
                    Style::new().fg(Color::White)
                };
                spans.push(Span::styled(format!("{b:02x}"), style));
                spans.push(Span::raw(hex::Row::gap_after(column)));
            }
            spans.push(Span::raw(row.padding()));
            spans.push(Span::styled(row.ascii(), Style::new().fg(Color::Gray)));
            Line::from(spans)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_are_grouped() {
        assert_eq!(super::thousands(7850), "7 850");
        assert_eq!(super::thousands(-12), "-12");
        assert_eq!(super::thousands(i32::MIN), "-2 147 483 648");
    }
}
