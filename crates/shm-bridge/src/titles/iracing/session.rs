//! iRacing's session info: a YAML text the sim rewrites now and then
//! (`sessionInfoUpdate`), in Windows-1252 unless the user asked for UTF-8
//! (`irsdkUTF8SessionStr` in `app.ini`), and not always valid YAML: names
//! are written unquoted, so a team called `Fast: Co #1` breaks it. Like
//! pyirsdk (the most used reader), the text is read one top-level section
//! at a time with the names quoted; a section that still fails keeps what
//! was read before the error, and the views say so.
//!
//! Only the few values the model needs are kept, walked from the YAML
//! parser's events (no tree is built: a hostile text cannot nest deeper
//! than [`MAX_DEPTH`]).

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use saphyr_parser::{Event, Parser};
use serde::Serialize;

/// Deeper nesting than iRacing's (4 levels) is refused.
const MAX_DEPTH: usize = 16;

/// Keys whose values iRacing writes unquoted, whatever they hold
/// (pyirsdk quotes these before parsing).
const NAME_KEYS: [&str; 5] = ["UserName", "TeamName", "AbbrevName", "Initials", "DriverSetupName"];

/// One entry of `DriverInfo: Drivers:`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Driver {
    /// `CarIdx`.
    pub car_idx: Option<i64>,
    /// `UserName`.
    pub user_name: Option<String>,
    /// `CarScreenName`.
    pub car_screen_name: Option<String>,
    /// `CarIsPaceCar` is 1.
    pub pace_car: bool,
    /// `IsSpectator` is 1.
    pub spectator: bool,
}

/// One entry of `SessionInfo: Sessions:`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionEntry {
    /// `SessionNum`.
    pub num: Option<i64>,
    /// `SessionType` (`Race`, `Practice`, `Lone Qualify`, ...).
    pub kind: Option<String>,
}

/// What shm-bridge reads of the session info.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SessionInfo {
    /// `WeekendInfo: TrackDisplayName`.
    pub track: Option<String>,
    /// `DriverInfo: DriverCarIdx`: the player's car.
    pub driver_car_idx: Option<i64>,
    /// `DriverInfo: DriverCarRedLine`, rpm.
    pub red_line_rpm: Option<f64>,
    /// `DriverInfo: DriverCarFuelMaxLtr`, litres.
    pub fuel_max_l: Option<f64>,
    /// `DriverInfo: Drivers`.
    pub drivers: Vec<Driver>,
    /// `SessionInfo: Sessions`.
    pub sessions: Vec<SessionEntry>,
    /// What could not be read, if anything.
    pub problem: Option<String>,
}

impl SessionInfo {
    /// The player's entry in the drivers list.
    pub fn player(&self) -> Option<&Driver> {
        let idx = self.driver_car_idx?;
        self.drivers.iter().find(|d| d.car_idx == Some(idx))
    }

    /// Cars racing: the drivers but the pace car and spectators.
    pub fn cars(&self) -> Option<i32> {
        let n = self.drivers.iter().filter(|d| !d.pace_car && !d.spectator).count();
        (n > 0).then(|| i32::try_from(n).unwrap_or(i32::MAX))
    }

    /// What the page view shows of it: the player's entry, not every driver's.
    pub fn summary(&self) -> serde_json::Value {
        let player = self.player();
        serde_json::json!({
            "track": self.track,
            "driver_car_idx": self.driver_car_idx,
            "car": player.and_then(|p| p.car_screen_name.as_deref()),
            "driver": player.and_then(|p| p.user_name.as_deref()),
            "red_line_rpm": self.red_line_rpm,
            "fuel_max_l": self.fuel_max_l,
            "drivers": self.drivers.len(),
            "sessions": self.sessions,
            "problem": self.problem,
        })
    }

    /// The type of session `num`.
    pub fn kind_of(&self, num: i64) -> Option<&str> {
        self.sessions
            .iter()
            .find(|s| s.num == Some(num))
            .and_then(|s| s.kind.as_deref())
    }
}

/// The session info of `text` (the bytes before the NUL), parsed once for
/// each different text: the sim rewrites it seldom, and the model is asked
/// for at the game's rate.
pub fn read(text: &[u8]) -> Arc<SessionInfo> {
    static LAST: Mutex<Option<(Vec<u8>, Arc<SessionInfo>)>> = Mutex::new(None);
    let mut last = LAST.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((seen, info)) = last.as_ref()
        && seen.as_slice() == text
    {
        return info.clone();
    }
    let info = Arc::new(parse(text));
    *last = Some((text.to_vec(), info.clone()));
    info
}

