//! The session's input history, for `history_request` (tail, range, search).

/// One stored cell: its execution count, source and plain-text result.
#[derive(Debug, Clone)]
struct Entry {
    line: i64,
    input: String,
    output: Option<String>,
}

/// History of this kernel session. Session number 1 is this session (ipykernel numbers
/// sessions from its database; we keep one session in memory).
#[derive(Debug, Default)]
pub struct History {
    entries: Vec<Entry>,
}

pub const SESSION: i64 = 1;

/// One row of a `history_reply`: `[session, line, input]` or `[session, line, [input, output]]`.
pub type Row = serde_json::Value;

impl History {
    pub fn record(&mut self, line: i64, input: &str, output: Option<String>) {
        self.entries.push(Entry {
            line,
            input: input.to_string(),
            output,
        });
    }

    fn row(e: &Entry, with_output: bool) -> Row {
        if with_output {
            serde_json::json!([SESSION, e.line, [e.input, e.output]])
        } else {
            serde_json::json!([SESSION, e.line, e.input])
        }
    }

    pub fn tail(&self, n: usize, with_output: bool) -> Vec<Row> {
        let skip = self.entries.len().saturating_sub(n);
        self.entries[skip..]
            .iter()
            .map(|e| Self::row(e, with_output))
            .collect()
    }

    /// Lines `start..stop` of `session` (0 or negative offsets mean this session).
    pub fn range(&self, session: i64, start: i64, stop: Option<i64>, with_output: bool) -> Vec<Row> {
        if session > SESSION {
            return Vec::new();
        }
        self.entries
            .iter()
            .filter(|e| e.line >= start && stop.is_none_or(|s| e.line < s))
            .map(|e| Self::row(e, with_output))
            .collect()
    }

    /// Entries whose input matches the glob `pattern` (`*` and `?`), newest last;
    /// with `unique`, only the latest of identical inputs; with `n`, the last `n`.
    pub fn search(&self, pattern: &str, n: Option<usize>, unique: bool, with_output: bool) -> Vec<Row> {
        let mut hits: Vec<&Entry> = self
            .entries
            .iter()
            .filter(|e| glob_match(pattern, &e.input))
            .collect();
        if unique {
            let mut seen = std::collections::HashSet::new();
            let mut kept: Vec<&Entry> = hits
                .into_iter()
                .rev()
                .filter(|e| seen.insert(e.input.clone()))
                .collect();
            kept.reverse();
            hits = kept;
        }
        if let Some(n) = n {
            let skip = hits.len().saturating_sub(n);
            hits.drain(..skip);
        }
        hits.into_iter().map(|e| Self::row(e, with_output)).collect()
    }
}

fn glob_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> History {
        let mut h = History::default();
        h.record(1, "let a = 1", None);
        h.record(2, "a + 1", Some("2".into()));
        h.record(3, "a + 1", Some("2".into()));
        h.record(4, "print(a)", None);
        h
    }

    #[test]
    fn tail_returns_last_n_inputs_in_order() {
        let rows = sample().tail(2, false);
        assert_eq!(
            rows,
            vec![
                serde_json::json!([1, 3, "a + 1"]),
                serde_json::json!([1, 4, "print(a)"])
            ]
        );
    }

    #[test]
    fn tail_with_output_pairs_input_and_output() {
        assert_eq!(
            sample().tail(1, true)[0],
            serde_json::json!([1, 4, ["print(a)", null]])
        );
    }

    #[test]
    fn range_is_half_open() {
        let rows = sample().range(1, 2, Some(3), false);
        assert_eq!(rows, vec![serde_json::json!([1, 2, "a + 1"])]);
    }

    #[test]
    fn search_unique_keeps_one_per_input_and_n_limits() {
        let h = sample();
        assert_eq!(h.search("a*", None, false, false).len(), 2);
        assert_eq!(h.search("a*", None, true, false).len(), 1);
        assert_eq!(h.search("*", Some(2), false, false).len(), 2);
        assert_eq!(h.search("pr?nt(*)", None, false, false).len(), 1);
    }
}
