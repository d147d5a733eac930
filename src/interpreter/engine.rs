//! All Rhai engine configuration in one place: limits, module resolution, print and
//! debug routing, interrupts, the `Secret` type, display helpers, and the action
//! modules (`iam::create_user(#{ ... })`) bound to the executor.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rhai::{Dynamic, Engine, EvalAltResult, Map as RhaiMap, Module, Position};

use super::values::{self, MASK, Secret, Secrets};
use super::{Output, StreamName};
use crate::actions::{ActionError, Executor};

/// Engine limits. Loops are stopped by interrupts, so the operation cap is generous:
/// it catches runaway scripts in unattended runs, not slow ones.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_operations: u64,
    pub max_call_levels: usize,
    pub max_expr_depth: usize,
    pub max_function_expr_depth: usize,
    pub max_string_size: usize,
    pub max_array_size: usize,
    pub max_map_size: usize,
    /// A directory scripts may `import` modules from; `None` forbids imports.
    pub module_dir: Option<std::path::PathBuf>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_operations: 10_000_000_000,
            max_call_levels: 64,
            max_expr_depth: 128,
            max_function_expr_depth: 64,
            max_string_size: 16 * 1024 * 1024,
            max_array_size: 1_000_000,
            max_map_size: 1_000_000,
            module_dir: std::env::var_os("RUNBOOK_RHAI_MODULE_DIR").map(Into::into),
        }
    }
}

/// What the engine's callbacks reach: the running cell's output and the interrupt flag.
pub struct Shared {
    pub output: Mutex<Option<Arc<dyn Output>>>,
    pub interrupt: Arc<AtomicBool>,
}

impl Shared {
    pub fn output(&self) -> Option<Arc<dyn Output>> {
        self.output.lock().ok().and_then(|o| o.clone())
    }
}

pub fn build(limits: &Limits, shared: Arc<Shared>, executor: Arc<Executor>) -> Engine {
    let mut engine = Engine::new();
    engine
        .set_max_operations(limits.max_operations)
        .set_max_call_levels(limits.max_call_levels)
        .set_max_expr_depths(limits.max_expr_depth, limits.max_function_expr_depth)
        .set_max_string_size(limits.max_string_size)
        .set_max_array_size(limits.max_array_size)
        .set_max_map_size(limits.max_map_size);
    match &limits.module_dir {
        Some(dir) => {
            engine.set_module_resolver(rhai::module_resolvers::FileModuleResolver::new_with_path(dir))
        }
        None => engine.set_module_resolver(rhai::module_resolvers::DummyModuleResolver::new()),
    };

    let s = shared.clone();
    engine.on_print(move |text| {
        if let Some(out) = s.output() {
            out.stream(StreamName::Stdout, &format!("{text}\n"));
        }
    });
    let s = shared.clone();
    engine.on_debug(move |text, _source, _pos| {
        if let Some(out) = s.output() {
            out.stream(StreamName::Stderr, &format!("{text}\n"));
        }
    });
    let s = shared.clone();
    engine.on_progress(move |_ops| s.interrupt.load(Ordering::Relaxed).then_some(Dynamic::UNIT));

    register_secret(&mut engine);
    register_json(&mut engine);
    register_display(&mut engine, &shared);
    register_actions(&mut engine, shared, executor);
    engine
}

fn register_secret(engine: &mut Engine) {
    engine
        .register_type_with_name::<Secret>("Secret")
        .register_fn("to_string", |_: &mut Secret| MASK.to_string())
        .register_fn("to_debug", |_: &mut Secret| MASK.to_string())
        .register_fn("reveal", |s: &mut Secret| s.reveal().to_string())
        .register_fn("secret", |s: &str| Secret::new(s));
}

