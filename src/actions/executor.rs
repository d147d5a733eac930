//! The executor: the one door every side effect passes through. It validates a call
//! against the action's spec before anything is called, then runs it on the
//! executor's own runtime, stoppable by the caller's interrupt flag.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{Map, Value, json};

use super::{Action, ActionError, ActionSpec, Context, Inputs, nearest, registry};
use crate::audit::{CallEnd, CallStart, Observer, RunInfo, Status};

/// Whether mutating actions are called (`Apply`) or only planned (`Plan`, a dry run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Apply,
    Plan,
}

/// One planned (not performed) mutating call.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanEntry {
    pub action: String,
    /// Resolved inputs, secrets masked.
    pub inputs: Value,
    pub change: String,
    pub changed: bool,
    pub checks: Vec<String>,
    /// Why the real call would fail (preflight checks or the policy guard), if it would.
    pub would_fail: Option<String>,
}

pub struct Executor {
    actions: Vec<Box<dyn Action>>,
    by_name: HashMap<&'static str, usize>,
    ctx: Context,
    runtime: tokio::runtime::Runtime,
    observers: Vec<Arc<dyn Observer>>,
    run: Mutex<RunInfo>,
    mode: Mutex<Mode>,
    /// Set by a dry run (`runbook run --dry-run`): plan mode cannot be left.
    plan_locked: AtomicBool,
    plan: Mutex<Vec<PlanEntry>>,
    /// While set, every call is refused with this reason (e.g. while parameters are
    /// declared: declarations are data, they must not act).
    blocked: Mutex<Option<&'static str>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
            .worker_threads(2)
            .thread_name("actions")
            .enable_all()
            .build()?;
        Ok(Executor {
            actions,
            by_name,
            ctx: Context::default(),
            runtime,
            observers: Vec::new(),
            run: Mutex::new(RunInfo::new(None, None)),
            mode: Mutex::new(Mode::Apply),
            plan_locked: AtomicBool::new(false),
            plan: Mutex::new(Vec::new()),
            blocked: Mutex::new(None),
        })
    }

    /// Adds an observer told of every call (the audit log, progress reporting).
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Executor {
        self.observers.push(observer);
        self
    }

    pub fn with_run(self, run: RunInfo) -> Executor {
        *lock(&self.run) = run;
        self
    }

    pub fn update_run(&self, f: impl FnOnce(&mut RunInfo)) {
        f(&mut lock(&self.run));
    }

    pub fn run_info(&self) -> RunInfo {
        lock(&self.run).clone()
    }

    /// Changes the mode; a locked plan (a dry run) stays in plan mode.
    pub fn set_mode(&self, mode: Mode) -> Result<(), ActionError> {
        if mode == Mode::Apply && self.plan_locked.load(Ordering::SeqCst) {
            return Err(ActionError::PlanLocked);
        }
        *lock(&self.mode) = mode;
        Ok(())
    }

    /// Plan mode for good: nothing may switch it off or clear the plan (dry runs).
    pub fn lock_plan(&self) {
        *lock(&self.mode) = Mode::Plan;
        self.plan_locked.store(true, Ordering::SeqCst);
    }

    pub fn plan_locked(&self) -> bool {
        self.plan_locked.load(Ordering::SeqCst)
    }

    /// When `action` already succeeded for real with this `@once` key (per the audit
    /// log): `(started_at, run_id)` of that call.
    pub fn done_once(&self, action: &str, key: &str) -> Result<Option<(String, String)>, ActionError> {
        for o in &self.observers {
            let found = o.done_once(action, key).map_err(|source| ActionError::Audit {
                action: action.into(),
                source,
            })?;
            if found.is_some() {
                return Ok(found);
            }
        }
        Ok(None)
    }

    /// Refuses every call while `f` runs, saying `reason`.
    pub fn without_calls<T>(&self, reason: &'static str, f: impl FnOnce() -> T) -> T {
        let before = lock(&self.blocked).replace(reason);
        let out = f();
        *lock(&self.blocked) = before;
        out
    }

    pub fn mode(&self) -> Mode {
        *lock(&self.mode)
    }

    /// The calls planned so far (plan mode).
    pub fn plan(&self) -> Vec<PlanEntry> {
        lock(&self.plan).clone()
    }

    pub fn clear_plan(&self) -> Result<(), ActionError> {
        if self.plan_locked() {
            return Err(ActionError::PlanLocked);
        }
        lock(&self.plan).clear();
        Ok(())
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
        if let Some(reason) = *lock(&self.blocked) {
            return Err(ActionError::Invalid {
                action: spec.name.into(),
                message: reason.into(),
            });
        }
        let mut inputs = inputs;
        for (key, value) in inputs.iter_mut() {
            if !super::holds_secret(value) {
                continue;
            }
            match (spec.input(key), super::secret_text(value)) {
                (Some(input), Some(text)) if input.secret => *value = text.clone(),
                (Some(_), _) => {
                    return Err(ActionError::SecretInPlainInput {
                        action: spec.name.to_string(),
                        input: key.clone(),
                    });
                }
                // Reported below as an unknown input.
                (None, _) => *value = Value::Null,
            }
        }
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

    /// Validates and runs (or, in plan mode, plans) an action, blocking the calling
    /// non-async thread. Setting `interrupt` abandons the call within ~50 ms.
    pub fn call(
        &self,
        name: &str,
        inputs: Map<String, Value>,
        interrupt: &AtomicBool,
    ) -> Result<Value, ActionError> {
        self.call_keyed(name, inputs, None, interrupt)
    }

    /// [`Executor::call`] for a cell with `@once: KEY`: the key is recorded with the
    /// call, so [`Executor::done_once`] finds it once the call has succeeded.
    pub fn call_keyed(
        &self,
        name: &str,
        inputs: Map<String, Value>,
        once_key: Option<String>,
        interrupt: &AtomicBool,
    ) -> Result<Value, ActionError> {
        let (action, inputs) = self.validate(name, inputs)?;
        self.runtime
            .block_on(self.perform(action, inputs, once_key, interrupt))
    }

    /// Calls one action once per input map, at most `concurrency` at a time; results
    /// come back in input order. Every input map is validated before any call. With
    /// `stop_on_error`, no call starts after one has failed (or was interrupted): those
    /// come back `None` (not run); calls already under way finish.
    pub fn call_many(
        &self,
        name: &str,
        batch: Vec<Map<String, Value>>,
        concurrency: usize,
        stop_on_error: bool,
        interrupt: &AtomicBool,
    ) -> Result<Vec<Option<Result<Value, ActionError>>>, ActionError> {
        let mut calls = Vec::with_capacity(batch.len());
        for inputs in batch {
            calls.push(self.validate(name, inputs)?);
        }
        let failed = AtomicBool::new(false);
        let failed = &failed;
        Ok(self.runtime.block_on(
            futures_util::stream::iter(calls)
                .map(|(action, inputs)| async move {
                    if (stop_on_error && failed.load(Ordering::SeqCst)) || interrupt.load(Ordering::SeqCst) {
                        return None;
                    }
                    let result = self.perform(action, inputs, None, interrupt).await;
                    if result.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    Some(result)
                })
                .buffered(concurrency.max(1))
                .collect(),
        ))
    }

    async fn perform(
        &self,
        action: &dyn Action,
        inputs: Inputs,
        once_key: Option<String>,
        interrupt: &AtomicBool,
    ) -> Result<Value, ActionError> {
        let spec = action.spec();
        let mode = self.mode();
        let planning = mode == Mode::Plan && spec.mutates;
        let start = CallStart {
            call_id: uuid::Uuid::new_v4().to_string(),
            run: self.run_info(),
            action: spec.name.to_string(),
            mode: if mode == Mode::Plan { "plan" } else { "apply" },
            mutates: spec.mutates,
            inputs: masked_inputs(spec, &inputs),
            started_at: chrono::Utc::now(),
            once_key,
        };
        for o in &self.observers {
            o.started(&start).map_err(|source| ActionError::Audit {
                action: spec.name.into(),
                source,
            })?;
        }
        tracing::info!(action = spec.name, planning, "calling action");
        let began = Instant::now();
        let work = async {
            let verdict = match action.guarded() {
                Some(g) => Some(super::guard::evaluate(&self.ctx, spec.name, g, &inputs).await),
                None => None,
            };
            if planning {
                let mut plan = action.plan(&self.ctx, &inputs).await?;
                match verdict {
                    Some(Ok(note)) => plan.checks.push(format!("policy guard: {note}")),
                    Some(Err(ActionError::Guard { reason, .. })) => {
                        plan.checks.push(format!("policy guard: REFUSED: {reason}"));
                        plan.change = format!("refused by the policy guard: {reason}");
                        plan.fails = Some(plan.change.clone());
                        plan.changed = false;
                    }
                    Some(Err(e)) => return Err(e),
                    None => {}
                }
                lock(&self.plan).push(PlanEntry {
                    action: spec.name.to_string(),
                    inputs: start.inputs.clone(),
                    change: plan.change.clone(),
                    changed: plan.changed,
                    checks: plan.checks.clone(),
                    would_fail: plan.fails.clone(),
                });
                let mut output = plan.output;
                if let Value::Object(fields) = &mut output {
                    fields.insert("planned".into(), Value::Bool(true));
                    fields.insert("changed".into(), Value::Bool(plan.changed));
                    fields.insert(
                        "plan".into(),
                        json!({ "change": plan.change, "checks": plan.checks, "would_fail": plan.fails }),
                    );
                }
                Ok(output)
            } else {
                if let Some(Err(e)) = verdict {
                    return Err(e);
                }
                action.run(&self.ctx, &inputs).await
            }
        };
        let watch = async {
            while !interrupt.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        };
        let result = tokio::select! {
            result = work => result,
            () = watch => Err(ActionError::Interrupted { action: spec.name.to_string() }),
        };
        if spec.name == "aws.sts.get_caller_identity"
            && let Ok(out) = &result
            && let Some(arn) = out["arn"].as_str()
        {
            self.update_run(|r| r.caller_arn = Some(arn.to_string()));
        }
        let end = CallEnd {
            status: match &result {
                Err(_) => Status::Error,
                Ok(_) if planning => Status::Planned,
                Ok(out) => match out.get("changed").and_then(Value::as_bool) {
                    Some(true) => Status::Changed,
                    Some(false) => Status::Unchanged,
                    None => Status::Ok,
                },
            },
            error_code: result.as_ref().err().and_then(|e| e.code().map(str::to_string)),
            error: result.as_ref().err().map(|e| e.to_string()),
            duration_ms: began.elapsed().as_millis() as u64,
            caller_arn: self.run_info().caller_arn,
        };
        for o in &self.observers {
            if let Err(e) = o.finished(&start, &end) {
                tracing::error!("{e}");
            }
        }
        result
    }
}

/// Inputs as they may be shown or stored: secret inputs masked.
pub fn masked_inputs(spec: &ActionSpec, inputs: &Inputs) -> Value {
    let mut out = Map::new();
    for (k, v) in &inputs.0 {
        let secret = spec.input(k).is_some_and(|i| i.secret);
        out.insert(
            k.clone(),
            if secret {
                Value::String(super::MASK.into())
            } else {
                v.clone()
            },
        );
    }
    Value::Object(out)
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
