//! `watch` as text: a one-line summary for logs and pipes, and the report
//! `--once` prints for people.

use std::fmt::Write as _;
use std::time::Duration;

use super::hex;
use super::reader::{RawPage, Sample};
use crate::model::{Telemetry, lap_time};

/// Bytes of a raw page shown in the report (JSON has all of them).
const REPORT_DUMP: usize = 256;

/// The one-line summary for logs and pipes.
pub fn plain_line(sample: &Sample, elapsed: Duration) -> String {
    let mut line = format!("[{:6.2}s] ", elapsed.as_secs_f64());
    let missing = sample.missing();
    if !sample.any_read() {
        let dir = sample
            .pages
            .first()
            .and_then(|p| p.path.parent())
            .map(|d| d.display().to_string())
            .unwrap_or_default();
        let _ = write!(line, "waiting for {} in {dir}...", missing.join(", "));
        for problem in sample.problems() {
            let _ = write!(line, " ({problem})");
        }
        return line;
    }
    let mut parts = Vec::new();
    if let Some(t) = sample.decoded.as_ref().map(|d| &d.telemetry) {
        if t.speed_kmh.is_some() || t.rpm.is_some() {
            parts.push(format!(
                "{:>5} km/h  gear {:>2}  {:>5} rpm  throttle {:>3}%  brake {:>3}%  fuel {:>5} L",
                number(t.speed_kmh, 1),
                t.gear_label().unwrap_or_else(|| "-".into()),
                t.rpm.map_or("-".into(), |r| r.to_string()),
                percent(t.throttle),
                percent(t.brake),
                number(t.fuel_l, 1)
            ));
        }
        if let Some(lap) = t.lap {
            parts.push(format!(
                "lap {lap}  P{}  {}  {}",
                t.position.map_or("-".into(), |p| p.to_string()),
                lap_time(t.lap_time_ms),
                t.status.map_or("-".into(), |s| s.to_string())
            ));
        }
        if t.car.is_some() || t.track.is_some() {
            parts.push(format!("{} @ {}", or_dash(&t.car), or_dash(&t.track)));
        }
        if let Some(update) = t.update {
            parts.push(format!("(packet {update})"));
        }
    }
    for (page, raw) in sample.raw() {
        parts.push(format!(
            "{}: {} bytes, {}",
            page.name,
            raw.bytes.len(),
            change_word(raw)
        ));
    }
    if !missing.is_empty() {
        parts.push(format!("waiting for {}", missing.join(", ")));
    }
    parts.extend(sample.problems().into_iter().map(|p| format!("({p})")));
    line.push_str(&parts.join("  "));
    line
}

/// `12.3`, or `-` for a value the title does not publish.
pub fn number(value: Option<f32>, decimals: usize) -> String {
    value.map_or("-".into(), |v| format!("{v:.decimals$}"))
}

/// A fraction from 0 to 1 as a whole percentage, or `-`.
fn percent(value: Option<f32>) -> String {
    value.map_or("-".into(), |v| format!("{:.0}", v * 100.0))
}

/// Whether a raw page changed since the last sample, in words.
pub fn change_word(raw: &RawPage) -> String {
    match raw.changed {
        0 => "still".into(),
        n => format!("changing ({n} bytes)"),
    }
}

fn or_dash(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("-")
}

