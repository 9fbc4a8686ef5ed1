//! `watch --json`: a sample as one JSON object. The family's decoded pages
//! come under their labels (`physics`, `graphics`, `static`), pages of
//! unknown layout by name under `maps`.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::hex;
use super::reader::Sample;

/// The sample as one line of JSON; `elapsed` is left out when zero (`--once`).
pub fn sample(sample: &Sample, elapsed: Duration, title: &str) -> String {
    let dir = sample
        .pages
        .first()
        .and_then(|p| p.path.parent())
        .unwrap_or(Path::new(""));
    let mut object = Map::new();
    object.insert("game".into(), json!(title));
    object.insert("tmpfs".into(), json!(dir.display().to_string()));
    if !elapsed.is_zero() {
        object.insert(
            "t".into(),
            json!((elapsed.as_secs_f64() * 1000.0).round() / 1000.0),
        );
    }
    if let Some(decoded) = &sample.decoded {
        for (label, page) in &decoded.pages {
            object.insert((*label).into(), page.clone());
        }
    }
    let maps: Map<String, Value> = sample
        .raw()
        .map(|(page, raw)| {
            (
                page.name.clone(),
                json!({
                    "file": page.path.display().to_string(),
                    "size": raw.bytes.len(),
                    "changed": raw.changed,
                    "consistent": raw.consistent,
                    "hex": hex::hex(&raw.bytes),
                }),
            )
        })
        .collect();
    if !maps.is_empty() {
        object.insert("maps".into(), Value::Object(maps));
    }
    let missing = sample.missing();
    if !missing.is_empty() {
        object.insert("missing".into(), json!(missing));
    }
    let errors = sample.problems();
    if !errors.is_empty() {
        object.insert("errors".into(), json!(errors));
    }
    Value::Object(object).to_string()
}
