//! Running an action cell: names checked first, then the start condition, then the
//! inputs (once, or once per item of `@for_each`), then the executor.
//!
//! Options are `@` lines in the cell body:
//!
//! ```text
//! %%action aws.iam.attach_user_policy -> attached
//! @when: policies.len() > 0           run only when true; otherwise reported as skipped
//! @for_each: policies                 once per item; `item` is the current item
//! @item_input: policy                 scalar items go to this input (map items fill inputs by key)
//! @concurrency: 4                     run up to 4 items at once (default 1, in order)
//! @continue_on_error                  record a failure in the output and carry on
//! @once: new_user.user_id             skip if the audit log shows this call already
//!                                     succeeded with this key (notifications on re-runs)
//! user_name: user_name
//! ```

use rhai::{Dynamic, Map as RhaiMap};
use serde_json::{Map, Value, json};

use super::cell::Entry;
use super::errors::failure;
use super::values::{self, Secrets};
use super::{CellFailure, RhaiInterpreter, engine};
use crate::actions::{ActionError, ActionSpec};

const OPTIONS: &[&str] = &[
    "@when",
    "@for_each",
    "@item_input",
    "@concurrency",
    "@continue_on_error",
    "@once",
];
const MAX_CONCURRENCY: i64 = 16;

#[derive(Default)]
struct Options<'a> {
    when: Option<&'a Entry>,
    for_each: Option<&'a Entry>,
    item_input: Option<String>,
    concurrency: Option<&'a Entry>,
    continue_on_error: Option<&'a Entry>,
    once: Option<&'a Entry>,
}

/// What happened in an action cell, for run summaries.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct CellReport {
    pub action: Option<String>,
    pub skipped: bool,
    /// Failures recorded in the output because of `@continue_on_error`.
    pub continued_errors: usize,
    /// Whether the action changed anything (from its `changed` output), when known.
    pub changed: Option<bool>,
    pub planned: bool,
}

fn action_failure(e: ActionError) -> CellFailure {
    match e {
        ActionError::Interrupted { .. } => failure("Interrupted", e.to_string()),
        e => failure("ActionError", e.to_string()),
    }
}

/// A failure kept as data: `#{ error: "...", code: "..." }`.
fn error_value(e: &ActionError) -> Value {
    json!({ "error": e.to_string(), "code": e.code() })
}

/// Whether an input expression refers to the variable `item`.
fn mentions_item(text: &str) -> bool {
    text.match_indices("item").any(|(i, _)| {
        let ident = |c: char| c.is_alphanumeric() || c == '_';
        let before = text[..i].chars().next_back().is_none_or(|c| !ident(c));
        let after = text[i + 4..].chars().next().is_none_or(|c| !ident(c));
        before && after
    })
}

fn item_key(item: &Dynamic, item_input: Option<&str>) -> String {
    let json = values::to_json(item, Secrets::Mask);
    match (&json, item_input) {
        (Value::String(s), _) => s.clone(),
        (Value::Object(m), Some(k)) if m.get(k).is_some_and(Value::is_string) => {
            m[k].as_str().unwrap_or_default().to_string()
        }
        _ => json.to_string(),
    }
}

