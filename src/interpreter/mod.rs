//! The language side: Rhai cells, action cells and parameters behind the kernel's
//! [`Interpreter`] seam.
//!
//! One engine and one scope live as long as the kernel, so variables, functions and
//! constants persist across cells. Every side effect goes to the actions
//! [`Executor`]; this layer knows nothing of sockets or execution counts.

mod action_cell;
mod cell;
mod complete;
mod engine;
mod errors;
mod params;
mod plan;
mod seam;
mod values;

pub use action_cell::CellReport;
pub use engine::Limits;
pub use params::{Param, ParamError, ParamType, Parameters};
pub use plan::text_table as plan_text;
pub use seam::{CellFailure, Completeness, Completion, Interpreter, MimeBundle, Outcome, Output, StreamName};
pub use values::{MASK, Secret};

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use rhai::{AST, Dynamic, Engine, Scope};
use serde_json::{Value, json};

use crate::actions::Executor;
use cell::{Cell, Entry};
use engine::Shared;
use errors::{failure, from_rhai};

/// Rhai plus action cells plus parameters.
pub struct RhaiInterpreter {
    engine: Engine,
    scope: Scope<'static>,
    /// Functions defined by earlier cells, merged into every later one.
    functions: AST,
    shared: Arc<Shared>,
    executor: Arc<Executor>,
    params: Option<Parameters>,
    report: CellReport,
}

impl RhaiInterpreter {
    pub fn new(executor: Arc<Executor>, limits: &Limits) -> RhaiInterpreter {
        let shared = Arc::new(Shared {
            output: Mutex::new(None),
            interrupt: Arc::new(AtomicBool::new(false)),
        });
        let engine = engine::build(limits, shared.clone(), executor.clone());
        RhaiInterpreter {
            engine,
            scope: Scope::new(),
            functions: AST::empty(),
            shared,
            executor,
            params: None,
            report: CellReport::default(),
        }
    }

    fn set_output(&self, out: Option<Arc<dyn Output>>) {
        if let Ok(mut slot) = self.shared.output.lock() {
            *slot = out;
        }
    }

    fn run_cell(&mut self, code: &str) -> Result<Option<Dynamic>, CellFailure> {
        // `exit`/`quit` end a terminal session, as in IPython (unless a variable has the name).
        if matches!(code.trim(), "exit" | "quit") && !self.scope.contains(code.trim()) {
            if let Some(out) = self.shared.output() {
                out.ask_exit();
            }
            return Ok(None);
        }
        let cell = cell::parse(code).map_err(|m| failure("CellSyntaxError", m))?;
        if !matches!(
            cell,
            Cell::Parameters { .. } | Cell::Values { .. } | Cell::Plan { .. } | Cell::Help { .. }
        ) && let Some(missing) = self.params.as_ref().and_then(Parameters::missing)
        {
            return Err(failure("ParameterError", missing.to_string()));
        }
        match cell {
            Cell::Rhai => self.run_rhai(code),
            Cell::Action {
                action,
                output,
                entries,
            } => self.run_action(code, &action, output.as_deref(), &entries),
            Cell::Parameters { entries } => self.declare_parameters(code, &entries).map(|()| None),
            Cell::Values { entries } => self.supply_values(&entries).map(|()| None),
            Cell::Plan { arg } => self.plan_magic(&arg),
            Cell::Help { name } => self.page_help(&name).map(|()| None),
        }
    }

    fn page_help(&self, name: &str) -> Result<(), CellFailure> {
        let ctx = complete::Context {
            scope: &self.scope,
            executor: &self.executor,
        };
        let text = complete::help_for(&ctx, name).ok_or_else(|| {
            failure(
                "NameError",
                format!(
                    "no help for `{name}`: it is not an action, a function or a variable here; `runbook actions` lists the actions"
                ),
            )
        })?;
        if let Some(out) = self.shared.output() {
            let mut data = MimeBundle::new();
            data.insert("text/plain".into(), text.into());
            out.page(data);
        }
        Ok(())
    }