/// `--once` as text: what a person checks at a glance.
pub fn report(sample: &Sample, title: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{title}");
    if let Some(decoded) = &sample.decoded {
        report_telemetry(&mut out, &decoded.telemetry);
        for (label, text) in &decoded.notes {
            let _ = writeln!(out, "  {label:<10}{text}");
        }
    }
    for (page, raw) in sample.raw() {
        let _ = writeln!(
            out,
            "  {}  {} bytes, {}{}",
            page.path.display(),
            raw.bytes.len(),
            change_word(raw),
            if raw.consistent {
                ""
            } else {
                ", never held still while read"
            }
        );
        let shown = &raw.bytes[..raw.bytes.len().min(REPORT_DUMP)];
        for row in hex::rows(shown, 0, 0, usize::MAX) {
            let _ = writeln!(out, "    {}", row.text());
        }
        if raw.bytes.len() > REPORT_DUMP {
            let nonzero = raw.bytes.iter().filter(|&&b| b != 0).count();
            let _ = writeln!(
                out,
                "    ... {} more bytes ({nonzero} of all {} are not zero; --json has them all)",
                raw.bytes.len() - REPORT_DUMP,
                raw.bytes.len()
            );
        }
    }
    out
}

/// The model's lines of the report; a line whose values the title does not
/// publish is left out.
fn report_telemetry(out: &mut String, t: &Telemetry) {
    if t.car.is_some() || t.track.is_some() {
        let mut about = Vec::new();
        about.extend(t.driver.clone());
        about.extend(t.cars.map(|n| format!("{n} cars")));
        let about = if about.is_empty() {
            String::new()
        } else {
            format!("  ({})", about.join(", "))
        };
        let _ = writeln!(
            out,
            "  car       {} at {}{about}",
            or_dash(&t.car),
            or_dash(&t.track)
        );
    }
    if t.lap.is_some() || t.session.is_some() {
        let kind = t.session.as_ref().and_then(|s| s.kind.as_deref());
        let _ = writeln!(
            out,
            "  session   {} ({}), P{}, lap {} ({} completed)",
            kind.unwrap_or("-"),
            t.status.map_or("-".into(), |s| s.to_string()),
            t.position.map_or("-".into(), |p| p.to_string()),
            t.lap.map_or("-".into(), |l| l.to_string()),
            t.laps_completed().map_or("-".into(), |l| l.to_string())
        );
        let _ = writeln!(
            out,
            "  times     current {}  last {}  best {}",
            lap_time(t.lap_time_ms),
            lap_time(t.last_lap_ms),
            lap_time(t.best_lap_ms)
        );
    }
    if t.speed_kmh.is_some() || t.rpm.is_some() {
        let max_rpm = t.max_rpm.map(|m| format!(" of {m}")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  driving   {} km/h, gear {}, {} rpm{max_rpm}",
            number(t.speed_kmh, 1),
            t.gear_label().unwrap_or_else(|| "-".into()),
            t.rpm.map_or("-".into(), |r| r.to_string())
        );
        let _ = writeln!(
            out,
            "  pedals    throttle {}%, brake {}%, clutch {}%, steering {}",
            percent(t.throttle),
            percent(t.brake),
            percent(t.clutch),
            t.steering.map_or("-".into(), |s| format!("{s:+.2}"))
        );
    }
    if t.tyre_temps_c.is_some() || t.tyre_pressures_kpa.is_some() {
        let four = |values: Option<[f32; 4]>, unit: &str| {
            values.map_or("-".into(), |v| {
                v.map(|x| format!("{x:.0}")).join("/") + unit
            })
        };
        let _ = writeln!(
            out,
            "  tyres     {} {} (FL/FR/RL/RR)",
            four(t.tyre_temps_c, " °C"),
            four(t.tyre_pressures_kpa, " kPa")
        );
    }
    if let Some(flags) = &t.flags {
        let shown: Vec<String> = flags
            .iter()
            .filter_map(|f| serde_json::to_value(f).ok()?.as_str().map(str::to_owned))
            .collect();
        let shown = if shown.is_empty() {
            "none".to_owned()
        } else {
            shown.join(", ")
        };
        let _ = writeln!(out, "  flags     {shown}");
    }
    if let Some(fuel) = t.fuel_l {
        let capacity = t
            .fuel_capacity_l
            .map(|c| format!(" of {c:.0}"))
            .unwrap_or_default();
        let _ = writeln!(out, "  fuel      {fuel:.1} L{capacity}");
    }
}
