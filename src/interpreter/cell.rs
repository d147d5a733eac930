//! What kind of cell a source is, and the `name: expression` body shared by action,
//! parameters and values cells.
//!
//! ```text
//! %%action aws.iam.create_user -> new_user     an action cell: action, output variable
//! user_name: user_name                          one input per line, a Rhai expression
//! tags: #{ team: "sre" }                        (continuation lines extend the previous one)
//!
//! %%parameters                                  the parameters cell (tag it `parameters`)
//! user_name: #{ type: "string", description: "..." }
//!
//! %%values                                      values for declared parameters: JSON only
//! user_name: "alice"                            (what papermill injects)
//! ```

/// One `name: text` entry and the 1-based line where its text starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub name: String,
    pub text: String,
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Rhai,
    Action {
        action: String,
        output: Option<String>,
        entries: Vec<Entry>,
    },
    Parameters {
        entries: Vec<Entry>,
    },
    Values {
        entries: Vec<Entry>,
    },
    /// `%%plan [on|off|show|clear]`: plan mode (dry run) in the kernel.
    Plan {
        arg: String,
    },
    /// `?name` or `name?` alone in a cell: help on an action, function or variable, paged.
    Help {
        name: String,
    },
}

pub const MAGICS: &[&str] = &["%%action", "%%parameters", "%%values", "%%plan"];

/// Classifies a cell; `Err` is a message about a malformed header or body.
pub fn parse(code: &str) -> Result<Cell, String> {
    let trimmed = code.trim_start();
    if let Some(name) = help_request(trimmed.trim_end()) {
        return Ok(Cell::Help { name: name.into() });
    }
    if !trimmed.starts_with("%%") {
        return Ok(Cell::Rhai);
    }
    let skipped = code.len() - trimmed.len();
    let first_line = code[..skipped].matches('\n').count() + 1;
    let (header, body) = trimmed.split_once('\n').unwrap_or((trimmed, ""));
    let mut words = header.split_whitespace();
    let magic = words.next().unwrap_or_default();
    let rest: Vec<&str> = words.collect();
    if !MAGICS.contains(&magic) {
        return Err(format!(
            "unknown cell magic `{magic}`; this kernel knows {}",
            MAGICS.join(", ")
        ));
    }
    let entries = entries(body, first_line + 1)?;
    match magic {
        "%%action" => {
            let (action, output) = match rest.as_slice() {
                [action] => (action.to_string(), None),
                [action, "->", output] => (action.to_string(), Some(output.to_string())),
                [action, arrow_output] if arrow_output.starts_with("->") => {
                    (action.to_string(), Some(arrow_output[2..].to_string()))
                }
                _ => {
                    return Err(format!(
                        "expected `%%action ACTION_NAME [-> variable]`, found `{header}`"
                    ));
                }
            };
            if let Some(out) = &output
                && !is_identifier(out)
            {
                return Err(format!(
                    "`{out}` is not a valid variable name for the action's output"
                ));
            }
            Ok(Cell::Action {
                action,
                output,
                entries,
            })
        }
        "%%plan" => match rest.as_slice() {
            [] => Ok(Cell::Plan { arg: "show".into() }),
            [arg @ ("on" | "off" | "show" | "clear")] => Ok(Cell::Plan { arg: arg.to_string() }),
            _ => Err(format!(
                "expected `%%plan on`, `%%plan off`, `%%plan show` or `%%plan clear`, found `{header}`"
            )),
        },
        "%%parameters" if rest.is_empty() => Ok(Cell::Parameters { entries }),
        "%%values" if rest.is_empty() => Ok(Cell::Values { entries }),
        "%%parameters" | "%%values" => Err(format!(
            "`{magic}` takes nothing after it on its line; put one `name: ...` per line below"
        )),
        other => Err(format!(
            "unknown cell magic `{other}`; this kernel knows {}",
            MAGICS.join(", ")
        )),
    }
}

