//! The shell channel: one request at a time, in order, with busy/idle around each.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Value, json};
use tokio::sync::{mpsc, watch};

use super::control::send_reply;
use super::history::History;
use super::iopub::Iopub;
use super::kernel_info_reply;
use super::requests::{
    CodeAtCursor, ExecuteRequest, HistoryRequest, IsCompleteRequest, ShutdownRequest, decode,
};
use super::worker::{Executed, Job, Worker};
use crate::interpreter::{Completeness, Completion, Outcome};
use crate::jupyter::{Message, Replier};

pub struct Dispatcher {
    tx: Replier,
    iopub: Iopub,
    worker: Arc<Worker>,
    queue: mpsc::UnboundedReceiver<Message>,
    /// Requests taken off the queue while aborting that still need normal handling.
    pending: VecDeque<Message>,
    shutdown: watch::Sender<bool>,
    execution_count: i64,
    history: History,
    /// Execute requests that were queued when a cell failed with `stop_on_error`;
    /// answered `aborted` right after that cell's reply.
    to_abort: Vec<Message>,
}

impl Dispatcher {
    pub fn new(
        tx: Replier,
        iopub: Iopub,
        worker: Arc<Worker>,
        queue: mpsc::UnboundedReceiver<Message>,
        shutdown: watch::Sender<bool>,
    ) -> Dispatcher {
        Dispatcher {
            tx,
            iopub,
            worker,
            queue,
            pending: VecDeque::new(),
            shutdown,
            execution_count: 0,
            history: History::default(),
            to_abort: Vec::new(),
        }
    }

    /// Serves requests until shutdown: a shutdown requested on control lets the request
    /// under way finish (its cell is interrupted) and starts no other.
    pub async fn run(&mut self) {
        let mut down = self.shutdown.subscribe();
        loop {
            let stop = *down.borrow();
            if stop {
                return;
            }
            let msg = match self.pending.pop_front() {
                Some(msg) => msg,
                None => tokio::select! {
                    msg = self.queue.recv() => match msg {
                        Some(msg) => msg,
                        None => return,
                    },
                    () = async { let _ = down.wait_for(|&d| d).await; } => return,
                },
            };
            self.iopub.status(Some(&msg), "busy");
            let reply = self.handle(&msg).await;
            if let Some(reply) = reply {
                // Outputs first: nbclient stops listening shortly after the reply.
                self.iopub.flush().await;
                send_reply(&mut self.tx, reply).await;
            }
            self.iopub.status(Some(&msg), "idle");
            for queued in std::mem::take(&mut self.to_abort) {
                self.abort(&queued).await;
            }
            if msg.msg_type() == "shutdown_request" {
                self.iopub.flush().await;
                let _ = self.shutdown.send(true);
                return;
            }
        }
    }

    async fn handle(&mut self, msg: &Message) -> Option<Message> {
        let content = match msg.msg_type() {
            "execute_request" => return Some(self.execute(msg).await),
            "kernel_info_request" => kernel_info_reply(&self.worker),
            "complete_request" => self.complete(msg).await,
            "inspect_request" => self.inspect(msg).await,
            "is_complete_request" => self.is_complete(msg).await,
            "history_request" => self.history(msg),
            "comm_info_request" => json!({ "status": "ok", "comms": {} }),
            "shutdown_request" => {
                let req: ShutdownRequest = decode(&msg.content);
                json!({ "status": "ok", "restart": req.restart })
            }
            other => {
                tracing::info!("shell: no handler for {other}");
                return None;
            }
        };
        let reply_type = msg.msg_type().replace("_request", "_reply");
        Some(msg.child(&reply_type, content))
    }

