//! Headless runs (`runbook run`): a notebook top to bottom in-process, through the same
//! interpreter the kernel uses, with no Jupyter and no sockets. Writes an output
//! notebook with papermill-style records so tools that read papermill output read ours.
//!
//! Exit codes: 0 success, 1 a cell failed, 2 usage or parameter error, 130 interrupted.

mod params;
mod report;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::{Map, Value, json};
use sha2::Digest;

pub use report::{CellSummary, Summary};

use crate::actions::Executor;
use crate::audit::{self, RunInfo};
use crate::interpreter::{
    Interpreter, Limits, MASK, MimeBundle, Outcome, Output, RhaiInterpreter, StreamName,
};
use crate::notebook::{self, Notebook};

pub const EXIT_OK: i32 = 0;
pub const EXIT_CELL_FAILED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
/// A dry run whose plan predicts that a step would fail (nothing was changed).
pub const EXIT_PLAN_FAILS: i32 = 3;
pub const EXIT_INTERRUPTED: i32 = 130;

/// What `runbook run` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub notebook: PathBuf,
    pub params: Vec<String>,
    pub params_file: Option<PathBuf>,
    pub output: Option<PathBuf>,
    pub dry_run: bool,
    pub json: bool,
    pub audit_db: Option<PathBuf>,
}

/// A problem found before any cell ran (exit code 2), or an output that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Notebook(#[from] notebook::NotebookError),
    #[error("cannot start the action runtime: {0}")]
    Runtime(std::io::Error),
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    #[error("interrupted while reading the parameters; nothing was run")]
    Interrupted,
}

impl RunError {
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Usage(_)
            | RunError::Notebook(
                notebook::NotebookError::Read { .. } | notebook::NotebookError::Format { .. },
            ) => EXIT_USAGE,
            RunError::Interrupted => EXIT_INTERRUPTED,
            _ => EXIT_CELL_FAILED,
        }
    }
}

/// Collects one cell's outputs in nbformat shape; consecutive stream text is merged.
#[derive(Default)]
struct CellOutputs {
    outputs: Mutex<Vec<Value>>,
}

impl CellOutputs {
    fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.outputs.lock().unwrap_or_else(|p| p.into_inner()))
    }
    fn push(&self, v: Value) {
        self.outputs.lock().unwrap_or_else(|p| p.into_inner()).push(v);
    }
}

