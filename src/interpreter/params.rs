//! Notebook parameters: declarations (from the `%%parameters` cell) and values
//! (defaults, or supplied from outside by papermill's injected `%%values` cell or a
//! headless runner), validated by type, allowed values and pattern.
//!
//! Supplied values are data, never code: they are JSON, parsed as JSON, and bound as
//! values; nothing supplied is ever evaluated.

use std::collections::BTreeMap;

use serde_json::Value;

/// Declared parameter types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    String,
    Int,
    Float,
    Bool,
    List,
    Map,
}

impl ParamType {
    pub fn parse(s: &str) -> Option<ParamType> {
        Some(match s {
            "string" | "str" => ParamType::String,
            "int" | "integer" => ParamType::Int,
            "float" | "number" => ParamType::Float,
            "bool" | "boolean" => ParamType::Bool,
            "list" | "array" => ParamType::List,
            "map" | "object" => ParamType::Map,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ParamType::String => "string",
            ParamType::Int => "int",
            ParamType::Float => "float",
            ParamType::Bool => "bool",
            ParamType::List => "list",
            ParamType::Map => "map",
        }
    }

    /// The value in this type, widening an int to a float; `None` when it does not fit.
    fn coerce(self, v: &Value) -> Option<Value> {
        match (self, v) {
            (ParamType::String, Value::String(_))
            | (ParamType::Bool, Value::Bool(_))
            | (ParamType::List, Value::Array(_))
            | (ParamType::Map, Value::Object(_)) => Some(v.clone()),
            (ParamType::Int, Value::Number(n)) if n.is_i64() => Some(v.clone()),
            (ParamType::Float, Value::Number(n)) => n.as_f64().map(Value::from),
            _ => None,
        }
    }
}

/// One declared parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub name: String,
    pub ty: ParamType,
    pub default: Option<Value>,
    pub description: String,
    pub allowed: Option<Vec<Value>>,
    pub pattern: Option<String>,
    pub secret: bool,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ParamError {
    #[error("parameter `{name}`: {message}")]
    Declaration { name: String, message: String },
    #[error("parameter `{name}` must be a {expected}, but the value given is {got}{hint}")]
    WrongType {
        name: String,
        expected: &'static str,
        got: String,
        hint: &'static str,
    },
    #[error("parameter `{name}` must be one of {allowed}, but the value given is {got}")]
    NotAllowed {
        name: String,
        allowed: String,
        got: String,
    },
    #[error("parameter `{name}` must match the pattern {pattern}, but the value given is {got}")]
    NoMatch {
        name: String,
        pattern: String,
        got: String,
    },
    #[error("unknown parameter `{name}`; this notebook declares: {declared}")]
    Unknown { name: String, declared: String },
    #[error(
        "`{name}: {text}` is not a JSON value ({message}); values are data: write strings in double quotes"
    )]
    NotJson {
        name: String,
        text: String,
        message: String,
    },
    #[error("no parameters are declared yet: run the parameters cell (`%%parameters`) before `%%values`")]
    NoDeclarations,
    #[error(
        "required parameter `{name}` has no value{desc}. Pass it with `papermill IN.ipynb OUT.ipynb -p {name} VALUE`, \
         or in Jupyter run a cell after the parameters cell containing:\n%%values\n{name}: <JSON value>"
    )]
    Missing { name: String, desc: String },
    #[error(
        "required secret parameter `{name}` has no value{desc}. Set the environment variable {env} for the kernel \
         (papermill would save a -p value in the output notebook), or use `runbook run -p {name}=VALUE`, which masks it"
    )]
    MissingSecret { name: String, desc: String, env: String },
}

