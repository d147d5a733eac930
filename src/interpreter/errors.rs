//! Cell failures as Jupyter shows them: a name, a one-line message with line and
//! column, and a traceback that quotes the offending source line.

use rhai::{EvalAltResult, Position};

use super::CellFailure;

pub fn failure(ename: &str, evalue: impl Into<String>) -> CellFailure {
    let evalue = evalue.into();
    CellFailure {
        ename: ename.to_string(),
        traceback: vec![format!("{ename}: {evalue}")],
        evalue,
    }
}

/// A failure located in `source`; `line_offset` shifts Rhai's 1-based line numbers
/// when `source` is a fragment of a larger cell (an action input's expression).
pub fn located(ename: &str, message: &str, pos: Position, cell: &str, line_offset: usize) -> CellFailure {
    let (Some(line), col) = (pos.line(), pos.position()) else {
        return failure(ename, message);
    };
    let line = line + line_offset;
    let evalue = match col {
        Some(col) => format!("{message} (line {line}, column {col})"),
        None => format!("{message} (line {line})"),
    };
    let mut traceback = vec![format!("{ename}: {evalue}")];
    if let Some(src) = cell.lines().nth(line - 1) {
        let gutter = line.to_string().len();
        traceback.push(format!("{:>gutter$} | {src}", line));
        if let Some(col) = col {
            traceback.push(format!(
                "{:>gutter$} | {}^",
                "",
                " ".repeat(col.saturating_sub(1))
            ));
        }
    }
    CellFailure {
        ename: ename.to_string(),
        evalue,
        traceback,
    }
}

/// A Rhai error from running or compiling `cell`.
pub fn from_rhai(err: &EvalAltResult, cell: &str, line_offset: usize) -> CellFailure {
    let inner = innermost(err);
    let (ename, message) = match inner {
        EvalAltResult::ErrorTerminated(..) => {
            return failure(
                "Interrupted",
                "the cell was interrupted; variables set before the interruption keep their values",
            );
        }
        EvalAltResult::ErrorParsing(kind, _) => ("ParseError", kind.to_string()),
        EvalAltResult::ErrorRuntime(value, _) => ("RuntimeError", value.to_string()),
        other => ("RhaiError", strip_position(&other.to_string())),
    };
    // The position of the outermost call site is in this cell; inner ones may be in a
    // function defined in an earlier cell.
    let pos = if err.position().is_none() {
        inner.position()
    } else {
        err.position()
    };
    let calls = function_chain(err);
    let message = if calls.is_empty() {
        message
    } else {
        format!("{message} (in function {})", calls.join(" → "))
    };
    located(ename, &message, pos, cell, line_offset)
}

fn innermost(err: &EvalAltResult) -> &EvalAltResult {
    match err {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) | EvalAltResult::ErrorInModule(_, inner, _) => {
            innermost(inner)
        }
        other => other,
    }
}

/// Names of the functions an error passed through, outermost first.
fn function_chain(err: &EvalAltResult) -> Vec<String> {
    match err {
        EvalAltResult::ErrorInFunctionCall(name, _, inner, _) => {
            let mut names = vec![format!("`{name}`")];
            names.extend(function_chain(inner));
            names
        }
        EvalAltResult::ErrorInModule(_, inner, _) => function_chain(inner),
        _ => Vec::new(),
    }
}

fn strip_position(s: &str) -> String {
    match s.rfind(" (line ") {
        Some(i) if s.ends_with(')') => s[..i].to_string(),
        _ => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_failure_quotes_the_line_and_points_at_the_column() {
        let f = located(
            "RuntimeError",
            "boom",
            Position::new(2, 5),
            "let a = 1;\nlet b = x;",
            0,
        );
        assert_eq!(f.evalue, "boom (line 2, column 5)");
        assert_eq!(f.traceback[1], "2 | let b = x;");
        assert_eq!(f.traceback[2], "  |     ^");
    }
}