/// The text as Unicode: UTF-8 when it is that, else Windows-1252, with
/// control characters YAML refuses made spaces.
fn decode(text: &[u8]) -> String {
    let decoded = match std::str::from_utf8(text) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => encoding_rs::WINDOWS_1252.decode_without_bom_handling(text).0,
    };
    decoded
        .chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => c,
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// Quotes the values of [`NAME_KEYS`], and values starting with a comma,
/// as pyirsdk does before parsing.
fn quote_names(section: &str) -> String {
    let mut out = String::with_capacity(section.len() + 64);
    for line in section.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let key_end = body.find(": ");
        let quoted = key_end.and_then(|at| {
            let key = body[..at].trim_start().trim_start_matches("- ");
            let value = &body[at + 2..];
            let quote = NAME_KEYS.contains(&key) || value.starts_with(',');
            (quote && !value.is_empty()).then(|| {
                format!("{}: '{}'{}", &body[..at], value.replace('\'', "''"), &line[body.len()..])
            })
        });
        match quoted {
            Some(q) => out.push_str(&q),
            None => out.push_str(line),
        }
    }
    out
}

/// The top-level sections of `text` (`WeekendInfo:` to the next one).
fn sections(text: &str) -> Vec<&str> {
    let mut starts: Vec<usize> = Vec::new();
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let first = line.chars().next().unwrap_or(' ');
        if first.is_ascii_alphabetic() && line.contains(':') {
            starts.push(at);
        }
        at += line.len();
    }
    starts.push(text.len());
    starts.windows(2).map(|w| &text[w[0]..w[1]]).collect()
}

/// One step of a path into the YAML.
#[derive(Debug)]
enum Step<'t> {
    Key(Cow<'t, str>),
    Index(usize),
}

/// A container being walked: a mapping (with the key whose value comes
/// next, if any) or a sequence (with the index of the next item).
enum Open<'t> {
    Map(Option<Cow<'t, str>>),
    Seq(usize),
}