impl Output for CellOutputs {
    fn stream(&self, name: StreamName, text: &str) {
        let mut outputs = self.outputs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(last) = outputs.last_mut()
            && last["output_type"] == "stream"
            && last["name"] == name.as_str()
        {
            let joined = format!("{}{text}", last["text"].as_str().unwrap_or_default());
            last["text"] = Value::String(joined);
            return;
        }
        outputs.push(notebook::stream_output(name.as_str(), text));
    }
    fn display(&self, data: MimeBundle) {
        self.push(notebook::display_output(Value::Object(data)));
    }
    fn clear_output(&self, _wait: bool) {
        self.outputs.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
    fn input(&self, _prompt: &str, _password: bool) -> Result<String, String> {
        Err("`runbook run` has no terminal input; pass the value as a parameter (-p NAME=VALUE)".into())
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Where the parameters cell is: tagged `parameters`, else the first `%%parameters` cell.
fn parameters_cell(nb: &Notebook) -> Option<usize> {
    let cells = nb.cells();
    cells
        .iter()
        .position(|c| notebook::is_code(c) && notebook::tags(c).iter().any(|t| t == "parameters"))
        .or_else(|| {
            cells.iter().position(|c| {
                notebook::is_code(c) && notebook::source(c).trim_start().starts_with("%%parameters")
            })
        })
}

/// Where the declarations are: the parameters cell when it is a `%%parameters` cell,
/// else the first `%%parameters` cell. Only such a cell is evaluated ahead of the run:
/// any other code there would act before anything else, and twice.
fn declarations_cell(nb: &Notebook, params_at: Option<usize>) -> Option<usize> {
    let is_decl =
        |c: &Value| notebook::is_code(c) && notebook::source(c).trim_start().starts_with("%%parameters");
    let cells = nb.cells();
    params_at
        .filter(|&i| cells.get(i).is_some_and(is_decl))
        .or_else(|| cells.iter().position(is_decl))
}

/// The output notebook's path: `-o`, else next to the input (`NAME.out.ipynb`, or
/// `NAME.plan.ipynb` for a dry run).
pub fn output_path(opts: &Options) -> PathBuf {
    if let Some(o) = &opts.output {
        return o.clone();
    }
    let stem = opts
        .notebook
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "notebook".into());
    let suffix = if opts.dry_run { "plan" } else { "out" };
    opts.notebook.with_file_name(format!("{stem}.{suffix}.ipynb"))
}

/// Finds out before anything runs whether the output notebook can be written, so a
/// bad `-o` does not surface only after every change was made.
fn check_writable(output: &std::path::Path) -> Result<(), String> {
    if output.is_dir() {
        return Err(format!(
            "cannot write the output notebook {}: it is a directory; pick a file path with -o. Nothing was run",
            output.display()
        ));
    }
    if output.exists() {
        // Opened for appending, not truncated: only asks whether it may be written.
        return std::fs::OpenOptions::new()
            .append(true)
            .open(output)
            .map(|_| ())
            .map_err(|e| {
                format!(
                    "cannot write the output notebook {}: {e}; pick another path with -o. Nothing was run",
                    output.display()
                )
            });
    }
    let dir = match output.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let probe = dir.join(format!(".runbook-write-check-{}", uuid::Uuid::new_v4().simple()));
    std::fs::File::create(&probe)
        .and_then(|_| std::fs::remove_file(&probe))
        .map_err(|e| {
            format!(
                "cannot write the output notebook {}: {e} (directory {}); pick another path with -o. Nothing was run",
                output.display(),
                dir.display()
            )
        })
}

/// Runs the notebook. `interrupted` is set by the caller's Ctrl-C handler.
pub fn run(opts: &Options, interrupted: Arc<AtomicBool>) -> Result<Summary, RunError> {
    let began = Instant::now();
    let nb = Notebook::read(&opts.notebook)?;
    let raw = params::collect(&opts.params, opts.params_file.as_deref()).map_err(RunError::Usage)?;
    let params_at = parameters_cell(&nb);

    // Declarations come from evaluating the parameters cell on its own, so bad values
    // are reported before any cell with side effects runs.
    let scratch = Arc::new(Executor::new().map_err(RunError::Runtime)?);
    let declared = match declarations_cell(&nb, params_at) {
        Some(i) => {
            let mut probe = RhaiInterpreter::new(scratch, &Limits::default());
            let watcher = watch_interrupt(interrupted.clone(), probe.interrupt_flag());
            // A %%parameters cell refuses calls itself (see declare_parameters).
            let outcome = probe.execute(
                &notebook::source(&nb.cells()[i]),
                Arc::new(CellOutputs::default()),
            );
            watcher.store(true, Ordering::SeqCst);
            if interrupted.load(Ordering::SeqCst) {
                return Err(RunError::Interrupted);
            }
            match outcome {
                Outcome::Error(f) => {
                    return Err(RunError::Usage(format!(
                        "the parameters cell (cell {}) fails: {}: {}",
                        i + 1,
                        f.ename,
                        f.evalue
                    )));
                }
                Outcome::Ok { .. } => probe.parameters().cloned().unwrap_or_default(),
            }
        }
        None => Default::default(),
    };
    let values = params::resolve(&declared, raw).map_err(RunError::Usage)?;
    check_writable(&output_path(opts)).map_err(RunError::Usage)?;
    let secret = |name: &str| declared.get(name).is_some_and(|p| p.secret);
    let masked_values: Map<String, Value> = values
        .iter()
        .map(|(n, v)| {
            (
                n.clone(),
                if secret(n) {
                    Value::String(MASK.into())
                } else {
                    v.clone()
                },
            )
        })
        .collect();

    let text = std::fs::read(&opts.notebook).unwrap_or_default();
    let hash = hex::encode(sha2::Sha256::digest(&text));
    let audit_path = match &opts.audit_db {
        Some(p) => p.clone(),
        None => audit::Log::default_path()?,
    };
    let run_info = RunInfo::new(Some(opts.notebook.display().to_string()), Some(hash));
    let run_id = run_info.run_id.clone();
    let executor = Arc::new(
        Executor::new()
            .map_err(RunError::Runtime)?
            .with_observer(Arc::new(audit::Log::new(audit_path)))
            .with_observer(Arc::new(report::Progress { started: began }))
            .with_run(run_info),
    );
    if opts.dry_run {
        executor.lock_plan();
    }
    let mut interp = RhaiInterpreter::new(executor.clone(), &Limits::default());
    // Secrets go in through the API; the injected cell (saved in the output) shows them masked.
    let _ = interp.supply_parameters(values.iter().filter(|(n, _)| secret(n)).cloned().collect());
    let flag = interp.interrupt_flag();

    let mut out_nb = nb.clone();
    inject_values(&mut out_nb, params_at, &values, &secret);
    let total = out_nb.cells().iter().filter(|c| notebook::is_code(c)).count();
    let mut summaries = Vec::new();
    let mut count = 0;
    let mut exit_code = EXIT_OK;
    let mut code_index = 0;
    let cells_len = out_nb.cells().len();
    for index in 0..cells_len {
        let cell = out_nb.cells()[index].clone();
        if !notebook::is_code(&cell) {
            continue;
        }
        code_index += 1;
        let source = notebook::source(&cell);
        let first_line = source
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .to_string();
        if exit_code != EXIT_OK {
            mark_cell(&mut out_nb, index, None, vec![], json!({"status": "pending"}));
            summaries.push(CellSummary {
                cell: index + 1,
                execution_count: None,
                action: kind(&first_line),
                status: "not run".into(),
                changed: None,
                duration_s: 0.0,
                error: None,
            });
            continue;
        }
        count += 1;
        eprintln!(
            "[{code_index}/{total}] cell {} {}",
            index + 1,
            shorten(&first_line)
        );
        let started = now();
        let t0 = Instant::now();
        let outputs = Arc::new(CellOutputs::default());
        flag.store(false, Ordering::SeqCst);
        let watcher = watch_interrupt(interrupted.clone(), flag.clone());
        let outcome = interp.execute(&source, outputs.clone());
        watcher.store(true, Ordering::SeqCst);
        let mut cell_outputs = outputs.take();
        let report = interp.last_report().clone();
        let duration = t0.elapsed().as_secs_f64();
        let allowed = notebook::tags(&cell).iter().any(|t| t == "raises-exception");
        let (status, error) = match &outcome {
            Outcome::Ok { result } => {
                if let Some(data) = result {
                    cell_outputs.push(notebook::result_output(count, Value::Object(data.clone())));
                }
                let status = if report.skipped {
                    "skipped".to_string()
                } else if report.continued_errors > 0 {
                    format!("continued ({} errors)", report.continued_errors)
                } else if report.planned {
                    "planned".to_string()
                } else {
                    "ok".to_string()
                };
                (status, None)
            }
            Outcome::Error(f) => {
                cell_outputs.push(notebook::error_output(&f.ename, &f.evalue, &f.traceback));
                let interrupted_now = interrupted.load(Ordering::SeqCst) || f.ename == "Interrupted";
                let status = if interrupted_now {
                    exit_code = EXIT_INTERRUPTED;
                    "interrupted"
                } else if allowed {
                    "failed (allowed)"
                } else {
                    exit_code = EXIT_CELL_FAILED;
                    "failed"
                };
                eprintln!("error in cell {} (`{}`):", index + 1, shorten(&first_line));
                for line in &f.traceback {
                    eprintln!("    {line}");
                }
                (status.to_string(), Some(format!("{}: {}", f.ename, f.evalue)))
            }
        };
        let failed = error.is_some();
        mark_cell(
            &mut out_nb,
            index,
            Some(count),
            cell_outputs,
            json!({
                "start_time": started, "end_time": now(), "duration": duration,
                "status": if failed { "failed" } else { "completed" }, "exception": failed,
            }),
        );
        summaries.push(CellSummary {
            cell: index + 1,
            execution_count: Some(count),
            action: report.action.clone().unwrap_or_else(|| kind(&first_line)),
            status,
            changed: report.changed,
            duration_s: duration,
            error,
        });
    }

    let output = output_path(opts);
    let plan = executor.plan();
    if opts.dry_run && exit_code == EXIT_OK && plan.iter().any(|e| e.would_fail.is_some()) {
        exit_code = EXIT_PLAN_FAILS;
    }
    let duration = began.elapsed().as_secs_f64();
    let meta = out_nb.metadata_mut();
    meta.insert("papermill".into(), json!({
        "parameters": masked_values,
        "environment_variables": {},
        "version": concat!("runbook ", env!("CARGO_PKG_VERSION")),
        "input_path": opts.notebook.display().to_string(),
        "output_path": output.display().to_string(),
        "start_time": chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now() - began.elapsed()).to_rfc3339(),
        "end_time": now(),
        "duration": duration,
        "exception": exit_code != EXIT_OK,
    }));
    meta.insert(
        "runbook".into(),
        json!({ "run_id": run_id, "dry_run": opts.dry_run, "plan": plan }),
    );
    out_nb.write(&output)?;
    let status = match exit_code {
        EXIT_OK => "succeeded",
        EXIT_INTERRUPTED => "interrupted",
        EXIT_PLAN_FAILS => "would fail",
        _ => "failed",
    };
    Ok(Summary {
        notebook: opts.notebook.display().to_string(),
        output: Some(output.display().to_string()),
        run_id,
        dry_run: opts.dry_run,
        status: status.into(),
        exit_code,
        duration_s: duration,
        parameters: Value::Object(masked_values),
        cells: summaries,
        plan,
    })
}

pub use report::table;

/// Text for the terminal after a run: the summary table, then the plan for dry runs.
pub fn render(summary: &Summary) -> String {
    let mut s = format!("\n{}\n", report::table(&summary.cells));
    if summary.dry_run {
        s.push_str(&format!(
            "\nPlan (nothing was changed):\n{}\n",
            crate::interpreter::plan_text(&summary.plan)
        ));
    }
    s.push_str(&format!(
        "\nRun {} {} in {:.1}s; output notebook: {}\n",
        summary.run_id,
        summary.status,
        summary.duration_s,
        summary.output.as_deref().unwrap_or("-")
    ));
    s
}

fn kind(first_line: &str) -> String {
    let t = first_line.trim();
    match t.split_whitespace().next() {
        Some("%%parameters") => "parameters".into(),
        Some("%%values") => "values".into(),
        Some("%%plan") => "plan".into(),
        Some("%%action") => t.split_whitespace().nth(1).unwrap_or("action").into(),
        _ => "rhai".into(),
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 70 {
        s.chars().take(69).collect::<String>() + "…"
    } else {
        s.to_string()
    }
}

/// Sets the interpreter's interrupt flag when Ctrl-C is seen, until `done` is set.
fn watch_interrupt(interrupted: Arc<AtomicBool>, flag: Arc<AtomicBool>) -> Arc<AtomicBool> {
    let done = Arc::new(AtomicBool::new(false));
    let d = done.clone();
    std::thread::spawn(move || {
        while !d.load(Ordering::SeqCst) {
            if interrupted.load(Ordering::SeqCst) {
                flag.store(true, Ordering::SeqCst);
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    done
}

fn mark_cell(nb: &mut Notebook, index: usize, count: Option<i64>, outputs: Vec<Value>, papermill: Value) {
    if let Some(cell) = nb.cells_mut().get_mut(index) {
        cell["execution_count"] = count.map_or(Value::Null, Value::from);
        cell["outputs"] = Value::Array(outputs);
        if !cell["metadata"].is_object() {
            cell["metadata"] = json!({});
        }
        cell["metadata"]["papermill"] = papermill;
    }
}

/// Adds (or replaces) the injected `%%values` cell after the parameters cell, as
/// papermill does; secret values are supplied separately and shown masked here.
fn inject_values(
    nb: &mut Notebook,
    params_at: Option<usize>,
    values: &[(String, Value)],
    secret: &dyn Fn(&str) -> bool,
) {
    let cells = nb.cells_mut();
    cells.retain(|c| !notebook::tags(c).iter().any(|t| t == "injected-parameters"));
    if values.is_empty() {
        return;
    }
    let mut source = String::from("%%values\n// Parameters injected by runbook run\n");
    for (name, value) in values {
        if secret(name) {
            source.push_str(&format!("// {name}: {MASK} (secret, supplied separately)\n"));
        } else {
            source.push_str(&format!("{name}: {value}\n"));
        }
    }
    let cell = notebook::code_cell(
        &format!("injected-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
        source.trim_end(),
        &["injected-parameters"],
    );
    let at = params_at.map_or(0, |i| (i + 1).min(cells.len()));
    cells.insert(at, cell);
}

/// Installs a Ctrl-C handler for the run; returns the flag it sets.
pub fn interrupt_on_ctrl_c() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = flag.clone();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
            return;
        };
        rt.block_on(async {
            use tokio::signal::unix::{SignalKind, signal};
            // SIGTERM (a CI job cancelled, systemd stopping a unit) stops the run the same way.
            let (Ok(mut sigint), Ok(mut sigterm)) =
                (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
            else {
                return;
            };
            loop {
                let name = tokio::select! {
                    Some(()) = sigint.recv() => "interrupted",
                    Some(()) = sigterm.recv() => "terminated",
                    else => return,
                };
                eprintln!("\n{name}: stopping the current cell and writing the output notebook");
                f.store(true, Ordering::SeqCst);
            }
        });
    });
    flag
}
