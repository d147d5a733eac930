//! The least-privilege guard every policy attachment passes through (in the executor,
//! not in each runbook): a deny list, an optional allow list, and a refusal of policies
//! whose document allows everything.
//!
//! Configuration: `$RUNBOOK_CONFIG` or `<config dir>/runbook/config.toml`:
//!
//! ```toml
//! [policy_guard]
//! deny = ["AdministratorAccess", "IAMFullAccess", "PowerUserAccess"]   # the default
//! allow = ["IAMUserChangePassword", "ReadOnlyAccess"]                   # optional: allow-list mode
//! allow_wildcard_policies = false                                       # the default
//! ```
//!
//! Environment overrides: `RUNBOOK_POLICY_DENY`, `RUNBOOK_POLICY_ALLOW` (comma-separated),
//! `RUNBOOK_ALLOW_WILDCARD_POLICIES=true`.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

pub const DEFAULT_DENY: &[&str] = &["AdministratorAccess", "IAMFullAccess", "PowerUserAccess"];

/// Which input of an action the guard inspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    /// A managed policy name or ARN (attachments).
    ManagedPolicy(&'static str),
    /// An inline policy document.
    InlineDocument(&'static str),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Guard {
    pub deny: Vec<String>,
    pub allow: Option<Vec<String>>,
    pub allow_wildcard: bool,
    /// Where each setting came from, for error messages.
    pub deny_source: String,
    pub allow_source: String,
    pub wildcard_source: String,
}

#[derive(Debug, Default, Deserialize)]
struct File {
    policy_guard: Option<Section>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Section {
    deny: Option<Vec<String>>,
    allow: Option<Vec<String>>,
    allow_wildcard_policies: Option<bool>,
}

pub fn config_path() -> Option<PathBuf> {
    match std::env::var_os("RUNBOOK_CONFIG") {
        Some(p) => Some(PathBuf::from(p)),
        None => dirs::config_dir().map(|d| d.join("runbook").join("config.toml")),
    }
}

fn list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl Guard {
    /// Defaults, then the config file, then the environment.
    pub fn load() -> Result<Guard, String> {
        let mut guard = Guard {
            deny: DEFAULT_DENY.iter().map(|s| s.to_string()).collect(),
            allow: None,
            allow_wildcard: false,
            deny_source: "the built-in default".into(),
            allow_source: String::new(),
            wildcard_source: "the built-in default".into(),
        };
        if let Some(path) = config_path().filter(|p| p.exists()) {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {shown}: {e}"))?;
            let file: File = toml::from_str(&text).map_err(|e| format!("{shown} is not valid: {e}"))?;
            let section = file.policy_guard.unwrap_or_default();
            if let Some(deny) = section.deny {
                guard.deny = deny;
                guard.deny_source = format!("`policy_guard.deny` in {shown}");
            }
            if let Some(allow) = section.allow {
                guard.allow = Some(allow);
                guard.allow_source = format!("`policy_guard.allow` in {shown}");
            }
            if let Some(w) = section.allow_wildcard_policies {
                guard.allow_wildcard = w;
                guard.wildcard_source = format!("`policy_guard.allow_wildcard_policies` in {shown}");
            }
        }
        if let Ok(v) = std::env::var("RUNBOOK_POLICY_DENY") {
            guard.deny = list(&v);
            guard.deny_source = "RUNBOOK_POLICY_DENY".into();
        }
        if let Ok(v) = std::env::var("RUNBOOK_POLICY_ALLOW") {
            guard.allow = Some(list(&v));
            guard.allow_source = "RUNBOOK_POLICY_ALLOW".into();
        }
        if let Ok(v) = std::env::var("RUNBOOK_ALLOW_WILDCARD_POLICIES") {
            guard.allow_wildcard = matches!(v.trim(), "1" | "true" | "yes");
            guard.wildcard_source = "RUNBOOK_ALLOW_WILDCARD_POLICIES".into();
        }
        Ok(guard)
    }

    /// Name- and list-based rules for a managed policy ARN.
    pub fn check_name(&self, arn: &str) -> Result<(), String> {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        let matches = |entry: &String| entry == arn || entry == name;
        if self.deny.iter().any(matches) {
            return Err(format!(
                "{name} is on the deny list ({}); attaching it would grant far more than least privilege",
                self.deny_source
            ));
        }
        if let Some(allow) = &self.allow
            && !allow.iter().any(matches)
        {
            return Err(format!(
                "{name} is not on the allow list ({}: {})",
                self.allow_source,
                allow.join(", ")
            ));
        }
        Ok(())
    }

    /// Refuses a document that allows everything, unless configured otherwise.
    pub fn check_document(&self, what: &str, document: &Value) -> Result<(), String> {
        if self.allow_wildcard {
            return Ok(());
        }
        match wildcard_grant(document) {
            Some(grant) => Err(format!(
                "{what} allows {grant}; wildcard grants are refused unless allowed by {} (set it to true to permit them)",
                self.wildcard_source
            )),
            None => Ok(()),
        }
    }
}

fn as_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        _ => Vec::new(),
    }
}

