//! Rust integration tests (one binary). Table of contents:
//!
//! - `kernel_core`: the kernel core over real ZeroMQ sockets on 127.0.0.1, driven by the
//!   runtimed client crates, with a fake interpreter standing in for Rhai.
//!
//! The Python suites in `tests/python/` drive the real kernel with Jupyter's own clients.

mod kernel_core;