/// Rhai's own `parse_json` evaluates its text as a map literal, so function calls in
/// it would run (a JSON parameter value would become code). This one only parses JSON.
fn register_json(engine: &mut Engine) {
    engine.register_fn(
        "parse_json",
        |text: &str| -> Result<Dynamic, Box<EvalAltResult>> {
            serde_json::from_str::<serde_json::Value>(text)
                .map(|v| values::to_dynamic(&v, &[]))
                .map_err(|e| format!("parse_json: not valid JSON: {e}").into())
        },
    );
}

fn register_display(engine: &mut Engine, shared: &Arc<Shared>) {
    let s = shared.clone();
    engine.register_fn("display", move |value: Dynamic| {
        if let Some(out) = s.output() {
            out.display(values::bundle(&value));
        }
    });
    let s = shared.clone();
    engine.register_fn("display_html", move |html: &str| {
        if let Some(out) = s.output() {
            let mut data = values::bundle(&Dynamic::from(html.to_string()));
            data.insert("text/html".into(), html.into());
            out.display(data);
        }
    });
    let s = shared.clone();
    engine.register_fn("display_markdown", move |md: &str| {
        if let Some(out) = s.output() {
            let mut data = super::MimeBundle::new();
            data.insert("text/plain".into(), md.into());
            data.insert("text/markdown".into(), md.into());
            out.display(data);
        }
    });
    let s = shared.clone();
    engine.register_fn("clear_output", move || {
        if let Some(out) = s.output() {
            out.clear_output(false);
        }
    });
    let s = shared.clone();
    engine.register_fn(
        "input",
        move |prompt: &str| -> Result<String, Box<EvalAltResult>> {
            let out = s.output().ok_or("input is only available while a cell runs")?;
            out.input(prompt, false).map_err(Into::into)
        },
    );
    let s = shared.clone();
    engine.register_fn(
        "input_secret",
        move |prompt: &str| -> Result<Secret, Box<EvalAltResult>> {
            let out = s.output().ok_or("input is only available while a cell runs")?;
            out.input(prompt, true)
                .map(|v| Secret::new(&v))
                .map_err(Into::into)
        },
    );
}

/// Binds every action as `module::function(#{ inputs })` (and `module::function()`
/// when it has no required inputs), calling the same executor as action cells.
fn register_actions(engine: &mut Engine, shared: Arc<Shared>, executor: Arc<Executor>) {
    let mut modules: BTreeMap<&str, Module> = BTreeMap::new();
    for spec in executor.specs() {
        let (module, function) = spec.module_and_function();
        let m = modules.entry(module).or_default();
        let (ex, s) = (executor.clone(), shared.clone());
        m.set_native_fn(function, move |inputs: RhaiMap| call(&ex, &s, spec.name, inputs));
        let (ex, s) = (executor.clone(), shared.clone());
        m.set_native_fn(function, move || call(&ex, &s, spec.name, RhaiMap::new()));
    }
    for (name, module) in modules {
        engine.register_static_module(name, module.into());
    }
}

pub fn call(
    executor: &Executor,
    shared: &Shared,
    name: &str,
    inputs: RhaiMap,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let json = values::to_json(&Dynamic::from_map(inputs), Secrets::Tag);
    let inputs = json.as_object().cloned().unwrap_or_default();
    match executor.call(name, inputs, &shared.interrupt) {
        Ok(output) => Ok(output_to_dynamic(executor, name, &output)),
        Err(ActionError::Interrupted { .. }) => Err(Box::new(EvalAltResult::ErrorTerminated(
            Dynamic::UNIT,
            Position::NONE,
        ))),
        Err(e) => Err(Box::new(EvalAltResult::ErrorRuntime(
            format!("{name}: {e}").into(),
            Position::NONE,
        ))),
    }
}

/// An action's JSON output as a Rhai map, with its secret fields wrapped.
pub fn output_to_dynamic(executor: &Executor, name: &str, output: &serde_json::Value) -> Dynamic {
    let secret: Vec<&str> = executor
        .spec(name)
        .map(|s| s.output.iter().filter(|f| f.secret).map(|f| f.name).collect())
        .unwrap_or_default();
    values::to_dynamic(output, &secret)
}
