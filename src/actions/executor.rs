//! The executor: the one door every side effect passes through. It validates a call
//! against the action's spec before anything is called, then runs it on the
//! executor's own runtime, stoppable by the caller's interrupt flag.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Map, Value};

use super::{Action, ActionError, ActionSpec, Context, Inputs, nearest, registry};

pub struct Executor {
    actions: Vec<Box<dyn Action>>,
    by_name: HashMap<&'static str, usize>,
    ctx: Context,
    runtime: tokio::runtime::Runtime,
}

impl Executor {
    pub fn new() -> std::io::Result<Executor> {
        let actions = registry::all();
        let by_name = actions
            .iter()
            .enumerate()
            .map(|(i, a)| (a.spec().name, i))
            .collect();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("actions")
            .enable_all()
            .build()?;
        Ok(Executor {
            actions,
            by_name,
            ctx: Context::default(),
            runtime,
        })
    }

    pub fn specs(&self) -> impl Iterator<Item = &'static ActionSpec> + '_ {
        self.actions.iter().map(|a| a.spec())
    }

    pub fn spec(&self, name: &str) -> Option<&'static ActionSpec> {
        self.by_name.get(name).map(|&i| self.actions[i].spec())
    }

    fn action(&self, name: &str) -> Result<&dyn Action, ActionError> {
        match self.by_name.get(name) {
            Some(&i) => Ok(self.actions[i].as_ref()),
            None => Err(ActionError::UnknownAction {
                name: name.to_string(),
                suggestions: nearest(name, self.specs().map(|s| s.name)),
            }),
        }
    }

    /// Checks a call against the spec: known action, known inputs, required inputs
    /// present, every value of the declared type. Nothing is called.
    pub fn validate(
        &self,
        name: &str,
        inputs: Map<String, Value>,
    ) -> Result<(&dyn Action, Inputs), ActionError> {
        let action = self.action(name)?;
        let spec = action.spec();
        for (key, value) in &inputs {
            let Some(input) = spec.input(key) else {
                return Err(ActionError::UnknownInput {
                    action: spec.name.to_string(),
                    input: key.clone(),
                    suggestions: nearest(key, spec.inputs.iter().map(|i| i.name)),
                    expected: spec.inputs.iter().map(|i| i.name.to_string()).collect(),
                });
            };
            if !(input.ty.accepts(value) || (value.is_null() && !input.required)) {
                return Err(ActionError::WrongType {
                    action: spec.name.to_string(),
                    input: key.clone(),
                    expected: input.ty.name(),
                    got: describe(value, input.secret),
                });
            }
        }
        if let Some(missing) = spec
            .inputs
            .iter()
            .find(|i| i.required && inputs.get(i.name).is_none_or(Value::is_null))
        {
            return Err(ActionError::MissingInput {
                action: spec.name.to_string(),
                input: missing.name.to_string(),
                doc: missing.doc.to_string(),
            });
        }
        let inputs = inputs.into_iter().filter(|(_, v)| !v.is_null()).collect();
        Ok((action, Inputs(inputs)))
    }

    /// Validates and runs an action, blocking the calling (non-async) thread. Setting
    /// `interrupt` abandons the call within ~50 ms.
    pub fn call(
        &self,
        name: &str,
        inputs: Map<String, Value>,
        interrupt: &AtomicBool,
    ) -> Result<Value, ActionError> {
        let (action, inputs) = self.validate(name, inputs)?;
        let spec = action.spec();
        tracing::info!(action = spec.name, "calling action");
        self.runtime.block_on(async {
            let run = action.run(&self.ctx, &inputs);
            let watch = async {
                while !interrupt.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            };
            tokio::select! {
                result = run => result,
                () = watch => Err(ActionError::Interrupted { action: spec.name.to_string() }),
            }
        })
    }
}

/// A value as an error message may show it: secrets are never echoed.
fn describe(value: &Value, secret: bool) -> String {
    let kind = match value {
        Value::Null => "nothing (unit)",
        Value::Bool(_) => "a bool",
        Value::Number(n) if n.is_i64() => "an int",
        Value::Number(_) => "a float",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a map",
    };
    if secret || matches!(value, Value::Array(_) | Value::Object(_)) {
        return kind.to_string();
    }
    let mut shown = value.to_string();
    if shown.chars().count() > 60 {
        shown = shown.chars().take(60).collect::<String>() + "…";
    }
    format!("{kind} ({shown})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn inputs(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn unknown_action_suggests_nearest_names() {
        let ex = Executor::new().unwrap();
        let err = ex.validate("aws.iam.create_usr", Map::new()).err().unwrap();
        let text = err.to_string();
        assert!(text.contains("unknown action `aws.iam.create_usr`"), "{text}");
        assert!(text.contains("`aws.iam.create_user`"), "{text}");
    }

    #[test]
    fn unknown_input_names_the_expected_inputs() {
        let ex = Executor::new().unwrap();
        let err = ex
            .validate("aws.iam.create_user", inputs(json!({"username": "a"})))
            .err()
            .unwrap();
        let text = err.to_string();
        assert!(text.contains("has no input `username`"), "{text}");
        assert!(text.contains("did you mean `user_name`"), "{text}");
    }

    #[test]
    fn missing_required_input_is_reported_before_any_call() {
        let ex = Executor::new().unwrap();
        let err = ex
            .validate("aws.iam.attach_user_policy", inputs(json!({"user_name": "a"})))
            .err()
            .unwrap();
        assert!(
            matches!(err, ActionError::MissingInput { ref input, .. } if input == "policy"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_names_expected_and_actual() {
        let ex = Executor::new().unwrap();
        let err = ex
            .validate("aws.iam.create_user", inputs(json!({"user_name": 42})))
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "input `user_name` of `aws.iam.create_user` must be a string, but the value is an int (42)"
        );
    }

    #[test]
    fn secret_values_are_not_echoed_in_type_errors() {
        let ex = Executor::new().unwrap();
        let err = ex
            .validate(
                "aws.iam.create_login_profile",
                inputs(json!({"user_name": "a", "password": 123456})),
            )
            .err()
            .unwrap();
        assert!(!err.to_string().contains("123456"), "{err}");
    }
}
