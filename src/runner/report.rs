//! What a headless run tells the person watching: progress on stderr while it runs,
//! and a summary (a table, or JSON with `--json`) at the end.

use std::io::Write;
use std::time::Instant;

use serde::Serialize;

use crate::audit::{AuditError, CallEnd, CallStart, Observer, Status};

/// Prints each action call as it starts and ends.
pub struct Progress {
    pub started: Instant,
}

impl Observer for Progress {
    fn started(&self, call: &CallStart) -> Result<(), AuditError> {
        let mode = if call.mode == "plan" && call.mutates {
            " (plan)"
        } else {
            ""
        };
        eprintln!(
            "        → {}{mode}  [{:.1}s]",
            call.action,
            self.started.elapsed().as_secs_f64()
        );
        Ok(())
    }

    fn finished(&self, call: &CallStart, end: &CallEnd) -> Result<(), AuditError> {
        let what = match (&end.status, &end.error_code) {
            (Status::Error, Some(code)) => format!("error {code}"),
            (status, _) => status.as_str().to_string(),
        };
        eprintln!(
            "        ← {} {what} in {:.2}s",
            call.action,
            end.duration_ms as f64 / 1000.0
        );
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

/// One code cell's line in the summary.
#[derive(Debug, Clone, Serialize)]
pub struct CellSummary {
    /// 1-based position among all cells of the notebook.
    pub cell: usize,
    pub execution_count: Option<i64>,
    /// The action of an action cell; `rhai`, `parameters`, `values` or `plan` otherwise.
    pub action: String,
    /// ok, skipped, failed, failed (allowed), continued (N errors), interrupted, not run.
    pub status: String,
    pub changed: Option<bool>,
    pub duration_s: f64,
    pub error: Option<String>,
}

/// The whole run, as `--json` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub notebook: String,
    pub output: Option<String>,
    pub run_id: String,
    pub dry_run: bool,
    pub status: String,
    pub exit_code: i32,
    pub duration_s: f64,
    pub parameters: serde_json::Value,
    pub cells: Vec<CellSummary>,
    pub plan: Vec<crate::actions::PlanEntry>,
}

/// The summary table for the terminal.
pub fn table(cells: &[CellSummary]) -> String {
    let rows: Vec<[String; 5]> = cells
        .iter()
        .map(|c| {
            [
                c.cell.to_string(),
                c.action.clone(),
                c.status.clone(),
                match c.changed {
                    Some(true) => "yes".into(),
                    Some(false) => "no".into(),
                    None => "-".into(),
                },
                format!("{:.2}s", c.duration_s),
            ]
        })
        .collect();
    let head = ["cell", "action", "status", "changed", "duration"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([head[i].len()])
            .max()
            .unwrap_or(0)
    };
    let w: Vec<usize> = (0..5).map(width).collect();
    let line = |r: [&str; 5]| {
        format!(
            "{:>w0$}  {:<w1$}  {:<w2$}  {:<w3$}  {:>w4$}",
            r[0],
            r[1],
            r[2],
            r[3],
            r[4],
            w0 = w[0],
            w1 = w[1],
            w2 = w[2],
            w3 = w[3],
            w4 = w[4]
        )
    };
    let mut out = vec![line(head)];
    out.extend(rows.iter().map(|r| line([&r[0], &r[1], &r[2], &r[3], &r[4]])));
    out.join("\n")
}
