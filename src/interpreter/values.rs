//! Values crossing between Rhai and the rest: JSON conversion, secrets, and how a
//! value is shown (MIME bundles).

use std::sync::Arc;

use rhai::{Array, Dynamic, Map as RhaiMap};
use serde_json::{Map, Value, json};

use super::MimeBundle;

/// A secret string: prints, displays and serialises masked; only `reveal(s)` gives the
/// text back. Only action inputs declared secret receive the real value.
#[derive(Clone)]
pub struct Secret(Arc<str>);

pub use crate::actions::MASK;

impl Secret {
    pub fn new(text: &str) -> Secret {
        Secret(Arc::from(text))
    }
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MASK)
    }
}

/// JSON → Rhai. Fields named in `secret_fields` (at the top level) become [`Secret`]s.
pub fn to_dynamic(value: &Value, secret_fields: &[&str]) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from(i),
            None => Dynamic::from(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(s.clone()),
        Value::Array(items) => {
            let array: Array = items.iter().map(|v| to_dynamic(v, &[])).collect();
            Dynamic::from_array(array)
        }
        Value::Object(fields) => {
            let mut map = RhaiMap::new();
            for (k, v) in fields {
                let d = match v {
                    Value::String(s) if secret_fields.contains(&k.as_str()) => Dynamic::from(Secret::new(s)),
                    _ => to_dynamic(v, &[]),
                };
                map.insert(k.as_str().into(), d);
            }
            Dynamic::from_map(map)
        }
    }
}

/// How secrets are treated when turning a Rhai value into JSON.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// The text itself (parameter declarations, `reveal`-like uses).
    Reveal,
    /// For action inputs: the text wrapped as `{"$secret": text}`, so the executor can
    /// hand it to secret inputs only (see `actions::SECRET_TAG`).
    Tag,
    /// For anything shown, stored or logged.
    Mask,
}

/// How deep a value may nest before the rest is cut: deeper JSON is unreadable for
/// many tools (Python's json gives up near 1000 levels) and walking it risks the stack.
pub const MAX_DEPTH: usize = 100;

/// Rhai → JSON. Values JSON cannot hold (functions, custom types) become their text;
/// anything nested deeper than [`MAX_DEPTH`] becomes a note saying so.
pub fn to_json(value: &Dynamic, secrets: Secrets) -> Value {
    to_json_at(value, secrets, 0)
}

fn to_json_at(value: &Dynamic, secrets: Secrets, depth: usize) -> Value {
    if depth > MAX_DEPTH {
        return Value::String(format!("… (nested more than {MAX_DEPTH} levels deep)"));
    }
    if value.is_unit() {
        return Value::Null;
    }
    if let Some(b) = value.clone().try_cast::<bool>() {
        return Value::Bool(b);
    }
    if let Ok(i) = value.as_int() {
        return json!(i);
    }
    if let Ok(f) = value.as_float() {
        return serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number);
    }
    if let Ok(c) = value.as_char() {
        return Value::String(c.to_string());
    }
    if value.is_string() {
        return Value::String(value.clone().into_string().unwrap_or_default());
    }
    if let Some(secret) = value.clone().try_cast::<Secret>() {
        return Value::String(match secrets {
            Secrets::Reveal => secret.reveal().to_string(),
            Secrets::Mask => MASK.to_string(),
            Secrets::Tag => {
                return serde_json::json!({ crate::actions::SECRET_TAG: secret.reveal() });
            }
        });
    }
    if value.is_array() {
        let array = value.read_lock::<Array>();
        return Value::Array(
            array
                .iter()
                .flat_map(|a| a.iter())
                .map(|v| to_json_at(v, secrets, depth + 1))
                .collect(),
        );
    }
    if value.is_map() {
        let mut out = Map::new();
        if let Some(map) = value.read_lock::<RhaiMap>() {
            for (k, v) in map.iter() {
                out.insert(k.to_string(), to_json_at(v, secrets, depth + 1));
            }
        }
        return Value::Object(out);
    }
    Value::String(value.to_string())
}

/// The bundle shown for a cell's value: always `text/plain`; maps and arrays also as
/// `application/json`; arrays of maps also as an HTML table. Secrets are masked in all.
pub fn bundle(value: &Dynamic) -> MimeBundle {
    let mut data = MimeBundle::new();
    let json = to_json(value, Secrets::Mask);
    let plain = match &json {
        Value::String(s) if value.is_string() => format!("{s:?}"),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => serde_json::to_string_pretty(&json).unwrap_or_default(),
        other => other.to_string(),
    };
    data.insert("text/plain".into(), Value::String(plain));
    if matches!(json, Value::Array(_) | Value::Object(_)) {
        if let Some(table) = html_table(&json) {
            data.insert("text/html".into(), Value::String(table));
        }
        data.insert("application/json".into(), json);
    }
    data
}

/// An HTML table for a non-empty array whose items are all maps.
pub fn html_table(json: &Value) -> Option<String> {
    let rows = json.as_array()?;
    if rows.is_empty() || !rows.iter().all(Value::is_object) {
        return None;
    }
    let mut columns: Vec<&str> = Vec::new();
    for row in rows.iter().filter_map(Value::as_object) {
        for k in row.keys() {
            if !columns.contains(&k.as_str()) {
                columns.push(k);
            }
        }
    }
    let mut html = String::from("<table>\n<thead><tr>");
    for c in &columns {
        html.push_str(&format!("<th>{}</th>", escape(c)));
    }
    html.push_str("</tr></thead>\n<tbody>\n");
    for row in rows.iter().filter_map(Value::as_object) {
        html.push_str("<tr>");
        for c in &columns {
            let cell = match row.get(*c) {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            };
            html.push_str(&format!("<td>{}</td>", escape(&cell)));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</tbody>\n</table>");
    Some(html)
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A Rhai type name a person would recognise.
pub fn type_name(value: &Dynamic) -> &'static str {
    if value.is::<Secret>() {
        return "secret";
    }
    match value.type_name() {
        "i64" => "int",
        "f64" => "float",
        "bool" => "bool",
        "char" => "char",
        "()" => "unit",
        t if t.ends_with("ImmutableString") || t == "string" => "string",
        t if t.ends_with("Array") || t == "array" => "array",
        t if t.ends_with("Map") || t == "map" => "map",
        _ => "value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_fields_are_masked_when_shown_and_revealed_for_actions() {
        let d = to_dynamic(&json!({"user_name": "a", "password": "hunter2"}), &["password"]);
        assert_eq!(
            to_json(&d, Secrets::Mask),
            json!({"user_name": "a", "password": MASK})
        );
        assert_eq!(
            to_json(&d, Secrets::Reveal),
            json!({"user_name": "a", "password": "hunter2"})
        );
        let shown = serde_json::to_string(&bundle(&d)).unwrap();
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn arrays_of_maps_get_an_html_table() {
        let d = to_dynamic(&json!([{"a": 1, "b": "<x>"}, {"a": 2}]), &[]);
        let b = bundle(&d);
        let html = b["text/html"].as_str().unwrap();
        assert!(html.contains("<th>a</th><th>b</th>"), "{html}");
        assert!(html.contains("<td>&lt;x&gt;</td>"), "{html}");
        assert!(b.contains_key("application/json"));
    }

    #[test]
    fn scalars_have_plain_text_only() {
        let b = bundle(&Dynamic::from(3_i64));
        assert_eq!(b["text/plain"], "3");
        assert_eq!(b.len(), 1);
        assert_eq!(bundle(&Dynamic::from("hi".to_string()))["text/plain"], "\"hi\"");
    }
}