    fn run_rhai(&mut self, code: &str) -> Result<Option<Dynamic>, CellFailure> {
        let ast = self
            .engine
            .compile_with_scope(&self.scope, code)
            .map_err(|e| from_rhai(&e.into(), code, 0))?;
        let program = self.functions.merge(&ast);
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &program);
        // Functions defined before a failure are still defined, as in a REPL.
        self.functions = self.functions.merge(&ast.clone_functions_only());
        let value = result.map_err(|e| from_rhai(&e, code, 0))?;
        Ok((!value.is_unit()).then_some(value))
    }

    /// Evaluates an `input: expression` in the notebook's scope without letting it
    /// add variables to it.
    fn eval_entry(&mut self, code: &str, entry: &Entry) -> Result<Dynamic, CellFailure> {
        let len = self.scope.len();
        let ast = self
            .engine
            .compile_with_scope(&self.scope, &entry.text)
            .map_err(|e| from_rhai(&e.into(), code, entry.line - 1))?;
        let program = self.functions.merge(&ast);
        let result = self
            .engine
            .eval_ast_with_scope::<Dynamic>(&mut self.scope, &program);
        self.scope.rewind(len);
        result.map_err(|e| {
            let mut f = from_rhai(&e, code, entry.line - 1);
            f.evalue = format!("input `{}`: {}", entry.name, f.evalue);
            f.traceback[0] = format!("{}: {}", f.ename, f.evalue);
            f
        })
    }

    fn declare_parameters(&mut self, code: &str, entries: &[Entry]) -> Result<(), CellFailure> {
        let mut declared: Vec<Param> = Vec::new();
        let executor = self.executor.clone();
        for entry in entries {
            let spec = executor.without_calls(
                "actions cannot be called from a %%parameters cell: declarations are data (a type, a default, …); call the action in a later cell",
                || self.eval_entry(code, entry),
            )?;
            let shown = values::to_json(&spec, values::Secrets::Mask);
            let spec = values::to_json(&spec, values::Secrets::Reveal);
            // The two differ exactly when the value holds a Secret somewhere.
            if shown != spec {
                return Err(failure(
                    "ParameterError",
                    format!(
                        "parameter `{}`: a declaration cannot hold a secret value (it would become plain text); declare it `secret: true` and supply it through {}",
                        entry.name,
                        Param::secret_env_for(&entry.name)
                    ),
                ));
            }
            let param =
                Param::declare(&entry.name, &spec).map_err(|e| failure("ParameterError", e.to_string()))?;
            if declared.iter().any(|p| p.name == param.name) {
                return Err(failure(
                    "ParameterError",
                    format!("parameter `{}` is declared twice", param.name),
                ));
            }
            declared.push(param);
        }
        // Values supplied earlier (a headless runner, or a re-run of this cell after
        // `%%values`) survive a re-declaration when they still validate.
        let previous = self.params.take().map(|p| p.supplied).unwrap_or_default();
        let mut params = Parameters {
            declared,
            supplied: Default::default(),
        };
        let mut keep: Vec<(String, Value)> = previous
            .into_iter()
            .filter(|(n, v)| params.get(n).is_some_and(|p| p.check(v).is_ok()))
            .collect();
        // Secrets can come from the environment, so they never have to be written into a cell.
        for p in params.declared.iter().filter(|p| p.secret) {
            if !keep.iter().any(|(n, _)| *n == p.name)
                && let Ok(text) = std::env::var(p.secret_env())
            {
                keep.push((p.name.clone(), Value::String(text)));
            }
        }
        params
            .supply(keep)
            .map_err(|e| failure("ParameterError", e.to_string()))?;
        self.bind_parameters(&params);
        self.params = Some(params);
        Ok(())
    }

    fn supply_values(&mut self, entries: &[Entry]) -> Result<(), CellFailure> {
        let err = |e: ParamError| failure("ParameterError", e.to_string());
        let params = self
            .params
            .as_mut()
            .ok_or_else(|| err(ParamError::NoDeclarations))?;
        let mut values = Vec::new();
        for entry in entries {
            if let Some(p) = params.get(&entry.name).filter(|p| p.secret) {
                return Err(failure(
                    "ParameterError",
                    format!(
                        "`{}` is a secret parameter, but its value was written into the notebook (papermill -p saves every value in the output notebook, in this cell and in its metadata). Nothing was set. Pass secrets through the kernel's environment instead: {}=…",
                        p.name,
                        p.secret_env()
                    ),
                ));
            }
            values.push((
                entry.name.clone(),
                params::parse_value(&entry.name, &entry.text).map_err(err)?,
            ));
        }
        params.supply(values).map_err(err)?;
        let params = params.clone();
        self.bind_parameters(&params);
        Ok(())
    }

    fn bind_parameters(&mut self, params: &Parameters) {
        let masked: serde_json::Map<String, Value> = params
            .values()
            .into_iter()
            .filter_map(|(p, v)| {
                let shown = if p.secret {
                    Value::String(MASK.into())
                } else {
                    v?.clone()
                };
                v.map(|_| (p.name.clone(), shown))
            })
            .collect();
        self.executor
            .update_run(|run| run.parameters = Value::Object(masked));
        for (param, value) in params.values() {
            match value {
                Some(Value::String(s)) if param.secret => {
                    self.scope.set_or_push(param.name.clone(), Secret::new(s));
                }
                Some(v) => {
                    self.scope
                        .set_or_push(param.name.clone(), values::to_dynamic(v, &[]));
                }
                None => {
                    let _ = self.scope.remove::<Dynamic>(&param.name);
                }
            }
        }
    }

    /// Supplies parameter values from outside before the notebook runs (headless runs).
    pub fn supply_parameters(&mut self, values: Vec<(String, Value)>) -> Result<(), ParamError> {
        let params = self.params.get_or_insert_with(Parameters::default);
        params.supplied.extend(values);
        Ok(())
    }

    /// What the last cell did (action, skipped, continued errors, changes).
    pub fn last_report(&self) -> &CellReport {
        &self.report
    }

    pub fn executor(&self) -> &Arc<Executor> {
        &self.executor
    }

    /// The declared parameters, once the parameters cell has run.
    pub fn parameters(&self) -> Option<&Parameters> {
        self.params.as_ref()
    }
}