impl RhaiInterpreter {
    pub(super) fn run_action(
        &mut self,
        code: &str,
        action: &str,
        output: Option<&str>,
        entries: &[Entry],
    ) -> Result<Option<Dynamic>, CellFailure> {
        self.report.action = Some(action.to_string());
        // Names are checked before any expression runs: an expression may itself call
        // an action, and nothing should happen for a cell that cannot run.
        let spec = match self.executor.spec(action) {
            Some(spec) => spec,
            None => {
                return Err(action_failure(
                    self.executor
                        .validate(action, Map::new())
                        .err()
                        .unwrap_or(ActionError::UnknownAction {
                            name: action.into(),
                            suggestions: vec![],
                        }),
                ));
            }
        };
        let (options, inputs) = split_options(entries)?;
        check_names(&self.executor, spec, &options, &inputs)?;
        if let Some(when) = options.when {
            let go = self.eval_entry(code, when)?;
            match go.as_bool() {
                Ok(true) => {}
                Ok(false) => {
                    self.report.skipped = true;
                    let value = values::to_dynamic(
                        &json!({ "skipped": true, "reason": format!("@when {} is false", when.text.trim()) }),
                        &[],
                    );
                    if let Some(name) = output {
                        self.scope.set_or_push(name, value.clone());
                    }
                    return Ok(Some(value));
                }
                Err(_) => {
                    return Err(failure(
                        "ActionError",
                        format!(
                            "@when must be true or false, but `{}` is {}",
                            when.text.trim(),
                            values::type_name(&go)
                        ),
                    ));
                }
            }
        }
        let once_key = match options.once {
            Some(e) => {
                let key = self.eval_entry(code, e)?;
                let key = match values::to_json(&key, Secrets::Mask) {
                    Value::String(s) => s,
                    other => other.to_string(),
                };
                let done = self.executor.done_once(action, &key).map_err(action_failure)?;
                if let Some((when, run)) = done {
                    self.report.skipped = true;
                    let value = values::to_dynamic(
                        &json!({
                            "skipped": true,
                            "reason": format!("@once {key}: already done at {when} (run {run})"),
                        }),
                        &[],
                    );
                    if let Some(name) = output {
                        self.scope.set_or_push(name, value.clone());
                    }
                    return Ok(Some(value));
                }
                Some(key)
            }
            None => None,
        };
        let continue_on_error = match options.continue_on_error {
            Some(e) => self.eval_entry(code, e)?.as_bool().map_err(|_| {
                failure(
                    "ActionError",
                    "@continue_on_error must be true or false".to_string(),
                )
            })?,
            None => false,
        };
        let value = match options.for_each {
            None => {
                let inputs = self.eval_inputs(code, &inputs)?;
                match self
                    .executor
                    .call_keyed(action, inputs, once_key, &self.shared.interrupt)
                {
                    Ok(out) => {
                        self.note_result(&out);
                        engine::output_to_dynamic(&self.executor, action, &out)
                    }
                    Err(e @ ActionError::Interrupted { .. }) => return Err(action_failure(e)),
                    Err(e) if continue_on_error => {
                        self.report.continued_errors += 1;
                        self.warn(&format!("{action} failed; continuing (@continue_on_error): {e}"));
                        values::to_dynamic(&error_value(&e), &[])
                    }
                    Err(e) => return Err(action_failure(e)),
                }
            }
            Some(each) => self.run_each(code, action, each, &options, &inputs, continue_on_error)?,
        };
        if let Some(name) = output {
            self.scope.set_or_push(name, value.clone());
        }
        Ok(Some(value))
    }

    fn note_result(&mut self, out: &Value) {
        if out.get("planned").and_then(Value::as_bool) == Some(true) {
            self.report.planned = true;
        }
        if let Some(changed) = out.get("changed").and_then(Value::as_bool) {
            self.report.changed = Some(self.report.changed.unwrap_or(false) || changed);
        }
    }

    fn warn(&self, text: &str) {
        if let Some(out) = self.shared.output() {
            out.stream(super::StreamName::Stderr, &format!("{text}\n"));
        }
    }

    fn eval_inputs(&mut self, code: &str, inputs: &[&Entry]) -> Result<Map<String, Value>, CellFailure> {
        let mut out = Map::new();
        for entry in inputs {
            let value = self.eval_entry(code, entry)?;
            out.insert(entry.name.clone(), values::to_json(&value, Secrets::Tag));
        }
        Ok(out)
    }