impl Param {
    /// Builds a declaration from the evaluated map of a `%%parameters` entry.
    pub fn declare(name: &str, spec: &Value) -> Result<Param, ParamError> {
        let err = |message: String| ParamError::Declaration {
            name: name.to_string(),
            message,
        };
        let obj = spec.as_object().ok_or_else(|| {
            err("declare it as a map, e.g. #{ type: \"string\", value: \"x\", description: \"...\" }".into())
        })?;
        // `default` is a Rhai keyword, so the unquoted key is `value`; a quoted "default" works too.
        const KEYS: &[&str] = &[
            "type",
            "value",
            "default",
            "description",
            "allowed",
            "pattern",
            "secret",
            "required",
        ];
        if let Some(bad) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(err(format!("unknown key `{bad}`; keys are {}", KEYS.join(", "))));
        }
        let ty_name = obj
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| err("needs `type`: one of string, int, float, bool, list, map".into()))?;
        let ty = ParamType::parse(ty_name).ok_or_else(|| {
            err(format!(
                "unknown type `{ty_name}`; use string, int, float, bool, list or map"
            ))
        })?;
        let allowed = match obj.get("allowed") {
            None | Some(Value::Null) => None,
            Some(Value::Array(a)) => Some(a.clone()),
            Some(_) => return Err(err("`allowed` must be an array of values".into())),
        };
        let pattern = match obj.get("pattern") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => {
                regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| err(format!("bad pattern: {e}")))?;
                Some(p.clone())
            }
            Some(_) => return Err(err("`pattern` must be a string (a regular expression)".into())),
        };
        let required = obj.get("required").and_then(Value::as_bool).unwrap_or(false);
        let default = obj
            .get("value")
            .or(obj.get("default"))
            .filter(|v| !v.is_null() && !required)
            .cloned();
        let param = Param {
            name: name.to_string(),
            ty,
            default: None,
            description: obj
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            allowed,
            pattern,
            secret: obj.get("secret").and_then(Value::as_bool).unwrap_or(false),
        };
        if param.secret && param.ty != ParamType::String {
            return Err(err(format!(
                "only string parameters can be secret, but this one is declared `type: \"{ty_name}\"`; declare it `type: \"string\"`"
            )));
        }
        let default = default.map(|d| param.check(&d)).transpose()?;
        Ok(Param { default, ..param })
    }

    /// The environment variable a secret parameter is read from when no value is
    /// supplied: `RUNBOOK_SECRET_<NAME>` (upper case, other characters as `_`).
    pub fn secret_env(&self) -> String {
        Param::secret_env_for(&self.name)
    }

    pub fn secret_env_for(name: &str) -> String {
        let name: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect();
        format!("RUNBOOK_SECRET_{name}")
    }

    /// Validates a value against this declaration; returns it in the declared type.
    pub fn check(&self, value: &Value) -> Result<Value, ParamError> {
        let shown = |v: &Value| {
            if self.secret {
                "(secret)".to_string()
            } else {
                v.to_string()
            }
        };
        let value = self.ty.coerce(value).ok_or_else(|| ParamError::WrongType {
            name: self.name.clone(),
            expected: self.ty.name(),
            got: shown(value),
            hint: if self.ty == ParamType::String {
                " (with papermill, `-r NAME VALUE` passes a raw string)"
            } else {
                ""
            },
        })?;
        if let Some(allowed) = &self.allowed
            && !allowed.contains(&value)
        {
            return Err(ParamError::NotAllowed {
                name: self.name.clone(),
                allowed: Value::Array(allowed.clone()).to_string(),
                got: shown(&value),
            });
        }
        if let (Some(pattern), Some(text)) = (&self.pattern, value.as_str()) {
            let re = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| ParamError::Declaration {
                name: self.name.clone(),
                message: format!("bad pattern: {e}"),
            })?;
            if !re.is_match(text) {
                return Err(ParamError::NoMatch {
                    name: self.name.clone(),
                    pattern: pattern.clone(),
                    got: shown(&value),
                });
            }
        }
        Ok(value)
    }
}

/// The declared parameters and their current values.
#[derive(Debug, Default, Clone)]
pub struct Parameters {
    pub declared: Vec<Param>,
    /// Values given from outside (papermill, runner), by name.
    pub supplied: BTreeMap<String, Value>,
}

