//! Actions: every side effect a runbook can cause, behind one executor.
//!
//! Each action is one small file with the same shape: a static [`ActionSpec`] (name,
//! docs, typed inputs, output fields, whether it mutates, the IAM permissions it
//! needs) and an async `run`. The [`registry`] lists them; validation, Rhai bindings,
//! completion, inspect and the docs all read that one table. Values crossing this
//! layer are JSON: the actions know nothing of Rhai or Jupyter.

mod context;
mod executor;
pub mod guard;
mod iam;
mod password;
mod policy_document;
pub mod registry;

mod iam_add_user_to_group;
mod iam_attach_user_policy;
mod iam_create_access_key;
mod iam_create_login_profile;
mod iam_create_user;
mod iam_delete_access_key;
mod iam_delete_login_profile;
mod iam_delete_user_policy;
mod iam_detach_user_policy;
mod iam_get_policy_document;
mod iam_get_user;
mod iam_list_access_keys;
mod iam_list_attached_user_policies;
mod iam_list_groups_for_user;
mod iam_list_user_policies;
mod iam_list_users;
mod iam_put_user_policy;
pub mod iam_remove_user;
mod iam_remove_user_from_group;
mod iam_tag_user;
mod iam_untag_user;
mod iam_update_access_key;
mod iam_update_login_profile;
mod slack_post_message;
mod sts_get_caller_identity;

pub use context::Context;
pub use executor::{Executor, Mode, PlanEntry};

use serde_json::{Map, Value};

/// How a secret value is shown anywhere it could be seen or stored.
pub const MASK: &str = "********";

/// The key of `{"$secret": text}`: how a caller marks a secret value in a call's
/// inputs. Only inputs declared `secret` accept one; anywhere else its text would be
/// shown and stored in plain, so the call is refused.
pub const SECRET_TAG: &str = "$secret";

/// Whether `value` holds a tagged secret anywhere inside it.
fn holds_secret(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.contains_key(SECRET_TAG) || m.values().any(holds_secret),
        Value::Array(a) => a.iter().any(holds_secret),
        _ => false,
    }
}

/// The text of a value that is exactly one tagged secret.
fn secret_text(value: &Value) -> Option<&Value> {
    match value {
        Value::Object(m) if m.len() == 1 => m.get(SECRET_TAG),
        _ => None,
    }
}

/// The type an input accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputType {
    String,
    Int,
    Bool,
    StringList,
    /// A map from string keys to string values (e.g. tags).
    StringMap,
    /// A JSON document: a map, or JSON text.
    Document,
}

impl InputType {
    pub fn name(self) -> &'static str {
        match self {
            InputType::String => "string",
            InputType::Int => "int",
            InputType::Bool => "bool",
            InputType::StringList => "list of strings",
            InputType::StringMap => "map of string to string",
            InputType::Document => "JSON document (map or JSON text)",
        }
    }

    pub fn accepts(self, value: &Value) -> bool {
        match self {
            InputType::String => value.is_string(),
            InputType::Int => value.is_i64(),
            InputType::Bool => value.is_boolean(),
            InputType::StringList => value.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            InputType::StringMap => value
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string)),
            InputType::Document => value.is_object() || value.is_string(),
        }
    }
}

/// One input of an action.
#[derive(Debug)]
pub struct InputSpec {
    pub name: &'static str,
    pub ty: InputType,
    pub required: bool,
    pub doc: &'static str,
    /// Masked wherever inputs are shown or recorded.
    pub secret: bool,
}

/// One field of an action's output map.
#[derive(Debug)]
pub struct OutputField {
    pub name: &'static str,
    pub doc: &'static str,
    /// Shown masked; revealing it takes an explicit call.
    pub secret: bool,
}

/// Everything known about an action before it runs.
#[derive(Debug)]
pub struct ActionSpec {
    /// Dotted name, e.g. `aws.iam.create_user`.
    pub name: &'static str,
    pub summary: &'static str,
    pub doc: &'static str,
    pub inputs: &'static [InputSpec],
    pub output: &'static [OutputField],
    pub mutates: bool,
    /// IAM actions (or other grants) the caller needs.
    pub permissions: &'static [&'static str],
}

impl ActionSpec {
    pub fn input(&self, name: &str) -> Option<&InputSpec> {
        self.inputs.iter().find(|i| i.name == name)
    }

    /// The Rhai-side name: `aws.iam.create_user` → (`iam`, `create_user`).
    pub fn module_and_function(&self) -> (&'static str, &'static str) {
        let mut parts = self.name.rsplitn(3, '.');
        let function = parts.next().unwrap_or(self.name);
        let module = parts.next().unwrap_or("actions");
        (module, function)
    }

    /// A one-screen description: summary, inputs with types and docs, output fields.
    pub fn help(&self) -> String {
        let mut s = format!("{}\n\n{}\n\n{}\n\nInputs:\n", self.name, self.summary, self.doc);
        if self.inputs.is_empty() {
            s.push_str("  (none)\n");
        }
        for i in self.inputs {
            let req = if i.required { "required" } else { "optional" };
            let secret = if i.secret { ", secret" } else { "" };
            s.push_str(&format!(
                "  {}: {} ({req}{secret}) — {}\n",
                i.name,
                i.ty.name(),
                i.doc
            ));
        }
        s.push_str("\nOutput:\n");
        for o in self.output {
            let secret = if o.secret { " (secret)" } else { "" };
            s.push_str(&format!("  {}{secret} — {}\n", o.name, o.doc));
        }
        s.push_str(&format!(
            "\nMutates: {}\nNeeds: {}\n",
            if self.mutates { "yes" } else { "no" },
            self.permissions.join(", ")
        ));
        s
    }
}

