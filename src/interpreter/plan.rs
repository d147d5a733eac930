//! Plan mode in the kernel (`%%plan on|off|show|clear`) and how a plan is shown:
//! an aligned text table, an HTML table and JSON.

use rhai::Dynamic;
use serde_json::{Value, json};

use super::values::escape;
use super::{CellFailure, MimeBundle, RhaiInterpreter};
use crate::actions::{Mode, PlanEntry};

impl RhaiInterpreter {
    pub(super) fn plan_magic(&mut self, arg: &str) -> Result<Option<Dynamic>, CellFailure> {
        let ex = self.executor.clone();
        let note = |text: &str| {
            if let Some(out) = self.shared.output() {
                out.stream(super::StreamName::Stdout, &format!("{text}\n"));
            }
        };
        let locked = |e: crate::actions::ActionError| super::failure("PlanError", e.to_string());
        match arg {
            "on" if ex.plan_locked() => note("Plan mode is on (this is a dry run)."),
            "on" => {
                ex.clear_plan().map_err(locked)?;
                ex.set_mode(Mode::Plan).map_err(locked)?;
                note(
                    "Plan mode is on: read-only actions run; mutating actions are checked and planned, not called. `%%plan` shows the plan, `%%plan off` ends plan mode.",
                );
            }
            "off" => {
                ex.set_mode(Mode::Apply).map_err(locked)?;
                note("Plan mode is off: actions are called for real.");
            }
            "clear" => {
                ex.clear_plan().map_err(locked)?;
                note("The plan is cleared.");
            }
            _ => {
                if let Some(out) = self.shared.output() {
                    out.display(bundle(&ex.plan()));
                }
            }
        }
        Ok(None)
    }
}

fn inputs_text(inputs: &Value) -> String {
    match inputs.as_object() {
        Some(m) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().map_or_else(|| v.to_string(), str::to_string)))
            .collect::<Vec<_>>()
            .join(", "),
        None => inputs.to_string(),
    }
}

/// The plan as an aligned text table.
pub fn text_table(plan: &[PlanEntry]) -> String {
    if plan.is_empty() {
        return "The plan is empty: no mutating action has been planned.".into();
    }
    let rows: Vec<[String; 4]> = plan
        .iter()
        .enumerate()
        .map(|(i, e)| {
            [
                (i + 1).to_string(),
                e.action.clone(),
                e.change.clone(),
                inputs_text(&e.inputs),
            ]
        })
        .collect();
    let head = ["#", "action", "change", "inputs"];
    let width = |c: usize| {
        rows.iter()
            .map(|r| r[c].chars().count())
            .chain([head[c].len()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2)];
    let line = |cells: [&str; 4]| {
        format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            cells[0],
            cells[1],
            cells[2],
            cells[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        )
        .trim_end()
        .to_string()
    };
    let mut out = vec![line(head)];
    for r in &rows {
        out.push(line([&r[0], &r[1], &r[2], &r[3]]));
        if let Some(e) = plan.get(r[0].parse::<usize>().unwrap_or(1) - 1) {
            for check in &e.checks {
                out.push(format!("{:w$}  ↳ {check}", "", w = widths[0]));
            }
            if let Some(reason) = &e.would_fail {
                out.push(format!("{:w$}  ↳ WOULD FAIL: {reason}", "", w = widths[0]));
            }
        }
    }
    if let Some(footer) = failing_footer(plan) {
        out.push(footer);
    }
    out.join("\n")
}

/// "N of M planned steps would fail: …", or nothing when the plan predicts no failure.
pub fn failing_footer(plan: &[PlanEntry]) -> Option<String> {
    let failing: Vec<String> = plan
        .iter()
        .enumerate()
        .filter(|(_, e)| e.would_fail.is_some())
        .map(|(i, e)| format!("#{} {}", i + 1, e.action))
        .collect();
    (!failing.is_empty()).then(|| {
        format!(
            "{} of {} planned steps would fail: {}",
            failing.len(),
            plan.len(),
            failing.join(", ")
        )
    })
}

pub fn html_table(plan: &[PlanEntry]) -> String {
    let mut html = String::from(
        "<table>\n<thead><tr><th>#</th><th>action</th><th>change</th><th>inputs</th><th>checks</th></tr></thead>\n<tbody>\n",
    );
    for (i, e) in plan.iter().enumerate() {
        let change = match &e.would_fail {
            Some(reason) => format!(
                "{}<br><strong>would fail:</strong> {}",
                escape(&e.change),
                escape(reason)
            ),
            None => escape(&e.change),
        };
        html.push_str(&format!(
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
            i + 1,
            escape(&e.action),
            change,
            escape(&inputs_text(&e.inputs)),
            e.checks
                .iter()
                .map(|c| escape(c))
                .collect::<Vec<_>>()
                .join("<br>")
        ));
    }
    html.push_str("</tbody>\n</table>");
    if let Some(footer) = failing_footer(plan) {
        html.push_str(&format!("\n<p><strong>{}</strong></p>", escape(&footer)));
    }
    html
}

pub fn bundle(plan: &[PlanEntry]) -> MimeBundle {
    let mut data = MimeBundle::new();
    data.insert("text/plain".into(), text_table(plan).into());
    data.insert("text/html".into(), html_table(plan).into());
    data.insert("application/json".into(), json!(plan));
    data
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_table_aligns_columns_and_lists_checks() {
        let plan = vec![
            PlanEntry {
                action: "aws.iam.create_user".into(),
                inputs: json!({"user_name": "alice"}),
                change: "create user alice".into(),
                changed: true,
                checks: vec!["GetUser alice: does not exist".into()],
                would_fail: None,
            },
            PlanEntry {
                action: "slack.post_message".into(),
                inputs: json!({"channel": "#ops", "text": "hi"}),
                change: "post to #ops: hi".into(),
                changed: true,
                checks: vec![],
                would_fail: Some("SLACK_BOT_TOKEN is not set".into()),
            },
        ];
        let text = text_table(&plan);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "#  action               change             inputs");
        assert_eq!(
            lines[1],
            "1  aws.iam.create_user  create user alice  user_name=alice"
        );
        assert_eq!(lines[2], "   ↳ GetUser alice: does not exist");
        assert_eq!(
            lines[3],
            "2  slack.post_message   post to #ops: hi   channel=#ops, text=hi"
        );
        assert_eq!(lines[4], "   ↳ WOULD FAIL: SLACK_BOT_TOKEN is not set");
        assert_eq!(lines[5], "1 of 2 planned steps would fail: #2 slack.post_message");
    }
}
