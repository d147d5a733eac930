//! Completion, inspection and is_complete. Positions are Unicode code points, as the
//! protocol requires. Action and input names come from the executor's registry.

use rhai::{Engine, Scope};
use serde_json::Value;

use super::cell::MAGICS;
use super::values::{self, Secrets};
use super::{Completeness, Completion, MimeBundle};
use crate::actions::Executor;

pub struct Context<'a> {
    pub scope: &'a Scope<'static>,
    pub executor: &'a Executor,
}

const KEYWORDS: &[&str] = &[
    "let", "const", "fn", "if", "else", "switch", "while", "loop", "for", "in", "do", "until", "break",
    "continue", "return", "throw", "try", "catch", "true", "false", "this", "import", "export", "as",
    "private", "global",
];

/// Functions this kernel adds to Rhai, with their docs.
const FUNCTIONS: &[(&str, &str)] = &[
    ("print", "print(value) — write to the cell's stdout"),
    ("debug", "debug(value) — write to the cell's stderr"),
    (
        "display",
        "display(value) — show a value as rich output (maps as JSON, arrays of maps as a table)",
    ),
    ("display_html", "display_html(html) — show HTML"),
    ("display_markdown", "display_markdown(text) — show Markdown"),
    ("clear_output", "clear_output() — clear this cell's output"),
    (
        "reveal",
        "reveal(secret) — the text of a secret value; what you do with it may be saved",
    ),
    (
        "secret",
        "secret(text) — wrap text as a secret value that prints masked",
    ),
    (
        "input",
        "input(prompt) — ask the user for a line of text (not in papermill runs)",
    ),
    (
        "input_secret",
        "input_secret(prompt) — ask the user for a secret (not in papermill runs)",
    ),
    ("type_of", "type_of(value) — the value's type name"),
    ("parse_int", "parse_int(text) — text to int"),
    ("parse_float", "parse_float(text) — text to float"),
    ("to_string", "to_string(value) — text form of a value"),
    ("len", "len(x) — length of a string, array or map"),
];

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == ':' || c == '.' || c == '%'
}

/// The word around `cursor` (code points): (start, end, text before the cursor).
fn word_at(chars: &[char], cursor: usize) -> (usize, usize) {
    let cursor = cursor.min(chars.len());
    let mut start = cursor;
    while start > 0 && is_word_char(chars[start - 1]) {
        start -= 1;
    }
    let mut end = cursor;
    while end < chars.len() && is_word_char(chars[end]) {
        end += 1;
    }
    (start, end)
}

/// The line (0-based) containing code point `pos`, and where that line starts.
fn line_of(chars: &[char], pos: usize) -> (usize, usize) {
    let before = &chars[..pos.min(chars.len())];
    let line = before.iter().filter(|&&c| c == '\n').count();
    let start = before.iter().rposition(|&c| c == '\n').map_or(0, |i| i + 1);
    (line, start)
}

fn action_header(code: &str) -> Option<String> {
    let first = code.trim_start().lines().next()?;
    let rest = first.strip_prefix("%%action")?;
    rest.split_whitespace().next().map(str::to_string)
}

pub fn complete(ctx: &Context, code: &str, cursor: usize) -> Completion {
    let chars: Vec<char> = code.chars().collect();
    let cursor = cursor.min(chars.len());
    let (start, _) = word_at(&chars, cursor);
    let prefix: String = chars[start..cursor].iter().collect();
    let (line, line_start) = line_of(&chars, cursor);
    let line_text: String = chars[line_start..cursor].iter().collect();
    let in_action_cell = code.trim_start().starts_with("%%action");

    let candidates: Vec<String> = if line == 0 && prefix.starts_with("%%") {
        MAGICS.iter().map(|m| m.to_string()).collect()
    } else if line == 0 && in_action_cell && line_text.trim_start().starts_with("%%action ") {
        ctx.executor.specs().map(|s| s.name.to_string()).collect()
    } else if in_action_cell
        && line_text.trim_start() == prefix
        && !line_text.starts_with(char::is_whitespace)
    {
        // At the start of an input line: the action's input names.
        match action_header(code).and_then(|a| ctx.executor.spec(&a)) {
            Some(spec) => spec.inputs.iter().map(|i| format!("{}: ", i.name)).collect(),
            None => Vec::new(),
        }
    } else {
        let mut all: Vec<String> = ctx
            .scope
            .iter_raw()
            .map(|(name, _, _)| name.to_string())
            .collect();
        all.extend(declared_in(code));
        all.extend(KEYWORDS.iter().map(|k| k.to_string()));
        all.extend(FUNCTIONS.iter().map(|(f, _)| f.to_string()));
        all.extend(ctx.executor.specs().map(|s| {
            let (m, f) = s.module_and_function();
            format!("{m}::{f}")
        }));
        all
    };
    let mut matches: Vec<String> = candidates
        .into_iter()
        .filter(|c| c.starts_with(&prefix))
        .collect();
    matches.sort();
    matches.dedup();
    Completion {
        matches,
        cursor_start: start,
        cursor_end: cursor,
    }
}

