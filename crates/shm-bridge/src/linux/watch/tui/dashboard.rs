//! The dashboard of a decoded title: car and session, the flags shown, big
//! speed and gear, rpm with shift lights, pedal, steering and fuel bars,
//! lap times, tyres and a speed trace. A value the title does not publish
//! is shown as `-`.

use ratatui::Frame;
use ratatui::layout::{Alignment, Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Paragraph};

use super::font::big_text;
use super::state::{TRACE, View};
use super::widgets::{bar_line, panel, shift_lights, steering, thousands};
use crate::model::{Flag, Telemetry, lap_time};

/// The rev limit assumed when the title does not publish one.
const DEFAULT_MAX_RPM: i32 = 9000;
/// The tank assumed when the title does not publish its size.
const DEFAULT_TANK_L: f32 = 100.0;

/// Draws the dashboard of `t` in `area`.
pub fn draw(frame: &mut Frame, area: Rect, view: &View<'_>, t: &Telemetry) {
    let [info, dials, bars, bottom] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(5),
        Constraint::Length(4),
        Constraint::Min(6),
    ])
    .areas(area);
    frame.render_widget(Paragraph::new(info_lines(t)), info);

    let [speed, gear, rpm] = Layout::horizontal([
        Constraint::Length(26),
        Constraint::Length(14),
        Constraint::Min(20),
    ])
    .spacing(1)
    .areas(dials);
    let speed_text = t.speed_kmh.map_or(" --".into(), |s| {
        format!("{:>3}", s.max(0.0).round() as i64 % 1000)
    });
    frame.render_widget(
        Paragraph::new(big_text(&speed_text, Style::new().fg(Color::White)))
            .alignment(Alignment::Center)
            .block(panel("speed").title(Line::from(" km/h ").right_aligned())),
        speed,
    );
    let gear_label = t.gear_label().unwrap_or_else(|| "-".into());
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
    draw_rpm(frame, rpm, view, t);
    draw_bars(frame, bars, t);

    let [times, tyres, trace] = Layout::horizontal([
        Constraint::Length(30),
        Constraint::Length(25),
        Constraint::Min(20),
    ])
    .spacing(1)
    .areas(bottom);
    frame.render_widget(lap_times(t, view.rate()), times);
    frame.render_widget(tyre_panel(t), tyres);
    draw_trace(frame, trace, view);
}

/// Car, track, driver, then position, lap, session and status.
fn info_lines(t: &Telemetry) -> Vec<Line<'static>> {
    let strong = Style::new().fg(Color::White).add_modifier(Modifier::BOLD);
    let dim = Style::new().fg(Color::Gray);
    let mut spans = Vec::new();
    match &t.car {
        Some(car) => {
            spans.push(Span::styled(car.clone(), strong));
            spans.push(Span::styled(" at ", dim));
            spans.push(Span::styled(
                t.track.clone().unwrap_or_else(|| "-".into()),
                strong,
            ));
            if let Some(driver) = &t.driver {
                spans.push(Span::styled(format!("   {driver}"), dim));
            }
        }
        None => spans.push(Span::styled("car and track not published yet", dim)),
    }
    let mut second = Vec::new();
    if let Some(position) = t.position {
        let cars = t.cars.map(|n| format!(" / {n}")).unwrap_or_default();
        second.push(Span::styled(
            format!(" P{position}{cars} "),
            Style::new()
                .fg(Color::Black)
                .bg(Color::Yellow)
                .add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(lap) = t.lap {
        second.push(Span::styled(format!("  LAP {lap}"), strong));
    }
    let session = t.session.as_ref().and_then(|s| s.kind.clone());
    if session.is_some() || t.status.is_some() {
        second.push(Span::styled(
            format!(
                "   {} · {}",
                session.as_deref().unwrap_or("-"),
                t.status.map_or("-".into(), |s| s.to_string())
            ),
            dim,
        ));
    }
    if t.best_lap_ms.is_some() {
        second.push(Span::styled(
            format!("   best {}", lap_time(t.best_lap_ms)),
            dim,
        ));
    }
    for flag in t.flags.iter().flatten() {
        second.push(Span::raw("  "));
        second.push(flag_badge(*flag));
    }
    vec![Line::from(spans), Line::from(second)]
}

/// A flag as a coloured badge.
fn flag_badge(flag: Flag) -> Span<'static> {
    let (text, fg, bg) = match flag {
        Flag::Green => (" GREEN ", Color::Black, Color::Green),
        Flag::Yellow => (" YELLOW ", Color::Black, Color::Yellow),
        Flag::Blue => (" BLUE ", Color::White, Color::Blue),
        Flag::White => (" WHITE ", Color::Black, Color::White),
        Flag::Checkered => (" CHEQUERED ", Color::Black, Color::Gray),
        Flag::Black => (" BLACK ", Color::White, Color::DarkGray),
        Flag::Red => (" RED ", Color::White, Color::Red),
        Flag::Penalty => (" PENALTY ", Color::Black, Color::LightRed),
    };
    Span::styled(
        text,
        Style::new().fg(fg).bg(bg).add_modifier(Modifier::BOLD),
    )
}

/// Tyre temperatures and pressures, laid out as the car's corners.
fn tyre_panel(t: &Telemetry) -> Paragraph<'static> {
    let dim = Style::new().fg(Color::Gray);
    let corner = |i: usize| {
        let temp = t
            .tyre_temps_c
            .map_or("  -  ".into(), |c| format!("{:>3.0}°C", c[i]));
        let pressure = t
            .tyre_pressures_kpa
            .map_or("  -   ".into(), |p| format!("{:>3.0}kPa", p[i]));
        let color = t.tyre_temps_c.map_or(Color::Gray, |c| match c[i] {
            c if c < 60.0 => Color::Cyan,
            c if c > 105.0 => Color::Red,
            _ => Color::Green,
        });
        (
            Span::styled(temp, Style::new().fg(color)),
            Span::styled(pressure, dim),
        )
    };
    let pair = |left: usize, right: usize| {
        let ((lt, lp), (rt, rp)) = (corner(left), corner(right));
        vec![
            Line::from(vec![lt, Span::raw("     "), rt]),
            Line::from(vec![lp, Span::raw("   "), rp]),
        ]
    };
    let mut lines = pair(0, 1);
    lines.push(Line::raw(""));
    lines.extend(pair(2, 3));
    Paragraph::new(lines).block(panel("tyres"))
}

