//! The view of pages of unknown layout: a table of the mappings with their
//! state, and a live hex dump of the one selected.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::state::{HIGHLIGHT, View};
use super::widgets::{hex_lines, panel, spinner};
use crate::linux::watch::hex::PER_ROW;
use crate::linux::watch::reader::Sample;
use crate::linux::watch::reader::{ReadError, Reading};

/// Draws the table and the dump of the selected page in `area`.
pub fn draw(frame: &mut Frame, area: Rect, view: &View<'_>, sample: &Sample) {
    let rows = u16::try_from(sample.pages.len() + 1).unwrap_or(u16::MAX);
    let [table, dump] = Layout::vertical([Constraint::Length(rows), Constraint::Min(4)])
        .spacing(1)
        .areas(area);
    let mut lines = vec![Line::from(Span::styled(
        format!("  {:<34} {:>10}  {}", "MAPPING", "BYTES", "STATE"),
        Style::new().fg(Color::Gray).add_modifier(Modifier::BOLD),
    ))];
    let selected = view.selected.min(sample.pages.len().saturating_sub(1));
    for (i, page) in sample.pages.iter().enumerate() {
        let mark = if i == selected { "▶ " } else { "  " };
        let (size, state, color) = match &page.result {
            Ok(reading) => {
                let len = match reading {
                    Reading::Raw(r) => r.bytes.len(),
                    Reading::Decoded { len, .. } => *len,
                };
                let track = view.raw.get(&page.name);
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
                format!("{} waiting for it", spinner(view.start)),
                Color::Yellow,
            ),
            Err(e) => ("-".into(), e.to_string(), Color::Red),
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

    let Some(page) = sample.pages.get(selected) else {
        return;
    };
    let title = format!(" {} ", page.path.display());
    let block = panel(&title);
    let inner = block.inner(dump);
    match (&page.result, view.raw.get(&page.name)) {
        (Ok(Reading::Raw(raw)), Some(track)) => {
            let total = raw.bytes.len().div_ceil(PER_ROW);
            let visible = inner.height as usize;
            let first = view.scroll.min(total.saturating_sub(visible));
            let block = block.title(
                Line::from(format!(
                    " bytes {}–{} of {} ",
                    first * PER_ROW,
                    ((first + visible) * PER_ROW).min(raw.bytes.len()),
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