/// Validated inputs, with typed accessors.
#[derive(Debug, Clone, Default)]
pub struct Inputs(Map<String, Value>);

impl Inputs {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }
    /// A required string input (validation has already checked presence and type).
    pub fn required_str(&self, name: &str) -> &str {
        self.str(name).unwrap_or_default()
    }
    pub fn value(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(Value::as_bool)
    }
    pub fn string_list(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default()
    }
    pub fn string_map(&self, name: &str) -> Vec<(String, String)> {
        self.0
            .get(name)
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// An action either ran and produced an output map, or failed with an ActionError.
pub type ActionResult = Result<Value, ActionError>;

/// What a mutating action would do, found without changing anything.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The predicted change, in words (`create user alice`).
    pub change: String,
    /// Whether anything would change.
    pub changed: bool,
    /// What read-only preflight checks found.
    pub checks: Vec<String>,
    /// Why the real call would fail, when the preflight checks can tell.
    pub fails: Option<String>,
    /// A value shaped like the real output, so later cells keep working in plan mode.
    pub output: Value,
}

#[async_trait::async_trait]
pub trait Action: Send + Sync {
    fn spec(&self) -> &'static ActionSpec;
    async fn run(&self, ctx: &Context, inputs: &Inputs) -> ActionResult;
    /// Plan mode: only called for mutating actions; must not change anything. The
    /// default predicts a call and checks nothing.
    /// Which input the least-privilege guard inspects before this action runs.
    fn guarded(&self) -> Option<guard::Guarded> {
        None
    }
    async fn plan(&self, _ctx: &Context, _inputs: &Inputs) -> Result<Plan, ActionError> {
        let spec = self.spec();
        Ok(Plan {
            change: format!("call {}", spec.name),
            changed: true,
            checks: Vec::new(),
            fails: None,
            output: Value::Object(Map::new()),
        })
    }
}

/// What went wrong with an action, worded for the person running the runbook.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error("unknown action `{name}`{}", did_you_mean(suggestions))]
    UnknownAction { name: String, suggestions: Vec<String> },
    #[error("`{action}` has no input `{input}`{}; its inputs are: {}", did_you_mean(suggestions), expected.join(", "))]
    UnknownInput {
        action: String,
        input: String,
        suggestions: Vec<String>,
        expected: Vec<String>,
    },
    #[error("`{action}` needs input `{input}` ({doc}); add a line `{input}: <expression>`")]
    MissingInput {
        action: String,
        input: String,
        doc: String,
    },
    #[error(
        "input `{input}` of `{action}` is not a secret input, but its value holds a secret: it would be shown and stored in plain text. Pass reveal(value) if you really mean to send the secret's text there"
    )]
    SecretInPlainInput { action: String, input: String },
    #[error("input `{input}` of `{action}` must be a {expected}, but the value is {got}")]
    WrongType {
        action: String,
        input: String,
        expected: &'static str,
        got: String,
    },
    #[error("{operation} failed: {code}: {message}")]
    Aws {
        operation: &'static str,
        code: String,
        message: String,
    },
    #[error("{operation} failed: {detail}")]
    AwsTransport { operation: &'static str, detail: String },
    #[error("Slack {method} failed: {code}{}", hint.as_deref().map(|h| format!(" ({h})")).unwrap_or_default())]
    Slack {
        method: &'static str,
        code: String,
        hint: Option<String>,
    },
    #[error(
        "Slack is not configured: set SLACK_BOT_TOKEN to a bot token (xoxb-…) with the chat:write scope in the kernel's environment (for Jupyter, in kernel.json's \"env\" or the shell that starts Jupyter)"
    )]
    SlackNotConfigured,
    #[error("{action}: {message}")]
    Invalid { action: String, message: String },
    #[error(
        "this is a dry run (runbook run --dry-run): plan mode cannot be switched off or its plan cleared from a cell"
    )]
    PlanLocked,
    #[error("interrupted while running `{action}`; it may or may not have taken effect")]
    Interrupted { action: String },
    #[error(
        "removing user {user} stopped at step `{step}` ({item}): {cause}. Removed so far: {removed}. Still there: {left}. Fix the cause and run again: it continues from there"
    )]
    Teardown {
        user: String,
        step: &'static str,
        item: String,
        cause: Box<ActionError>,
        removed: String,
        left: String,
    },
    #[error("policy guard refused `{action}`: {reason}")]
    Guard { action: String, reason: String },
    #[error("`{action}` was not called: {source}")]
    Audit {
        action: String,
        source: crate::audit::AuditError,
    },
}

impl ActionError {
    /// The error code a service returned, when there is one (AWS or Slack).
    pub fn code(&self) -> Option<&str> {
        match self {
            ActionError::Aws { code, .. } | ActionError::Slack { code, .. } => Some(code),
            ActionError::Guard { .. } => Some("PolicyGuard"),
            ActionError::Teardown { cause, .. } => cause.code(),
            _ => None,
        }
    }
}

fn did_you_mean(suggestions: &[String]) -> String {
    match suggestions {
        [] => String::new(),
        [one] => format!(" (did you mean `{one}`?)"),
        many => format!(
            " (did you mean one of {}?)",
            many.iter()
                .map(|s| format!("`{s}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Names close to `wanted`, nearest first.
pub fn nearest<'a>(wanted: &str, candidates: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut scored: Vec<(f64, &str)> = candidates
        .into_iter()
        .map(|c| {
            let tail = c.rsplit('.').next().unwrap_or(c);
            let score = strsim::jaro_winkler(wanted, c).max(strsim::jaro_winkler(wanted, tail));
            (score, c)
        })
        .filter(|(score, _)| *score > 0.75)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().take(3).map(|(_, c)| c.to_string()).collect()
}
