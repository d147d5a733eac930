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
//!
//! What counts as a wildcard grant is in [`super::policy_document`]. Adding a user to a
//! group is an attachment too: every policy of the group passes the same rules.

use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value;

use super::policy_document::wildcard_grant;

pub const DEFAULT_DENY: &[&str] = &["AdministratorAccess", "IAMFullAccess", "PowerUserAccess"];

/// Which input of an action the guard inspects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guarded {
    /// A managed policy name or ARN (attachments).
    ManagedPolicy(&'static str),
    /// An inline policy document.
    InlineDocument(&'static str),
    /// A group the user joins: the group's managed and inline policies.
    Group(&'static str),
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
#[serde(deny_unknown_fields)]
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
        let named = std::env::var_os("RUNBOOK_CONFIG").is_some();
        if let Some(path) = config_path().filter(|p| named || p.exists()) {
            let shown = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| match named {
                true => format!(
                    "cannot read {shown} (named by RUNBOOK_CONFIG): {e}; fix the path or unset RUNBOOK_CONFIG"
                ),
                false => format!("cannot read {shown}: {e}"),
            })?;
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
                "{what} allows {grant}; wildcard grants are refused (decided by {}; to permit them set `allow_wildcard_policies = true` under [policy_guard] in {} or RUNBOOK_ALLOW_WILDCARD_POLICIES=true)",
                self.wildcard_source,
                config_path().map_or("the config file".into(), |p| p.display().to_string()),
            )),
            None => Ok(()),
        }
    }
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
            managed_verdict(&guard, &ctx.iam().await, &arn)
                .await?
                .map_err(refuse)
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
        Guarded::Group(input) => {
            let group = inputs.str(input).unwrap_or_default();
            group_verdict(&guard, &ctx.iam().await, group)
                .await?
                .map_err(refuse)
        }
    }
}

/// A verdict that could be reached: `Ok(note)` allowed, `Err(reason)` refused.
type Verdict = Result<String, String>;

/// The rules for one managed policy: its name, then its default version's document.
/// A policy that does not exist has nothing to check (the call itself will fail).
async fn managed_verdict(
    guard: &Guard,
    iam: &aws_sdk_iam::Client,
    arn: &str,
) -> Result<Verdict, super::ActionError> {
    let name = arn.rsplit('/').next().unwrap_or(arn);
    if let Err(reason) = guard.check_name(arn) {
        return Ok(Err(reason));
    }
    match super::iam::managed_policy_document(iam, arn).await {
        Ok((version, document)) => Ok(guard
            .check_document(&format!("policy {name} ({version})"), &document)
            .map(|()| format!("allowed: {name} is not denied and its document grants no wildcard"))),
        Err(super::ActionError::Aws { code, .. }) if code == "NoSuchEntity" => {
            Ok(Ok(format!("nothing to check: policy {name} does not exist")))
        }
        Err(e) => Err(e),
    }
}

/// Joining a group grants its policies: each passes the same rules as an attachment.
async fn group_verdict(
    guard: &Guard,
    iam: &aws_sdk_iam::Client,
    group: &str,
) -> Result<Verdict, super::ActionError> {
    use super::context::aws_error;
    let mut pages = iam
        .list_attached_group_policies()
        .group_name(group)
        .into_paginator()
        .items()
        .send();
    let mut checked = 0;
    while let Some(item) = pages.next().await {
        let policy = match item {
            Ok(p) => p,
            Err(e) if super::iam::is_missing(&e) => {
                return Ok(Ok(format!("nothing to check: group {group} does not exist")));
            }
            Err(e) => return Err(aws_error("ListAttachedGroupPolicies", e)),
        };
        let arn = policy.policy_arn().unwrap_or_default();
        if let Err(reason) = managed_verdict(guard, iam, arn).await? {
            let name = policy.policy_name().unwrap_or(arn);
            return Ok(Err(format!("group {group} has {name} attached: {reason}")));
        }
        checked += 1;
    }
    let mut pages = iam
        .list_group_policies()
        .group_name(group)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| aws_error("ListGroupPolicies", e))?;
        for name in page.policy_names() {
            let out = iam
                .get_group_policy()
                .group_name(group)
                .policy_name(name)
                .send()
                .await
                .map_err(|e| aws_error("GetGroupPolicy", e))?;
            let document = super::iam::decode_document(out.policy_document()).map_err(|message| {
                super::ActionError::Invalid {
                    action: "GetGroupPolicy".into(),
                    message,
                }
            })?;
            if let Err(reason) =
                guard.check_document(&format!("group {group}'s inline policy {name}"), &document)
            {
                return Ok(Err(reason));
            }
            checked += 1;
        }
    }
    Ok(Ok(format!(
        "allowed: none of group {group}'s {checked} policies is denied or grants a wildcard"
    )))
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
    fn wildcard_refusals_say_how_to_permit_them() {
        let admin = json!({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]});
        let g = Guard {
            allow_wildcard: true,
            ..defaults()
        };
        assert!(g.check_document("policy x", &admin).is_ok());
        let err = defaults().check_document("policy x", &admin).unwrap_err();
        assert!(err.contains("decided by the built-in default"), "{err}");
        assert!(
            err.contains("`allow_wildcard_policies = true` under [policy_guard]"),
            "{err}"
        );
        assert!(err.contains("RUNBOOK_ALLOW_WILDCARD_POLICIES=true"), "{err}");
    }
}
