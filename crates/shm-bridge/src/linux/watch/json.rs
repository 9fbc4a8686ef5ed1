//! `watch --json`: a sample as one JSON object, as the JSON Schema
//! `crates/shm-bridge/schema/telemetry.schema.json` says: its
//! `schema_version`, the model (`telemetry`) every title is decoded into,
//! each decoded page in its family's own terms under `pages` (`physics`,
//! `graphics`, `static`), and pages of unknown layout by name under `maps`.
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
use crate::model::{MODEL_VERSION, Telemetry};

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
    object.insert("schema_version", Field::Value(json!(MODEL_VERSION)));
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
        let telemetry = Telemetry {
            title: Some(title.to_owned()),
            ..decoded.telemetry.clone()
        };
        object.insert("telemetry", Field::Value(json!(telemetry)));
        let pages: serde_json::Map<String, Value> = decoded
            .pages
            .iter()
            .map(|(label, page)| ((*label).to_owned(), page.clone()))
            .collect();
        object.insert("pages", Field::Value(Value::Object(pages)));
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

    /// The schema in the repository, for validating documents.
    pub fn schema() -> jsonschema::Validator {
        let text = include_str!("../../../schema/telemetry.schema.json");
        let schema: Value = serde_json::from_str(text).expect("the schema is JSON");
        jsonschema::validator_for(&schema).expect("the schema is a JSON Schema")
    }

    #[test]
    fn documents_of_decoded_and_raw_pages_validate_against_the_schema() {
        use crate::titles::{Copies, Family, ac};
        let frame = {
            use crate::scenario::Scenario;
            ac::synthetic::SESSION.frame(7000)
        };
        let mut copies = Copies::default();
        for update in &frame {
            let page = ac::FAMILY.page(update.file).unwrap();
            copies.push(page.label, &update.bytes[..page.len]);
        }
        let decoded = ac::FAMILY.decode(&copies);
        let sample = Sample {
            pages: vec![PageSample {
                name: "Local\\raw".into(),
                path: "/dev/shm/raw".into(),
                result: Ok(Reading::Raw(RawPage {
                    bytes: Arc::new(vec![1, 2, 255]),
                    changed: 0,
                    consistent: false,
                })),
            }],
            decoded: Some(decoded),
            taken: Instant::now(),
        };
        let validator = schema();
        for elapsed in [Duration::ZERO, Duration::from_millis(250)] {
            for frame in [None, Some(12)] {
                let mut out = Vec::new();
                write_sample(&mut out, &sample, elapsed, "ACC", frame).unwrap();
                let doc: Value = serde_json::from_slice(&out).unwrap();
                let errors: Vec<String> =
                    validator.iter_errors(&doc).map(|e| e.to_string()).collect();
                assert!(errors.is_empty(), "{errors:?}\n{doc}");
                assert_eq!(doc["telemetry"]["title"], "ACC");
                assert_eq!(doc["telemetry"]["session"]["laps_left"], Value::Null);
            }
        }
        // A document with a field the model lacks does not validate.
        let mut out = Vec::new();
        write_sample(&mut out, &sample, Duration::ZERO, "ACC", None).unwrap();
        let mut doc: Value = serde_json::from_slice(&out).unwrap();
        doc["telemetry"]["speed_mph"] = json!(1.0);
        assert!(!validator.is_valid(&doc));
    }
}
