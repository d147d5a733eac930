//! Reading and writing Jupyter notebooks (nbformat 4) for the headless runner.
//!
//! Cells are kept as JSON so fields this crate does not know survive a round trip.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

#[derive(Debug, thiserror::Error)]
pub enum NotebookError {
    #[error("cannot read notebook {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path} is not a notebook: {message}")]
    Format { path: PathBuf, message: String },
    #[error("cannot write notebook {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
}

#[derive(Debug, Clone)]
pub struct Notebook {
    pub json: Value,
}

impl Notebook {
    pub fn read(path: &Path) -> Result<Notebook, NotebookError> {
        let text = std::fs::read_to_string(path).map_err(|source| NotebookError::Read {
            path: path.into(),
            source,
        })?;
        let format = |message: String| NotebookError::Format {
            path: path.into(),
            message,
        };
        let json: Value = serde_json::from_str(&text).map_err(|e| format(e.to_string()))?;
        if json.get("nbformat").and_then(Value::as_i64) != Some(4) {
            return Err(format("only nbformat 4 notebooks are supported".into()));
        }
        if !json.get("cells").is_some_and(Value::is_array) {
            return Err(format("it has no cells".into()));
        }
        Ok(Notebook { json })
    }

    pub fn write(&self, path: &Path) -> Result<(), NotebookError> {
        let mut text = serde_json::to_string_pretty(&self.json).unwrap_or_default();
        text.push('\n');
        std::fs::write(path, text).map_err(|source| NotebookError::Write {
            path: path.into(),
            source,
        })
    }

    pub fn cells(&self) -> &[Value] {
        self.json["cells"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    pub fn cells_mut(&mut self) -> &mut Vec<Value> {
        if !self.json["cells"].is_array() {
            self.json["cells"] = json!([]);
        }
        match self.json["cells"].as_array_mut() {
            Some(cells) => cells,
            None => unreachable!("cells was just made an array"),
        }
    }

    pub fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        if !self.json["metadata"].is_object() {
            self.json["metadata"] = json!({});
        }
        match self.json["metadata"].as_object_mut() {
            Some(m) => m,
            None => unreachable!("metadata was just made an object"),
        }
    }
}

/// A cell's source as one string (nbformat allows a string or a list of lines).
pub fn source(cell: &Value) -> String {
    match &cell["source"] {
        Value::String(s) => s.clone(),
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

pub fn is_code(cell: &Value) -> bool {
    cell["cell_type"] == "code"
}

pub fn tags(cell: &Value) -> Vec<String> {
    cell["metadata"]["tags"]
        .as_array()
        .map(|t| t.iter().filter_map(Value::as_str).map(str::to_string).collect())
        .unwrap_or_default()
}

/// A new code cell (nbformat 4.5: with an id).
pub fn code_cell(id: &str, source: &str, tags: &[&str]) -> Value {
    json!({
        "cell_type": "code",
        "id": id,
        "metadata": { "tags": tags },
        "source": source,
        "execution_count": null,
        "outputs": [],
    })
}

pub fn stream_output(name: &str, text: &str) -> Value {
    json!({ "output_type": "stream", "name": name, "text": text })
}

pub fn display_output(data: Value) -> Value {
    json!({ "output_type": "display_data", "data": data, "metadata": {} })
}

pub fn result_output(count: i64, data: Value) -> Value {
    json!({ "output_type": "execute_result", "execution_count": count, "data": data, "metadata": {} })
}

pub fn error_output(ename: &str, evalue: &str, traceback: &[String]) -> Value {
    json!({ "output_type": "error", "ename": ename, "evalue": evalue, "traceback": traceback })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_accepts_string_or_lines() {
        assert_eq!(source(&json!({"source": ["a\n", "b"]})), "a\nb");
        assert_eq!(source(&json!({"source": "x"})), "x");
    }

    #[test]
    fn rejects_non_v4_notebooks() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("old.ipynb");
        std::fs::write(&p, r#"{"nbformat": 3, "worksheets": []}"#).unwrap();
        let err = Notebook::read(&p).unwrap_err().to_string();
        assert!(err.contains("only nbformat 4"), "{err}");
    }

    #[test]
    fn unknown_fields_survive_a_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n.ipynb");
        std::fs::write(
            &p,
            r#"{"nbformat": 4, "nbformat_minor": 5, "metadata": {"x": 1}, "cells": [], "extra": true}"#,
        )
        .unwrap();
        let nb = Notebook::read(&p).unwrap();
        nb.write(&p).unwrap();
        let back: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        assert_eq!(back["extra"], true);
        assert_eq!(back["metadata"]["x"], 1);
    }
}
