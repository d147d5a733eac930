//! The seam between the kernel core and a language: what an interpreter must answer,
//! and how it emits output while it runs.
//!
//! Modelled on xeus: the kernel core owns the protocol bookkeeping (busy/idle,
//! execution counts, execute_input, aborts); an interpreter answers execute,
//! complete, inspect and is_complete with decoded inputs and typed results, and
//! publishes output through an [`Output`] it is handed. The headless runner and the
//! kernel's tests plug different `Output`s and interpreters into the same seam.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use serde_json::{Map, Value};

/// A MIME bundle: `{"text/plain": "...", "application/json": {...}}`.
pub type MimeBundle = Map<String, Value>;

/// Where an interpreter's output goes while a cell runs. Shared (`&self`, `Send +
/// Sync`) because Rhai's print and debug callbacks publish as they happen.
pub trait Output: Send + Sync {
    /// Text on `stdout` or `stderr`.
    fn stream(&self, name: StreamName, text: &str);
    /// A rich display (`display_data`).
    fn display(&self, data: MimeBundle);
    /// Clears the cell's output (`clear_output`); with `wait`, when the next output arrives.
    fn clear_output(&self, wait: bool);
    /// Asks the user for a line of input; `Err` says why it cannot (e.g. no frontend stdin).
    fn input(&self, prompt: &str, password: bool) -> Result<String, String>;
    /// Help text for the pager (`?name`). Jupyter frontends show it beside the notebook
    /// (an execute_reply `page` payload); outputs without a pager display it inline.
    fn page(&self, data: MimeBundle) {
        self.display(data);
    }
    /// The user typed `exit` or `quit`: a terminal frontend should end the session
    /// (an `ask_exit` payload). Outputs with nothing to end ignore it.
    fn ask_exit(&self) {}
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamName {
    Stdout,
    Stderr,
}

impl StreamName {
    pub fn as_str(self) -> &'static str {
        match self {
            StreamName::Stdout => "stdout",
            StreamName::Stderr => "stderr",
        }
    }
}

/// A cell failure, as Jupyter shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CellFailure {
    pub ename: String,
    pub evalue: String,
    pub traceback: Vec<String>,
}

/// The result of running one cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Ran; `result` is the value to show as `execute_result`, if any.
    Ok { result: Option<MimeBundle> },
    /// Failed; shown as one `error` output.
    Error(CellFailure),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Completion {
    pub matches: Vec<String>,
    /// Code-point offsets of the text the matches replace.
    pub cursor_start: usize,
    pub cursor_end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Completeness {
    Complete,
    Incomplete { indent: String },
    Invalid,
}

/// What the kernel core asks of a language.
pub trait Interpreter: Send + 'static {
    /// `language_info` and friends for `kernel_info_reply` (merged into the kernel's reply).
    fn kernel_info(&self) -> Value;
    /// Runs one cell. `silent` cells still run but the kernel discards their result.
    fn execute(&mut self, code: &str, out: Arc<dyn Output>) -> Outcome;
    /// Completions at a code-point cursor.
    fn complete(&mut self, code: &str, cursor_pos: usize) -> Completion;
    /// Help for the name at a code-point cursor, if there is any.
    fn inspect(&mut self, code: &str, cursor_pos: usize, detail_level: u8) -> Option<MimeBundle>;
    /// Whether `code` is ready to run (jupyter console asks on every Enter).
    fn is_complete(&mut self, code: &str) -> Completeness;
    /// A flag the kernel sets to stop a running cell; the interpreter polls it.
    fn interrupt_flag(&self) -> Arc<AtomicBool>;
}