    async fn execute(&mut self, msg: &Message) -> Message {
        let req: ExecuteRequest = decode(&msg.content);
        let counted = !req.silent && req.store_history;
        if counted {
            self.execution_count += 1;
        }
        let count = self.execution_count;
        if !req.silent {
            self.iopub.send(msg.child(
                "execute_input",
                json!({ "code": req.code, "execution_count": count }),
            ));
        }
        self.worker.interrupt.store(false, Ordering::SeqCst);
        let Executed {
            outcome,
            pages,
            ask_exit,
        } = self
            .worker
            .run(|done| Job::Execute {
                code: req.code.clone(),
                allow_stdin: req.allow_stdin,
                silent: req.silent,
                parent: Box::new(msg.clone()),
                done,
            })
            .await
            .unwrap_or_else(|| Executed {
                outcome: Outcome::Error(crate::interpreter::CellFailure {
                    ename: "KernelError".into(),
                    evalue: "the interpreter thread has stopped; restart the kernel".into(),
                    traceback: vec![
                        "KernelError: the interpreter thread has stopped; restart the kernel".into(),
                    ],
                }),
                pages: Vec::new(),
                ask_exit: false,
            });
        let mut payload: Vec<Value> = pages
            .into_iter()
            .map(|data| json!({ "source": "page", "data": data, "start": 0 }))
            .collect();
        if ask_exit {
            payload.push(json!({ "source": "ask_exit", "keepkernel": false }));
        }
        let reply = match outcome {
            Outcome::Ok { result } => {
                let plain = result
                    .as_ref()
                    .and_then(|r| r.get("text/plain"))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if let Some(data) = result.filter(|_| !req.silent) {
                    self.iopub.send(msg.child(
                        "execute_result",
                        json!({ "execution_count": count, "data": data, "metadata": {} }),
                    ));
                }
                if counted {
                    self.history.record(count, &req.code, plain);
                }
                json!({ "status": "ok", "execution_count": count, "payload": payload, "user_expressions": {} })
            }
            Outcome::Error(failure) => {
                self.iopub.send(msg.child(
                    "error",
                    json!({ "ename": failure.ename, "evalue": failure.evalue, "traceback": failure.traceback }),
                ));
                if counted {
                    self.history.record(count, &req.code, None);
                }
                if req.stop_on_error && !req.silent {
                    // Run All sends every cell at once; give requests already on the wire a
                    // moment to land. Nothing sent in answer to this reply can arrive yet.
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    self.take_queued_executes();
                }
                json!({
                    "status": "error",
                    "execution_count": count,
                    "ename": failure.ename,
                    "evalue": failure.evalue,
                    "traceback": failure.traceback,
                    "payload": payload,
                    "user_expressions": {},
                })
            }
        };
        msg.child("execute_reply", reply)
    }

    /// After a failed cell, takes the execute requests already waiting (what JupyterLab's
    /// Run All sent) so they are aborted rather than run; other requests keep their
    /// place in line. Taken before the failed cell's reply goes out, so a request sent
    /// in answer to that reply is never caught.
    fn take_queued_executes(&mut self) {
        while let Ok(queued) = self.queue.try_recv() {
            if queued.msg_type() == "execute_request" {
                self.to_abort.push(queued);
            } else {
                self.pending.push_back(queued);
            }
        }
    }

    async fn abort(&mut self, queued: &Message) {
        self.iopub.status(Some(queued), "busy");
        let reply = queued.child(
            "execute_reply",
            json!({ "status": "aborted", "execution_count": self.execution_count }),
        );
        send_reply(&mut self.tx, reply).await;
        self.iopub.status(Some(queued), "idle");
    }

    async fn complete(&mut self, msg: &Message) -> Value {
        let req: CodeAtCursor = decode(&msg.content);
        let cursor = req.cursor_pos.unwrap_or_else(|| req.code.chars().count());
        let c = self
            .worker
            .run(|done| Job::Complete {
                code: req.code.clone(),
                cursor,
                done,
            })
            .await
            .unwrap_or(Completion {
                cursor_start: cursor,
                cursor_end: cursor,
                ..Default::default()
            });
        json!({
            "status": "ok",
            "matches": c.matches,
            "cursor_start": c.cursor_start,
            "cursor_end": c.cursor_end,
            "metadata": {},
        })
    }

    async fn inspect(&mut self, msg: &Message) -> Value {
        let req: CodeAtCursor = decode(&msg.content);
        let cursor = req.cursor_pos.unwrap_or_else(|| req.code.chars().count());
        let found = self
            .worker
            .run(|done| Job::Inspect {
                code: req.code.clone(),
                cursor,
                detail: req.detail_level,
                done,
            })
            .await
            .flatten();
        match found {
            Some(data) => json!({ "status": "ok", "found": true, "data": data, "metadata": {} }),
            None => json!({ "status": "ok", "found": false, "data": {}, "metadata": {} }),
        }
    }

    async fn is_complete(&mut self, msg: &Message) -> Value {
        let req: IsCompleteRequest = decode(&msg.content);
        let verdict = self
            .worker
            .run(|done| Job::IsComplete {
                code: req.code.clone(),
                done,
            })
            .await;
        match verdict {
            Some(Completeness::Complete) => json!({ "status": "complete" }),
            Some(Completeness::Incomplete { indent }) => json!({ "status": "incomplete", "indent": indent }),
            Some(Completeness::Invalid) => json!({ "status": "invalid" }),
            None => json!({ "status": "unknown" }),
        }
    }

    fn history(&self, msg: &Message) -> Value {
        let req: HistoryRequest = decode(&msg.content);
        let rows = match req.hist_access_type.as_str() {
            "tail" => self.history.tail(req.n.unwrap_or(10), req.output),
            "range" => self.history.range(req.session, req.start, req.stop, req.output),
            "search" => self.history.search(&req.pattern, req.n, req.unique, req.output),
            _ => Vec::new(),
        };
        json!({ "status": "ok", "history": rows })
    }
}
