//! The interpreter's own thread. Rhai is synchronous, so cells run here while the
//! async side keeps serving control (interrupts, kernel_info) and the heartbeat.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Mutex, oneshot};

use super::iopub::Iopub;
use super::requests::{InputReply, decode};
use crate::interpreter::{Completeness, Completion, Interpreter, MimeBundle, Outcome, Output, StreamName};
use crate::jupyter::{Message, Receiver, Replier};

pub enum Job {
    Execute {
        code: String,
        allow_stdin: bool,
        /// `silent` requests publish no outputs on iopub (the spec's "as quietly as
        /// possible"); a failure is still published, as ipykernel does.
        silent: bool,
        parent: Box<Message>,
        done: oneshot::Sender<Executed>,
    },
    Complete {
        code: String,
        cursor: usize,
        done: oneshot::Sender<Completion>,
    },
    Inspect {
        code: String,
        cursor: usize,
        detail: u8,
        done: oneshot::Sender<Option<MimeBundle>>,
    },
    IsComplete {
        code: String,
        done: oneshot::Sender<Completeness>,
    },
}

/// Stack size of the interpreter thread (reserved, not committed, until used).
pub const INTERPRETER_STACK: usize = 512 * 1024 * 1024;

/// A cell's outcome and what it asked the frontend's pager to show.
pub struct Executed {
    pub outcome: Outcome,
    pub pages: Vec<MimeBundle>,
    /// The cell asked the frontend to end the session (`exit`, `quit`).
    pub ask_exit: bool,
}

/// The async side's handle on the interpreter thread.
pub struct Worker {
    jobs: std::sync::mpsc::Sender<Job>,
    pub interrupt: Arc<AtomicBool>,
    pub kernel_info: Value,
}

/// The stdin channel, used from the interpreter thread to ask the frontend for input.
#[derive(Clone)]
pub struct StdinBridge {
    pub runtime: tokio::runtime::Handle,
    pub replier: Replier,
    pub receiver: Arc<Mutex<Receiver>>,
}

impl Worker {
    pub fn spawn<I: Interpreter>(mut interp: I, iopub: Iopub, stdin: StdinBridge) -> std::io::Result<Worker> {
        let (jobs, rx) = std::sync::mpsc::channel::<Job>();
        let interrupt = interp.interrupt_flag();
        let kernel_info = interp.kernel_info();
        let flag = interrupt.clone();
        std::thread::Builder::new()
            .name("interpreter".into())
            // Deeply nested values are walked recursively (by Rhai and by us); a
            // generous stack keeps a runaway cell from aborting the kernel.
            .stack_size(INTERPRETER_STACK)
            .spawn(move || {
                while let Ok(job) = rx.recv() {
                    match job {
                        Job::Execute {
                            code,
                            allow_stdin,
                            silent,
                            parent,
                            done,
                        } => {
                            let out = Arc::new(KernelOutput {
                                iopub: iopub.clone(),
                                parent: *parent,
                                stdin: stdin.clone(),
                                allow_stdin,
                                silent,
                                interrupt: flag.clone(),
                                pages: std::sync::Mutex::default(),
                                ask_exit: AtomicBool::new(false),
                            });
                            let outcome = interp.execute(&code, out.clone());
                            let pages =
                                std::mem::take(&mut *out.pages.lock().unwrap_or_else(|p| p.into_inner()));
                            let ask_exit = out.ask_exit.load(Ordering::SeqCst);
                            let _ = done.send(Executed {
                                outcome,
                                pages,
                                ask_exit,
                            });
                        }
                        Job::Complete { code, cursor, done } => {
                            let _ = done.send(interp.complete(&code, cursor));
                        }
                        Job::Inspect {
                            code,
                            cursor,
                            detail,
                            done,
                        } => {
                            let _ = done.send(interp.inspect(&code, cursor, detail));
                        }
                        Job::IsComplete { code, done } => {
                            let _ = done.send(interp.is_complete(&code));
                        }
                    }
                }
            })?;
        Ok(Worker {
            jobs,
            interrupt,
            kernel_info,
        })
    }

    /// Hands a job to the interpreter thread and waits for its answer.
    pub async fn run<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Job) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.jobs.send(make(tx)).ok()?;
        rx.await.ok()
    }

    pub fn interrupt(&self) {
        self.interrupt.store(true, Ordering::SeqCst);
    }
}

/// Output of a running cell, published on iopub as children of its execute_request.
struct KernelOutput {
    iopub: Iopub,
    parent: Message,
    stdin: StdinBridge,
    allow_stdin: bool,
    silent: bool,
    interrupt: Arc<AtomicBool>,
    /// Pager text, sent as `page` payloads in the execute_reply.
    pages: std::sync::Mutex<Vec<MimeBundle>>,
    ask_exit: AtomicBool,
}

impl Output for KernelOutput {
    fn stream(&self, name: StreamName, text: &str) {
        if self.silent {
            return;
        }
        self.iopub.send(
            self.parent
                .child("stream", json!({ "name": name.as_str(), "text": text })),
        );
    }

    fn display(&self, data: MimeBundle) {
        if self.silent {
            return;
        }
        self.iopub.send(self.parent.child(
            "display_data",
            json!({ "data": data, "metadata": {}, "transient": {} }),
        ));
    }

    fn clear_output(&self, wait: bool) {
        if self.silent {
            return;
        }
        self.iopub
            .send(self.parent.child("clear_output", json!({ "wait": wait })));
    }

    fn page(&self, data: MimeBundle) {
        self.pages.lock().unwrap_or_else(|p| p.into_inner()).push(data);
    }

    fn ask_exit(&self) {
        self.ask_exit.store(true, Ordering::SeqCst);
    }

    fn input(&self, prompt: &str, password: bool) -> Result<String, String> {
        if !self.allow_stdin {
            return Err("this frontend does not accept input (allow_stdin is false, as with papermill and nbclient); pass the value as a parameter instead".into());
        }
        let request = self
            .parent
            .child("input_request", json!({ "prompt": prompt, "password": password }));
        let bridge = self.stdin.clone();
        let interrupt = self.interrupt.clone();
        bridge.runtime.clone().block_on(async move {
            let mut replier = bridge.replier.clone();
            replier.send(request).await.map_err(|e| e.to_string())?;
            let mut receiver = bridge.receiver.lock().await;
            loop {
                if interrupt.load(Ordering::SeqCst) {
                    return Err("interrupted while waiting for input".into());
                }
                match tokio::time::timeout(Duration::from_millis(100), receiver.recv()).await {
                    Err(_) => continue,
                    Ok(Err(e)) => tracing::warn!("stdin: {e}; still waiting for input_reply"),
                    Ok(Ok(msg)) if msg.msg_type() == "input_reply" => {
                        return Ok(decode::<InputReply>(&msg.content).value);
                    }
                    Ok(Ok(msg)) => tracing::warn!("stdin: ignoring {}", msg.msg_type()),
                }
            }
        })
    }
}
