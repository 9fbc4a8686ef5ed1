//! `watch --json`: a sample as one JSON object. The family's decoded pages
//! come under their labels (`physics`, `graphics`, `static`), pages of
//! unknown layout by name under `maps`.
//!
//! The object is written straight to the output: a raw page's bytes go out
//! as hex as they are converted, never as a string twice the page's size
//! (a page can be hundreds of megabytes).

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use serde_json::{Value, json};

use super::hex;
use super::reader::{RawPage, Sample};

/// Writes the sample as one line of JSON (without the newline); `elapsed`
/// is left out when zero (`--once`), `frame` (the game's event counter
/// that woke the sample) when there is none.
pub fn write_sample(
    out: &mut impl Write,
    sample: &Sample,
    elapsed: Duration,
    title: &str,
    frame: Option<u32>,
) -> io::Result<()> {
    let dir = sample
        .pages
        .first()
        .and_then(|p| p.path.parent())
        .unwrap_or(Path::new(""));
    // Keys in order, as serde_json's own objects have them.
    let mut object: BTreeMap<&str, Field<'_>> = BTreeMap::new();
    object.insert("game", Field::Value(json!(title)));
    object.insert("tmpfs", Field::Value(json!(dir.display().to_string())));
    if !elapsed.is_zero() {
        object.insert(
            "t",
            Field::Value(json!((elapsed.as_secs_f64() * 1000.0).round() / 1000.0)),
        );
    }
    if let Some(frame) = frame {
        object.insert("frame", Field::Value(json!(frame)));
    }
    if let Some(decoded) = &sample.decoded {
        for (label, page) in &decoded.pages {
            object.insert(label, Field::Value(page.clone()));
        }
    }
    let maps: BTreeMap<&str, RawJson<'_>> = sample
        .raw()
        .map(|(page, raw)| {
            (
                page.name.as_str(),
                RawJson {
                    file: page.path.display().to_string(),
                    raw,
                },
            )
        })
        .collect();
    if !maps.is_empty() {
        object.insert("maps", Field::Maps(maps));
    }
    let missing = sample.missing();
    if !missing.is_empty() {
        object.insert("missing", Field::Value(json!(missing)));
    }
    let errors = sample.problems();
    if !errors.is_empty() {
        object.insert("errors", Field::Value(json!(errors)));
    }
    serde_json::to_writer(out, &object).map_err(io::Error::from)
}

/// The sample as one line of JSON, for tests.
#[cfg(test)]
pub fn sample(sample: &Sample, elapsed: Duration, title: &str) -> String {
    let mut out = Vec::new();
    write_sample(&mut out, sample, elapsed, title, None).expect("writing to memory");
    String::from_utf8(out).expect("JSON is UTF-8")
}

/// A member of the object.
enum Field<'a> {
    Value(Value),
    Maps(BTreeMap<&'a str, RawJson<'a>>),
}

impl Serialize for Field<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Field::Value(v) => v.serialize(s),
            Field::Maps(maps) => {
                let mut m = s.serialize_map(Some(maps.len()))?;
                for (name, raw) in maps {
                    m.serialize_entry(name, raw)?;
                }
                m.end()
            }
        }
    }
}

/// A raw page under `maps`.
struct RawJson<'a> {
    file: String,
    raw: &'a RawPage,
}

impl Serialize for RawJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("RawPage", 5)?;
        st.serialize_field("changed", &self.raw.changed)?;
        st.serialize_field("consistent", &self.raw.consistent)?;
        st.serialize_field("file", &self.file)?;
        st.serialize_field("hex", &Hex(&self.raw.bytes))?;
        st.serialize_field("size", &self.raw.bytes.len())?;
        st.end()
    }
}

/// Bytes as a hex string, converted piece by piece as it is written.
struct Hex<'a>(&'a [u8]);

impl Serialize for Hex<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // serde_json writes a `collect_str` through its writer, unbuffered.
        s.collect_str(self)
    }
}

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for piece in self.0.chunks(4096) {
            f.write_str(&hex::hex(piece))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::watch::reader::{PageSample, Reading};
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn raw_pages_are_written_as_hex_in_one_object() {
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let sample = Sample {
            pages: vec![PageSample {
                name: "Local\\big".into(),
                path: "/dev/shm/big".into(),
                result: Ok(Reading::Raw(RawPage {
                    bytes: Arc::new(bytes.clone()),
                    changed: 3,
                    consistent: true,
                })),
            }],
            decoded: None,
            taken: Instant::now(),
        };
        let text = super::sample(&sample, Duration::from_millis(1500), "big");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["maps"]["Local\\big"]["hex"], json!(hex::hex(&bytes)));
        assert_eq!(v["maps"]["Local\\big"]["size"], json!(10_000));
        assert_eq!(v["maps"]["Local\\big"]["changed"], json!(3));
        assert_eq!(v["t"], json!(1.5));
        assert_eq!(v["tmpfs"], json!("/dev/shm"));
        assert!(!text.contains('\n'));
    }
}
