//! Parameter values from the command line (`-p NAME=VALUE`, `-f FILE`), typed by the
//! notebook's declarations and validated before any cell runs.

use std::path::Path;

use serde_json::Value;

use crate::interpreter::{ParamType, Parameters};

/// Raw values: `-f` file first, then `-p` in order (later wins).
pub fn collect(pairs: &[String], file: Option<&Path>) -> Result<Vec<(String, Raw)>, String> {
    let mut out: Vec<(String, Raw)> = Vec::new();
    if let Some(file) = file {
        let text =
            std::fs::read_to_string(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let is_json = file.extension().is_some_and(|e| e == "json");
        let value: Value = if is_json {
            serde_json::from_str(&text).map_err(|e| format!("{} is not valid JSON: {e}", file.display()))?
        } else {
            serde_yaml_ng::from_str(&text)
                .map_err(|e| format!("{} is not valid YAML: {e}", file.display()))?
        };
        let Value::Object(map) = value else {
            return Err(format!(
                "{} must hold a mapping of parameter names to values",
                file.display()
            ));
        };
        out.extend(map.into_iter().map(|(k, v)| (k, Raw::Typed(v))));
    }
    for pair in pairs {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("`-p {pair}`: write parameters as -p NAME=VALUE"))?;
        out.retain(|(n, _)| n != name);
        out.push((name.trim().to_string(), Raw::Text(value.to_string())));
    }
    Ok(out)
}

/// A value before it is typed: text from `-p`, or already-typed data from a file.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    Text(String),
    Typed(Value),
}

/// Types and validates every value against the declarations; all problems are
/// reported together, then a missing required parameter.
pub fn resolve(declared: &Parameters, raw: Vec<(String, Raw)>) -> Result<Vec<(String, Value)>, String> {
    let mut problems = Vec::new();
    let mut values = Vec::new();
    for (name, raw) in raw {
        let Some(param) = declared.get(&name) else {
            let names: Vec<&str> = declared.declared.iter().map(|p| p.name.as_str()).collect();
            problems.push(if names.is_empty() {
                format!("unknown parameter `{name}`: this notebook declares no parameters")
            } else {
                format!(
                    "unknown parameter `{name}`; this notebook declares: {}",
                    names.join(", ")
                )
            });
            continue;
        };
        let typed = match raw {
            Raw::Typed(v) => v,
            Raw::Text(text) => match parse_text(param.ty, &text) {
                Ok(v) => v,
                Err(e) => {
                    let shown = if param.secret {
                        "(secret)".to_string()
                    } else {
                        format!("{text:?}")
                    };
                    problems.push(format!(
                        "parameter `{name}` must be a {}: {shown} {e}",
                        param.ty.name()
                    ));
                    continue;
                }
            },
        };
        match param.check(&typed) {
            Ok(v) => values.push((name, v)),
            Err(e) => problems.push(e.to_string()),
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("\n"));
    }
    let mut with_values = declared.clone();
    with_values.supplied.extend(values.iter().cloned());
    if let Some((p, _)) = with_values.values().into_iter().find(|(_, v)| v.is_none()) {
        return Err(format!(
            "required parameter `{}` has no value{}; pass it with -p {}=VALUE or in a -f params.yaml file{}",
            p.name,
            if p.description.is_empty() {
                String::new()
            } else {
                format!(" ({})", p.description)
            },
            p.name,
            if p.secret {
                format!(", or set the environment variable {}", p.secret_env())
            } else {
                String::new()
            }
        ));
    }
    Ok(values)
}

fn parse_text(ty: ParamType, text: &str) -> Result<Value, &'static str> {
    Ok(match ty {
        ParamType::String => Value::String(text.to_string()),
        ParamType::Int => Value::from(text.trim().parse::<i64>().map_err(|_| "is not an integer")?),
        ParamType::Float => Value::from(text.trim().parse::<f64>().map_err(|_| "is not a number")?),
        ParamType::Bool => match text.trim() {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => return Err("is not true or false"),
        },
        ParamType::List => match serde_json::from_str(text) {
            Ok(v @ Value::Array(_)) => v,
            _ => return Err("is not a JSON array, e.g. '[\"a\", \"b\"]'"),
        },
        ParamType::Map => match serde_json::from_str(text) {
            Ok(v @ Value::Object(_)) => v,
            _ => return Err("is not a JSON object, e.g. '{\"team\": \"x\"}'"),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interpreter::Param;
    use serde_json::json;

    fn declared() -> Parameters {
        let d = |n: &str, v: Value| Param::declare(n, &v).unwrap();
        Parameters {
            declared: vec![
                d("user_name", json!({"type": "string"})),
                d("count", json!({"type": "int", "value": 1})),
                d("enabled", json!({"type": "bool", "value": true})),
                d("tags", json!({"type": "map", "value": {}})),
            ],
            supplied: Default::default(),
        }
    }

    fn text(pairs: &[&str]) -> Vec<(String, Raw)> {
        collect(&pairs.iter().map(|s| s.to_string()).collect::<Vec<_>>(), None).unwrap()
    }

    #[test]
    fn cli_text_is_typed_by_the_declaration() {
        let v = resolve(
            &declared(),
            text(&["user_name=42", "count=3", "enabled=false", r#"tags={"team":"x"}"#]),
        )
        .unwrap();
        assert_eq!(
            v,
            vec![
                ("user_name".into(), json!("42")),
                ("count".into(), json!(3)),
                ("enabled".into(), json!(false)),
                ("tags".into(), json!({"team": "x"})),
            ]
        );
    }

    #[test]
    fn every_problem_is_reported_and_missing_required_named() {
        let err = resolve(&declared(), text(&["count=three", "nope=1"])).unwrap_err();
        assert!(
            err.contains("parameter `count` must be a int: \"three\" is not an integer"),
            "{err}"
        );
        assert!(err.contains("unknown parameter `nope`"), "{err}");
        let err = resolve(&declared(), text(&["count=3"])).unwrap_err();
        assert!(
            err.contains("required parameter `user_name` has no value"),
            "{err}"
        );
        assert!(err.contains("-p user_name=VALUE"), "{err}");
    }

    #[test]
    fn p_without_equals_is_a_usage_error() {
        let err = collect(&["user_name".to_string()], None).unwrap_err();
        assert!(err.contains("-p NAME=VALUE"), "{err}");
    }

    #[test]
    fn yaml_file_values_are_typed_and_cli_overrides_them() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("p.yaml");
        std::fs::write(&f, "user_name: alice\ncount: 5\n").unwrap();
        let raw = collect(&["count=7".to_string()], Some(&f)).unwrap();
        let v = resolve(&declared(), raw).unwrap();
        assert!(v.contains(&("user_name".into(), json!("alice"))));
        assert!(v.contains(&("count".into(), json!(7))));
    }
}