impl Parameters {
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.declared.iter().find(|p| p.name == name)
    }

    /// The effective value of each parameter: supplied, else default, else `None`.
    pub fn values(&self) -> Vec<(&Param, Option<&Value>)> {
        self.declared
            .iter()
            .map(|p| (p, self.supplied.get(&p.name).or(p.default.as_ref())))
            .collect()
    }

    /// The first required parameter that has no value.
    pub fn missing(&self) -> Option<ParamError> {
        self.values()
            .into_iter()
            .find(|(_, v)| v.is_none())
            .map(|(p, _)| {
                let desc = if p.description.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", p.description)
                };
                match p.secret {
                    true => ParamError::MissingSecret {
                        name: p.name.clone(),
                        desc,
                        env: p.secret_env(),
                    },
                    false => ParamError::Missing {
                        name: p.name.clone(),
                        desc,
                    },
                }
            })
    }

    /// Validates every `(name, value)` before keeping any: all or nothing.
    pub fn supply(&mut self, values: Vec<(String, Value)>) -> Result<Vec<String>, ParamError> {
        let mut checked = Vec::new();
        for (name, value) in values {
            let param = self.get(&name).ok_or_else(|| ParamError::Unknown {
                name: name.clone(),
                declared: self
                    .declared
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })?;
            checked.push((name, param.check(&value)?));
        }
        let names = checked.iter().map(|(n, _)| n.clone()).collect();
        self.supplied.extend(checked);
        Ok(names)
    }
}

/// Parses a `%%values` entry's text as JSON.
pub fn parse_value(name: &str, text: &str) -> Result<Value, ParamError> {
    serde_json::from_str(text).map_err(|e| ParamError::NotJson {
        name: name.to_string(),
        text: text.to_string(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user_name() -> Param {
        Param::declare(
            "user_name",
            &json!({"type": "string", "pattern": "[A-Za-z0-9+=,.@_-]{1,64}", "description": "IAM user"}),
        )
        .unwrap()
    }

    #[test]
    fn declaration_without_default_is_required() {
        let mut p = Parameters {
            declared: vec![user_name()],
            ..Default::default()
        };
        let missing = p.missing().unwrap().to_string();
        assert!(
            missing.contains("required parameter `user_name` has no value (IAM user)"),
            "{missing}"
        );
        assert!(missing.contains("-p user_name VALUE"), "{missing}");
        p.supply(vec![("user_name".into(), json!("alice"))]).unwrap();
        assert!(p.missing().is_none());
    }

    #[test]
    fn wrong_type_pattern_and_allowed_values_are_rejected() {
        let p = user_name();
        assert!(matches!(p.check(&json!(5)), Err(ParamError::WrongType { .. })));
        assert!(matches!(
            p.check(&json!("has space")),
            Err(ParamError::NoMatch { .. })
        ));
        let env = Param::declare(
            "env",
            &json!({"type": "string", "allowed": ["dev", "prod"], "default": "dev"}),
        )
        .unwrap();
        let err = env.check(&json!("qa")).unwrap_err().to_string();
        assert_eq!(
            err,
            r#"parameter `env` must be one of ["dev","prod"], but the value given is "qa""#
        );
    }

    #[test]
    fn int_widens_to_float_but_not_the_reverse() {
        let f = Param::declare("f", &json!({"type": "float", "value": 1})).unwrap();
        assert_eq!(f.default, Some(json!(1.0)));
        let i = Param::declare("i", &json!({"type": "int", "default": 1})).unwrap();
        assert!(i.check(&json!(1.5)).is_err());
    }

    #[test]
    fn invalid_default_is_a_declaration_error() {
        let err = Param::declare(
            "env",
            &json!({"type": "string", "allowed": ["dev"], "default": "prod"}),
        )
        .unwrap_err();
        assert!(matches!(err, ParamError::NotAllowed { .. }));
    }

    #[test]
    fn supply_is_all_or_nothing_and_rejects_unknown_names() {
        let mut p = Parameters {
            declared: vec![user_name()],
            ..Default::default()
        };
        let err = p
            .supply(vec![("user_name".into(), json!("ok")), ("nope".into(), json!(1))])
            .unwrap_err();
        assert!(matches!(err, ParamError::Unknown { .. }));
        assert!(p.supplied.is_empty());
    }

    #[test]
    fn hostile_values_stay_literal_strings() {
        let v = parse_value("user_name", r#""\"; throw \"owned\"; \"\nline2""#).unwrap();
        assert_eq!(v, json!("\"; throw \"owned\"; \"\nline2"));
    }

    #[test]
    fn secret_values_are_not_echoed() {
        let p = Param::declare(
            "token",
            &json!({"type": "string", "secret": true, "allowed": ["a"]}),
        )
        .unwrap();
        let err = p.check(&json!("hunter2")).unwrap_err().to_string();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
