//! Shell and control request contents, decoded leniently.
//!
//! Clients leave out optional fields (jupyter_client's history search sends no `n`,
//! minimal clients send execute_request without `silent`), so every field has the
//! spec's default and a missing one never loses the request.

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ExecuteRequest {
    pub code: String,
    pub silent: bool,
    pub store_history: bool,
    pub allow_stdin: bool,
    pub stop_on_error: bool,
}

impl Default for ExecuteRequest {
    fn default() -> Self {
        ExecuteRequest {
            code: String::new(),
            silent: false,
            store_history: true,
            allow_stdin: true,
            stop_on_error: true,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CodeAtCursor {
    pub code: String,
    /// Code points, per protocol 5.2+.
    pub cursor_pos: Option<usize>,
    pub detail_level: u8,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct IsCompleteRequest {
    pub code: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct HistoryRequest {
    pub output: bool,
    pub raw: bool,
    pub hist_access_type: String,
    pub session: i64,
    pub start: i64,
    pub stop: Option<i64>,
    pub n: Option<usize>,
    pub pattern: String,
    pub unique: bool,
}

impl Default for HistoryRequest {
    fn default() -> Self {
        HistoryRequest {
            output: false,
            raw: true,
            hist_access_type: "tail".into(),
            session: 0,
            start: 0,
            stop: None,
            n: None,
            pattern: "*".into(),
            unique: false,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ShutdownRequest {
    pub restart: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct InputReply {
    pub value: String,
}

/// Decodes `content`, falling back to all defaults when it is not the expected shape.
pub fn decode<T: for<'de> Deserialize<'de> + Default>(content: &serde_json::Value) -> T {
    match serde_json::from_value(content.clone()) {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!("request content did not decode ({e}); using defaults");
            T::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn execute_request_without_silent_gets_spec_defaults() {
        let r: ExecuteRequest = decode(&json!({"code": "1"}));
        assert_eq!(r.code, "1");
        assert!(!r.silent);
        assert!(r.store_history);
        assert!(r.stop_on_error);
    }

    #[test]
    fn history_search_without_n_or_unique_decodes() {
        let r: HistoryRequest =
            decode(&json!({"hist_access_type":"search","pattern":"a*","output":false,"raw":true}));
        assert_eq!(r.hist_access_type, "search");
        assert_eq!(r.n, None);
        assert!(!r.unique);
    }
}