/// Names declared by `let`, `const` and `fn` in the code being edited, not yet run.
fn declared_in(code: &str) -> Vec<String> {
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    words
        .windows(2)
        .filter(|w| matches!(w[0], "let" | "const" | "fn"))
        .map(|w| w[1].to_string())
        .collect()
}

pub fn inspect(ctx: &Context, code: &str, cursor: usize) -> Option<MimeBundle> {
    let chars: Vec<char> = code.chars().collect();
    let (start, end) = word_at(&chars, cursor);
    let word: String = chars[start..end].iter().collect();
    let text = help_for(ctx, word.trim_end_matches(':').trim_end_matches('.'))?;
    let mut data = MimeBundle::new();
    data.insert("text/plain".into(), text.into());
    Some(data)
}

/// Help on a name: an action, an action's Rhai function, a variable or a built-in function.
pub fn help_for(ctx: &Context, word: &str) -> Option<String> {
    let text = if let Some(spec) = ctx.executor.spec(word) {
        spec.help()
    } else if let Some(spec) = ctx.executor.specs().find(|s| {
        let (m, f) = s.module_and_function();
        format!("{m}::{f}") == word
    }) {
        let (m, f) = spec.module_and_function();
        format!("{m}::{f}(#{{ inputs }}) — calls the action\n\n{}", spec.help())
    } else if let Some(value) = ctx.scope.get_value::<rhai::Dynamic>(word) {
        let json = values::to_json(&value, Secrets::Mask);
        let shown = match &json {
            Value::Array(_) | Value::Object(_) => serde_json::to_string_pretty(&json).unwrap_or_default(),
            Value::String(s) => format!("{s:?}"),
            other => other.to_string(),
        };
        format!("{word}: {}\n{shown}", values::type_name(&value))
    } else if let Some((_, doc)) = FUNCTIONS.iter().find(|(f, _)| *f == word) {
        doc.to_string()
    } else {
        return None;
    };
    Some(text)
}

pub fn is_complete(engine: &Engine, executor: &Executor, code: &str) -> Completeness {
    if matches!(super::cell::parse(code), Ok(super::cell::Cell::Help { .. })) {
        return Completeness::Complete;
    }
    // One-line magics that need no body run on Enter: `%%plan …`, and an action cell
    // whose action has no required inputs (`%%action aws.sts.get_caller_identity -> c`).
    if code.trim().lines().count() == 1 {
        let words: Vec<&str> = code.split_whitespace().collect();
        match words.as_slice() {
            ["%%plan", ..] => return Completeness::Complete,
            ["%%action", name, ..]
                if executor
                    .spec(name)
                    .is_some_and(|s| s.inputs.iter().all(|i| !i.required)) =>
            {
                return Completeness::Complete;
            }
            _ => {}
        }
    }
    if code.trim_start().starts_with("%%") {
        // A magic cell ends with an empty line, as IPython's cell magics do.
        return if code.ends_with("\n\n") || code.trim().lines().count() > 1 && code.ends_with('\n') {
            Completeness::Complete
        } else {
            Completeness::Incomplete {
                indent: String::new(),
            }
        };
    }
    if let Some(depth) = open_depth(code) {
        if depth > 0 {
            return Completeness::Incomplete {
                indent: "    ".repeat(depth.min(8)),
            };
        }
    } else {
        return Completeness::Incomplete {
            indent: String::new(),
        };
    }
    match engine.compile(code) {
        Ok(_) => Completeness::Complete,
        Err(e) if matches!(e.err_type(), rhai::ParseErrorType::UnexpectedEOF) => Completeness::Incomplete {
            indent: String::new(),
        },
        Err(_) => Completeness::Invalid,
    }
}

/// Bracket depth at the end of `code`; `None` inside an unterminated string or comment.
/// A negative depth (a stray closer) is reported as 0 and left to the parser.
fn open_depth(code: &str) -> Option<usize> {
    let mut depth: i64 = 0;
    let mut chars = code.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' | '\'' => {
                let quote = c;
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '\\' {
                        chars.next();
                    } else if d == quote {
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return None;
                }
            }
            '/' if chars.peek() == Some(&'/') => {
                for d in chars.by_ref() {
                    if d == '\n' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut closed = false;
                while let Some(d) = chars.next() {
                    if d == '*' && chars.peek() == Some(&'/') {
                        chars.next();
                        closed = true;
                        break;
                    }
                }
                if !closed {
                    return None;
                }
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
    }
    Some(depth.max(0) as usize)
}