/// The first Allow statement granting `"Action": "*"` on `"Resource": "*"`, or a
/// service-wide `iam:*`, described for the error message.
pub fn wildcard_grant(document: &Value) -> Option<String> {
    let statements = match document.get("Statement") {
        Some(Value::Array(s)) => s.clone(),
        Some(s @ Value::Object(_)) => vec![s.clone()],
        _ => return None,
    };
    for s in statements {
        if s.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let actions = as_list(s.get("Action"));
        let resources = as_list(s.get("Resource"));
        if actions.iter().any(|a| a == "*") && resources.iter().any(|r| r == "*") {
            return Some("\"Action\": \"*\" on \"Resource\": \"*\" (full administrator access)".into());
        }
        if actions.iter().any(|a| a.eq_ignore_ascii_case("iam:*")) {
            return Some("\"iam:*\" (full control of IAM, enough to grant itself anything)".into());
        }
    }
    None
}

/// The guard's verdict on one call: `Ok(note)` when allowed, `Err(ActionError::Guard)`
/// when refused, another error when the policy could not be checked (fail closed).
pub async fn evaluate(
    ctx: &super::Context,
    action: &str,
    guarded: Guarded,
    inputs: &super::Inputs,
) -> Result<String, super::ActionError> {
    use super::ActionError;
    let guard = Guard::load().map_err(|message| ActionError::Invalid {
        action: "policy guard".into(),
        message,
    })?;
    let refuse = |reason: String| ActionError::Guard {
        action: action.to_string(),
        reason,
    };
    match guarded {
        Guarded::ManagedPolicy(input) => {
            let arn = super::iam::policy_arn(inputs.str(input).unwrap_or_default());
            guard.check_name(&arn).map_err(refuse)?;
            let name = arn.rsplit('/').next().unwrap_or(&arn).to_string();
            match super::iam::managed_policy_document(&ctx.iam().await, &arn).await {
                Ok((version, document)) => {
                    guard
                        .check_document(&format!("policy {name} ({version})"), &document)
                        .map_err(refuse)?;
                    Ok(format!(
                        "allowed: {name} is not denied and its document grants no wildcard"
                    ))
                }
                Err(ActionError::Aws { code, .. }) if code == "NoSuchEntity" => {
                    Ok(format!("nothing to check: policy {name} does not exist"))
                }
                Err(e) => Err(e),
            }
        }
        Guarded::InlineDocument(input) => {
            let document = match inputs.value(input) {
                Some(Value::String(text)) => {
                    serde_json::from_str(text).map_err(|e| ActionError::Invalid {
                        action: action.to_string(),
                        message: format!("`{input}` is not a JSON policy document: {e}"),
                    })?
                }
                Some(v) => v.clone(),
                None => Value::Null,
            };
            guard
                .check_document("the inline policy", &document)
                .map_err(refuse)?;
            Ok("allowed: the document grants no wildcard".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defaults() -> Guard {
        Guard {
            deny: DEFAULT_DENY.iter().map(|s| s.to_string()).collect(),
            allow: None,
            allow_wildcard: false,
            deny_source: "the built-in default".into(),
            allow_source: String::new(),
            wildcard_source: "the built-in default".into(),
        }
    }

    #[test]
    fn deny_list_refuses_administrator_access_by_name_or_arn() {
        let err = defaults()
            .check_name("arn:aws:iam::aws:policy/AdministratorAccess")
            .unwrap_err();
        assert!(
            err.starts_with("AdministratorAccess is on the deny list (the built-in default)"),
            "{err}"
        );
        assert!(
            defaults()
                .check_name("arn:aws:iam::aws:policy/IAMUserChangePassword")
                .is_ok()
        );
    }

    #[test]
    fn allow_list_mode_refuses_everything_else() {
        let g = Guard {
            allow: Some(vec!["ReadOnlyAccess".into()]),
            allow_source: "RUNBOOK_POLICY_ALLOW".into(),
            ..defaults()
        };
        assert!(g.check_name("arn:aws:iam::aws:policy/ReadOnlyAccess").is_ok());
        let err = g
            .check_name("arn:aws:iam::aws:policy/IAMUserChangePassword")
            .unwrap_err();
        assert!(
            err.contains("not on the allow list (RUNBOOK_POLICY_ALLOW: ReadOnlyAccess)"),
            "{err}"
        );
    }

    #[test]
    fn wildcard_documents_are_found() {
        let admin = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        assert!(wildcard_grant(&admin).unwrap().contains("\"Action\": \"*\""));
        let iam_all =
            json!({"Statement": {"Effect": "Allow", "Action": ["s3:Get*", "IAM:*"], "Resource": "arn:x"}});
        assert!(wildcard_grant(&iam_all).unwrap().contains("iam:*"));
        let deny = json!({"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]});
        assert_eq!(wildcard_grant(&deny), None);
        let narrow =
            json!({"Statement": [{"Effect": "Allow", "Action": "iam:ChangePassword", "Resource": "*"}]});
        assert_eq!(wildcard_grant(&narrow), None);
        let g = Guard {
            allow_wildcard: true,
            ..defaults()
        };
        assert!(g.check_document("policy x", &admin).is_ok());
        let err = defaults().check_document("policy x", &admin).unwrap_err();
        assert!(err.contains("unless allowed by the built-in default"), "{err}");
    }
}