    fn run_each(
        &mut self,
        code: &str,
        action: &str,
        each: &Entry,
        options: &Options,
        inputs: &[&Entry],
        continue_on_error: bool,
    ) -> Result<Dynamic, CellFailure> {
        let list = self.eval_entry(code, each)?;
        let items: Vec<Dynamic> = list.into_array().map_err(|t| {
            failure(
                "ActionError",
                format!("@for_each must be an array, but `{}` is {t}", each.text.trim()),
            )
        })?;
        let concurrency = match options.concurrency {
            Some(e) => self
                .eval_entry(code, e)?
                .as_int()
                .ok()
                .filter(|n| (1..=MAX_CONCURRENCY).contains(n))
                .ok_or_else(|| {
                    failure(
                        "ActionError",
                        format!("@concurrency must be an int from 1 to {MAX_CONCURRENCY}"),
                    )
                })? as usize,
            None => 1,
        };
        let item_input = options.item_input.as_deref();
        // Inputs may compute from `item` themselves (`user_name: `u${item}``).
        let uses_item = inputs.iter().any(|e| mentions_item(&e.text));
        let mut batch = Vec::with_capacity(items.len());
        let mut keys = Vec::with_capacity(items.len());
        for item in &items {
            let mut call = Map::new();
            match (values::to_json(item, Secrets::Tag), item_input) {
                (v, Some(input)) if !item.is_map() => {
                    call.insert(input.to_string(), v);
                }
                (Value::Object(fields), _) => call.extend(fields),
                (_, None) if uses_item => {}
                (_, None) => {
                    return Err(failure(
                        "ActionError",
                        "@for_each items that are not maps need `@item_input: INPUT` to say which input they fill, or inputs that use `item`",
                    ));
                }
                (_, Some(_)) => {}
            }
            let len = self.scope.len();
            self.scope.push("item", item.clone());
            let evaluated = self.eval_inputs(code, inputs);
            self.scope.rewind(len);
            call.extend(evaluated?);
            keys.push(item_key(item, item_input));
            batch.push(call);
        }
        if let Some(twice) = keys
            .iter()
            .enumerate()
            .find_map(|(i, k)| keys[..i].contains(k).then_some(k))
        {
            return Err(failure(
                "ActionError",
                format!(
                    "@for_each items must be distinct (results are keyed by item), but `{twice}` appears more than once; nothing was run"
                ),
            ));
        }
        let interrupt = self.shared.interrupt.clone();
        // In order by default: later items may depend on earlier ones.
        let results = self
            .executor
            .call_many(action, batch, concurrency, !continue_on_error, &interrupt)
            .map_err(action_failure)?;
        let mut collected = RhaiMap::new();
        let (mut succeeded, mut failures, mut not_run) = (Vec::new(), Vec::new(), Vec::new());
        let mut under_way = Vec::new();
        let mut interrupted = false;
        for (key, result) in keys.iter().zip(results) {
            let value = match result {
                None => {
                    not_run.push(key.as_str());
                    continue;
                }
                Some(Ok(out)) => {
                    self.note_result(&out);
                    succeeded.push(key.as_str());
                    engine::output_to_dynamic(&self.executor, action, &out)
                }
                Some(Err(ActionError::Interrupted { .. })) => {
                    interrupted = true;
                    under_way.push(key.as_str());
                    continue;
                }
                Some(Err(e)) => {
                    failures.push(format!("{key}: {e}"));
                    values::to_dynamic(&error_value(&e), &[])
                }
            };
            collected.insert(key.as_str().into(), value);
        }
        let partial = |what: String| {
            let stopped = match under_way.is_empty() {
                true => String::new(),
                false => format!(
                    "; stopped while under way (may or may not have taken effect): [{}]",
                    under_way.join(", ")
                ),
            };
            format!(
                "{what}; succeeded for: [{}]{stopped}; not run: [{}]",
                succeeded.join(", "),
                not_run.join(", ")
            )
        };
        if interrupted {
            return Err(failure(
                "Interrupted",
                partial(format!("interrupted while running `{action}`")),
            ));
        }
        if !failures.is_empty() {
            if !continue_on_error {
                return Err(failure(
                    "ActionError",
                    partial(format!("{action} failed for {}", failures.join("; "))),
                ));
            }
            self.report.continued_errors += failures.len();
            self.warn(&format!(
                "{action} failed for {} item(s); continuing: {}",
                failures.len(),
                failures.join("; ")
            ));
        }
        Ok(Dynamic::from_map(collected))
    }
}

fn split_options(entries: &[Entry]) -> Result<(Options<'_>, Vec<&Entry>), CellFailure> {
    let mut options = Options::default();
    let mut inputs = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in entries {
        if !seen.insert(e.name.as_str()) {
            return Err(failure(
                "CellSyntaxError",
                format!("`{}` is given twice (line {})", e.name, e.line),
            ));
        }
        match e.name.as_str() {
            "@when" => options.when = Some(e),
            "@for_each" => options.for_each = Some(e),
            "@item_input" => options.item_input = Some(e.text.trim().to_string()),
            "@concurrency" => options.concurrency = Some(e),
            "@continue_on_error" => options.continue_on_error = Some(e),
            "@once" => options.once = Some(e),
            other if other.starts_with('@') => {
                return Err(failure(
                    "CellSyntaxError",
                    format!(
                        "unknown option `{other}` (line {}); options are {}",
                        e.line,
                        OPTIONS.join(", ")
                    ),
                ));
            }
            _ => inputs.push(e),
        }
    }
    if options.for_each.is_none() && (options.item_input.is_some() || options.concurrency.is_some()) {
        return Err(failure(
            "CellSyntaxError",
            "@item_input and @concurrency only apply with @for_each",
        ));
    }
    if options.for_each.is_some() && options.once.is_some() {
        return Err(failure(
            "CellSyntaxError",
            "@once cannot be combined with @for_each (one key stands for one call)",
        ));
    }
    Ok((options, inputs))
}

/// Unknown inputs and missing required ones, before anything is evaluated. With
/// `@for_each`, items may supply inputs, so required ones are checked per item later.
fn check_names(
    executor: &crate::actions::Executor,
    spec: &ActionSpec,
    options: &Options,
    inputs: &[&Entry],
) -> Result<(), CellFailure> {
    let mut names: Vec<&str> = inputs.iter().map(|e| e.name.as_str()).collect();
    if let Some(i) = &options.item_input {
        names.push(i);
    }
    for name in &names {
        if spec.input(name).is_none() {
            let probe = std::iter::once((name.to_string(), Value::Null)).collect();
            if let Err(e) = executor.validate(spec.name, probe) {
                return Err(action_failure(e));
            }
        }
    }
    if options.for_each.is_none()
        && let Some(missing) = spec
            .inputs
            .iter()
            .find(|i| i.required && !names.contains(&i.name))
    {
        return Err(action_failure(ActionError::MissingInput {
            action: spec.name.into(),
            input: missing.name.into(),
            doc: missing.doc.into(),
        }));
    }
    Ok(())
}