impl Interpreter for RhaiInterpreter {
    fn kernel_info(&self) -> Value {
        json!({
            "language_info": {
                "name": "rhai",
                "version": "1.27",
                "mimetype": "text/x-rhai",
                "file_extension": ".rhai",
                "pygments_lexer": "rust",
                "codemirror_mode": "rust",
            },
            "banner": format!("runbook {} — Rhai cells, %%action cells and %%parameters for operational runbooks", env!("CARGO_PKG_VERSION")),
            "help_links": [{ "text": "Rhai book", "url": "https://rhai.rs/book/" }],
        })
    }

    fn execute(&mut self, code: &str, out: Arc<dyn Output>) -> Outcome {
        self.report = CellReport::default();
        self.set_output(Some(out));
        let result = self.run_cell(code);
        self.set_output(None);
        match result {
            Ok(value) => Outcome::Ok {
                result: value.map(|v| values::bundle(&v)),
            },
            Err(f) => Outcome::Error(f),
        }
    }

    fn complete(&mut self, code: &str, cursor_pos: usize) -> Completion {
        complete::complete(
            &complete::Context {
                scope: &self.scope,
                executor: &self.executor,
            },
            code,
            cursor_pos,
        )
    }

    fn inspect(&mut self, code: &str, cursor_pos: usize, _detail_level: u8) -> Option<MimeBundle> {
        complete::inspect(
            &complete::Context {
                scope: &self.scope,
                executor: &self.executor,
            },
            code,
            cursor_pos,
        )
    }

    fn is_complete(&mut self, code: &str) -> Completeness {
        complete::is_complete(&self.engine, &self.executor, code)
    }

    fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.shared.interrupt.clone()
    }
}

#[cfg(test)]
mod tests;