/// `?name` / `name?`, where name is an action (`aws.iam.create_user`), a Rhai
/// function (`iam::create_user`, `print`) or a variable. Neither form is valid Rhai.
fn help_request(code: &str) -> Option<&str> {
    let name = code.strip_prefix('?').or_else(|| code.strip_suffix('?'))?.trim();
    let ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':'));
    ok.then_some(name)
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// Splits `name: text` lines. Blank lines and `//` comments are skipped; a line that
/// does not start a new entry continues the previous one.
fn entries(body: &str, first_line: usize) -> Result<Vec<Entry>, String> {
    let mut out: Vec<Entry> = Vec::new();
    for (i, line) in body.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        let is_name = |n: &str| is_identifier(n.strip_prefix('@').unwrap_or(n));
        let bare_option = t.starts_with('@') && is_identifier(&t[1..]);
        if bare_option && !line.starts_with(char::is_whitespace) {
            out.push(Entry {
                name: t.to_string(),
                text: "true".to_string(),
                line: first_line + i,
            });
            continue;
        }
        let starts_entry = !line.starts_with(char::is_whitespace)
            && t.split_once(':')
                .is_some_and(|(name, rest)| is_name(name.trim()) && !rest.starts_with(':'));
        if starts_entry {
            let (name, text) = t.split_once(':').unwrap_or_default();
            out.push(Entry {
                name: name.trim().to_string(),
                text: text.trim().to_string(),
                line: first_line + i,
            });
        } else if let Some(last) = out.last_mut() {
            last.text.push('\n');
            last.text.push_str(line);
        } else {
            return Err(format!(
                "line {}: expected `name: value`, found `{t}`",
                first_line + i
            ));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_cell_with_output_and_inputs() {
        let cell = parse("%%action aws.iam.create_user -> new_user\nuser_name: user_name\n// note\ntags: #{\n  team: \"sre\"\n}\n").unwrap();
        let Cell::Action {
            action,
            output,
            entries,
        } = cell
        else {
            panic!()
        };
        assert_eq!(action, "aws.iam.create_user");
        assert_eq!(output.as_deref(), Some("new_user"));
        assert_eq!(
            entries[0],
            Entry {
                name: "user_name".into(),
                text: "user_name".into(),
                line: 2
            }
        );
        assert_eq!(entries[1].name, "tags");
        assert_eq!(entries[1].line, 4);
        assert!(entries[1].text.contains("team: \"sre\""));
    }

    #[test]
    fn help_requests_are_a_lone_name_with_a_question_mark() {
        let help = |name: &str| Ok(Cell::Help { name: name.into() });
        assert_eq!(parse("?aws.iam.create_user"), help("aws.iam.create_user"));
        assert_eq!(parse("  iam::create_user?\n"), help("iam::create_user"));
        assert_eq!(parse("? new_user"), help("new_user"));
        assert_eq!(parse("x ?? 1"), Ok(Cell::Rhai));
        assert_eq!(parse("a?.b"), Ok(Cell::Rhai));
        assert_eq!(parse("?"), Ok(Cell::Rhai));
        assert_eq!(parse("print(\"?\")"), Ok(Cell::Rhai));
    }

    #[test]
    fn module_paths_do_not_start_entries() {
        let Cell::Action { entries, .. } = parse("%%action a.b\nx: iam::get(1)\n").unwrap() else {
            panic!()
        };
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].text, "iam::get(1)");
    }

    #[test]
    fn options_start_with_at_and_may_stand_alone() {
        let Cell::Action { entries, .. } =
            parse("%%action a.b -> r\n@for_each: users\n@continue_on_error\nx: item\n").unwrap()
        else {
            panic!()
        };
        let names: Vec<_> = entries
            .iter()
            .map(|e| (e.name.as_str(), e.text.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("@for_each", "users"),
                ("@continue_on_error", "true"),
                ("x", "item")
            ]
        );
    }

    #[test]
    fn plan_magic_takes_one_argument() {
        assert_eq!(parse("%%plan on").unwrap(), Cell::Plan { arg: "on".into() });
        assert_eq!(parse("%%plan").unwrap(), Cell::Plan { arg: "show".into() });
        assert!(parse("%%plan maybe").is_err());
    }

    #[test]
    fn plain_code_is_rhai_and_unknown_magics_are_errors() {
        assert_eq!(parse("let x = 1;").unwrap(), Cell::Rhai);
        let err = parse("%%bash\nls").unwrap_err();
        assert!(err.contains("unknown cell magic `%%bash`"), "{err}");
    }

    #[test]
    fn values_cell_keeps_json_text_verbatim() {
        let Cell::Values { entries } = parse("%%values\nuser_name: \"\\\"; throw 1; \\\"\"\n").unwrap()
        else {
            panic!()
        };
        assert_eq!(entries[0].text, r#""\"; throw 1; \"""#);
    }
}