/// Calls `leaf` with the path and text of every scalar of `yaml`; the
/// parser's error, if any, after the leaves before it.
fn walk<'t>(yaml: &'t str, mut leaf: impl FnMut(&[Step<'_>], &str)) -> Result<(), String> {
    let mut open: Vec<Open<'t>> = Vec::new();
    let path = |open: &[Open<'t>]| -> Vec<Step<'t>> {
        open.iter()
            .filter_map(|o| match o {
                Open::Map(Some(k)) => Some(Step::Key(k.clone())),
                Open::Map(None) => None,
                Open::Seq(i) => Some(Step::Index(*i)),
            })
            .collect()
    };
    // A value is done: the mapping awaits its next key, the sequence its next item.
    let done = |open: &mut Vec<Open<'t>>| match open.last_mut() {
        Some(Open::Map(key)) => *key = None,
        Some(Open::Seq(i)) => *i += 1,
        None => {}
    };
    for event in Parser::new_from_str(yaml) {
        let (event, span) = event.map_err(|e| e.to_string())?;
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if open.len() >= MAX_DEPTH {
                    return Err(format!("nested deeper than {MAX_DEPTH} at line {}", span.start.line()));
                }
                open.push(match event {
                    Event::MappingStart(..) => Open::Map(None),
                    _ => Open::Seq(0),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                open.pop();
                done(&mut open);
            }
            Event::Scalar(text, ..) => match open.last_mut() {
                Some(Open::Map(key @ None)) => *key = Some(text),
                _ => {
                    leaf(&path(&open), &text);
                    done(&mut open);
                }
            },
            Event::Alias(_) => done(&mut open),
            _ => {}
        }
    }
    Ok(())
}

/// A number at the start of `text` (`7500.000`, `6.93 km`).
fn number(text: &str) -> Option<f64> {
    text.split_whitespace().next()?.parse().ok().filter(|v: &f64| v.is_finite())
}

/// The item `i` of `list`, made if it is the next one.
fn item<T: Default>(list: &mut Vec<T>, i: usize) -> Option<&mut T> {
    if i == list.len() && i < 1024 {
        list.push(T::default());
    }
    list.get_mut(i)
}

/// Keeps the leaf at `path` if it is one the model uses.
fn keep(info: &mut SessionInfo, path: &[Step<'_>], value: &str) {
    use Step::{Index, Key};
    let text = || (!value.is_empty()).then(|| value.to_owned());
    match path {
        [Key(s), Key(k)] if s == "WeekendInfo" && k == "TrackDisplayName" => info.track = text(),
        [Key(s), Key(k)] if s == "DriverInfo" => match k.as_ref() {
            "DriverCarIdx" => info.driver_car_idx = number(value).map(|v| v as i64),
            "DriverCarRedLine" => info.red_line_rpm = number(value),
            "DriverCarFuelMaxLtr" => info.fuel_max_l = number(value),
            _ => {}
        },
        [Key(s), Key(l), Index(i), Key(k)] if s == "DriverInfo" && l == "Drivers" => {
            let Some(d) = item(&mut info.drivers, *i) else { return };
            match k.as_ref() {
                "CarIdx" => d.car_idx = number(value).map(|v| v as i64),
                "UserName" => d.user_name = text(),
                "CarScreenName" => d.car_screen_name = text(),
                "CarIsPaceCar" => d.pace_car = number(value) == Some(1.0),
                "IsSpectator" => d.spectator = number(value) == Some(1.0),
                _ => {}
            }
        }
        [Key(s), Key(l), Index(i), Key(k)] if s == "SessionInfo" && l == "Sessions" => {
            let Some(e) = item(&mut info.sessions, *i) else { return };
            match k.as_ref() {
                "SessionNum" => e.num = number(value).map(|v| v as i64),
                "SessionType" => e.kind = text(),
                _ => {}
            }
        }
        _ => {}
    }
}

/// Reads the session info of `text`, as much of it as is valid.
pub fn parse(text: &[u8]) -> SessionInfo {
    let text = decode(text);
    let mut info = SessionInfo::default();
    let mut problems = Vec::new();
    for section in sections(&text) {
        let wanted = ["WeekendInfo:", "DriverInfo:", "SessionInfo:"];
        if !wanted.iter().any(|w| section.starts_with(w)) {
            continue;
        }
        let yaml = quote_names(section);
        if let Err(e) = walk(&yaml, |path, value| keep(&mut info, path, value)) {
            let name = section.split(':').next().unwrap_or("");
            problems.push(format!("{name} is not valid YAML ({e}); what came before was read"));
        }
    }
    if info.track.is_none() && info.drivers.is_empty() && problems.is_empty() {
        problems.push("no WeekendInfo or DriverInfo in the session info".into());
    }
    info.problem = (!problems.is_empty()).then(|| problems.join("; "));
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "---\nWeekendInfo:\n TrackName: spa up\n TrackDisplayName: Circuit de Spa\n \
        TrackLength: 6.93 km\n\nSessionInfo:\n Sessions:\n - SessionNum: 0\n   SessionType: Practice\n \
        - SessionNum: 1\n   SessionType: Race\n\nDriverInfo:\n DriverCarIdx: 1\n DriverCarRedLine: 7500.000\n \
        Drivers:\n - CarIdx: 0\n   UserName: Pace Car\n   CarIsPaceCar: 1\n - CarIdx: 1\n   \
        UserName: A: B #1\n   TeamName: 'x\n   CarScreenName: Mazda MX-5\n\n...\n";

    #[test]
    fn names_that_break_yaml_are_quoted_and_the_values_read() {
        let info = parse(TEXT.as_bytes());
        assert_eq!(info.problem, None);
        assert_eq!(info.track.as_deref(), Some("Circuit de Spa"));
        let player = info.player().unwrap();
        assert_eq!(player.user_name.as_deref(), Some("A: B #1"));
        assert_eq!(player.car_screen_name.as_deref(), Some("Mazda MX-5"));
        assert_eq!(info.red_line_rpm, Some(7500.0));
        assert_eq!(info.cars(), Some(1), "the pace car does not race");
        assert_eq!(info.kind_of(1), Some("Race"));
    }

    #[test]
    fn windows_1252_text_is_decoded() {
        let mut text = b"DriverInfo:\n DriverCarIdx: 0\n Drivers:\n - CarIdx: 0\n   UserName: Ren".to_vec();
        text.extend([0xe9, b'e', b' ', 0x80, b'\n']);
        let info = parse(&text);
        assert_eq!(info.player().unwrap().user_name.as_deref(), Some("Renée €"));
    }

    #[test]
    fn invalid_yaml_keeps_what_came_before_and_says_so() {
        let text = "WeekendInfo:\n TrackDisplayName: Spa\n Broken: [1, 2\n\nDriverInfo:\n DriverCarIdx: 3\n";
        let info = parse(text.as_bytes());
        assert_eq!(info.track.as_deref(), Some("Spa"));
        assert_eq!(info.driver_car_idx, Some(3), "other sections still read");
        let problem = info.problem.unwrap();
        assert!(problem.contains("WeekendInfo is not valid YAML"), "{problem}");
        let deep = format!("DriverInfo:\n X: {}\n", "[".repeat(100_000));
        assert!(parse(deep.as_bytes()).problem.is_some());
        let nested = format!("DriverInfo:\n{}", "- ".repeat(50_000));
        assert!(parse(nested.as_bytes()).problem.is_some());
        assert!(parse(&[0xff; 300]).problem.is_some());
        assert_eq!(parse(b"").track, None);
    }

    #[test]
    fn any_text_of_yaml_signs_reads_without_panicking() {
        let signs = b"DriverInfo:\n -[]{}&*!|>'\"%@`#,?: \t\r\x00\xe9";
        let mut seed = 3u64;
        for len in 0..2000 {
            let text: Vec<u8> = (0..len % 300)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    signs[seed as usize % signs.len()]
                })
                .collect();
            let mut with_section = b"DriverInfo:\n ".to_vec();
            with_section.extend(&text);
            let _ = parse(&with_section);
        }
    }
}
