//! `runbook`: a Jupyter kernel for operational runbooks.
//!
//! Layers, each pointing only down (see ARCHITECTURE.md):
//!
//! - [`jupyter`]: wire format, signing, sockets, heartbeat. Knows nothing of Rhai or AWS.
//! - [`kernel`]: dispatch, busy/idle, execution counts, iopub ordering, control, stdin, aborts.
//! - [`interpreter`]: Rhai cells, action cells, parameters, completion and inspect.
//! - [`actions`]: the executor every side effect passes through; one file per action.
//! - [`kernelspec`]: writing the kernelspec so Jupyter can find the kernel.

pub mod actions;
pub mod audit;
pub mod interpreter;
pub mod jupyter;
pub mod kernel;
pub mod kernelspec;
pub mod notebook;
pub mod runner;