/// Shift lights, an rpm bar and the rpm against the limit.
fn draw_rpm(frame: &mut Frame, area: Rect, view: &View<'_>, t: &Telemetry) {
    let rpm = t.rpm.unwrap_or(0);
    let max = t.max_rpm.unwrap_or(DEFAULT_MAX_RPM).max(rpm).max(1);
    let ratio = (f64::from(rpm.max(0)) / f64::from(max)).clamp(0.0, 1.0);
    let block = panel("rpm");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let [lights, bar, text] = Layout::vertical([Constraint::Length(1); 3]).areas(inner);
    frame.render_widget(
        Paragraph::new(shift_lights(ratio, lights.width, view.start)).alignment(Alignment::Center),
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
                t.rpm.map_or("-".into(), thousands),
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

/// Throttle, brake, steering and fuel, one bar each.
fn draw_bars(frame: &mut Frame, area: Rect, t: &Telemetry) {
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
    let percent = |v: Option<f32>| v.map_or("   - %".into(), |v| format!("{:>4.0} %", v * 100.0));

    for (i, (name, value, color)) in [
        ("throttle", t.throttle, Color::Green),
        ("brake", t.brake, Color::Red),
    ]
    .into_iter()
    .enumerate()
    {
        let (l, b, v) = row(i);
        frame.render_widget(label(name), l);
        frame.render_widget(gauge(f64::from(value.unwrap_or(0.0)), color, b.width), b);
        frame.render_widget(Paragraph::new(percent(value)), v);
    }

    let (l, b, v) = row(2);
    frame.render_widget(label("steering"), l);
    frame.render_widget(
        Paragraph::new(steering(t.steering.unwrap_or(0.0), b.width)),
        b,
    );
    let angle = t.steering.map_or("-".into(), |s| format!("{s:>+5.2}"));
    frame.render_widget(Paragraph::new(angle), v);

    let (l, b, v) = row(3);
    frame.render_widget(label("fuel"), l);
    let fuel = t.fuel_l.unwrap_or(0.0);
    let tank = t.fuel_capacity_l.unwrap_or(DEFAULT_TANK_L).max(fuel);
    let ratio = if tank > 0.0 {
        f64::from(fuel / tank)
    } else {
        0.0
    };
    let color = if ratio < 0.1 {
        Color::Red
    } else if ratio < 0.25 {
        Color::Yellow
    } else {
        Color::LightBlue
    };
    frame.render_widget(gauge(ratio, color, b.width), b);
    let of = t
        .fuel_capacity_l
        .map(|m| format!(" of {m:.0}"))
        .unwrap_or_default();
    let litres = t.fuel_l.map_or("-".into(), |f| format!("{f:>5.1}"));
    frame.render_widget(Paragraph::new(format!("{litres} L{of}")), v);
}

/// Lap times, laps done, the session and the update rate.
fn lap_times(t: &Telemetry, rate: Option<f64>) -> Paragraph<'static> {
    let dim = Style::new().fg(Color::Gray);
    let plain = Style::new().fg(Color::White);
    let row = |name: &'static str, value: String, style: Style| {
        Line::from(vec![
            Span::styled(format!("{name:<9}"), dim),
            Span::styled(value, style),
        ])
    };
    let session = t.session.as_ref().and_then(|s| s.kind.clone());
    let mut lines = vec![
        row(
            "current",
            lap_time(t.lap_time_ms),
            plain.add_modifier(Modifier::BOLD),
        ),
        row("last", lap_time(t.last_lap_ms), plain),
        row(
            "best",
            lap_time(t.best_lap_ms),
            Style::new().fg(Color::Magenta),
        ),
        Line::raw(""),
        row(
            "laps",
            t.laps_completed()
                .map_or("-".into(), |n| format!("{n} done")),
            plain,
        ),
        row("session", session.unwrap_or_else(|| "-".into()), plain),
    ];
    if let Some(rate) = rate {
        lines.push(row("updates", format!("{rate:.0} a second"), dim));
    }
    Paragraph::new(lines).block(panel("lap"))
}

/// Speed over the last [`TRACE`] seconds.
fn draw_trace(frame: &mut Frame, area: Rect, view: &View<'_>) {
    let now = view.start.elapsed().as_secs_f64();
    let top = view.speed.iter().map(|(_, v)| *v).fold(100.0_f64, f64::max);
    let top = (top / 50.0).ceil() * 50.0;
    let points: Vec<(f64, f64)> = view.speed.iter().copied().collect();
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
