//! The kernel core: dispatch, busy/idle, execution counts, iopub ordering, control,
//! stdin, stop-on-error aborts, interrupts and shutdown.
//!
//! It speaks Jupyter through [`crate::jupyter`] and runs code only through the
//! [`Interpreter`] seam; it knows nothing of Rhai, actions or AWS. Only this layer
//! knows execution counts and history.

mod control;
mod history;
mod iopub;
mod requests;
mod shell;
mod worker;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Mutex, mpsc, watch};

use crate::interpreter::Interpreter;
use crate::jupyter::{Message, Sockets, WireError, serve_heartbeat};
use iopub::Iopub;
use worker::{StdinBridge, Worker};

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("cannot start the interpreter thread: {0}")]
    Thread(#[from] std::io::Error),
}

/// Serves a kernel on bound sockets until a shutdown request arrives.
pub async fn serve<I: Interpreter>(sockets: Sockets, interpreter: I) -> Result<(), KernelError> {
    let Sockets {
        shell,
        control,
        stdin,
        iopub,
        heartbeat,
        ..
    } = sockets;
    tokio::spawn(serve_heartbeat(heartbeat));
    let iopub = Iopub::start(iopub);
    iopub.status(None, "starting");

    let bridge = StdinBridge {
        runtime: tokio::runtime::Handle::current(),
        replier: stdin.1,
        receiver: Arc::new(Mutex::new(stdin.0)),
    };
    let worker = Arc::new(Worker::spawn(interpreter, iopub.clone(), bridge)?);
    let (shutdown_tx, mut shutdown_rx) = watch::channel(false);

    spawn_interrupt_on_sigint(worker.clone());
    spawn_parent_watch(worker.clone(), shutdown_tx.clone());
    tokio::spawn(control::serve(
        control,
        iopub.clone(),
        worker.clone(),
        shutdown_tx.clone(),
    ));

    let (queue_tx, queue_rx) = mpsc::unbounded_channel();
    tokio::spawn(read_into_queue(shell.0, queue_tx));
    let mut dispatcher = shell::Dispatcher::new(shell.1, iopub.clone(), worker, queue_rx, shutdown_tx);
    let run = dispatcher.run();
    tokio::pin!(run);
    tokio::select! {
        () = &mut run => {}
        () = async { let _ = shutdown_rx.wait_for(|&down| down).await; } => {
            // The running cell has been interrupted: let it send its execute_reply.
            let _ = tokio::time::timeout(Duration::from_secs(2), &mut run).await;
        }
    }
    // zmq.rs returns from send before bytes leave: flush and close iopub, then give the
    // shell/control writers a moment so the shutdown_reply reaches the client.
    iopub.flush().await;
    iopub.close().await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    Ok(())
}

/// Reads shell messages into a queue so that, after a failed cell, requests already
/// waiting can be aborted (what JupyterLab's Run All expects).
async fn read_into_queue(mut rx: crate::jupyter::Receiver, queue: mpsc::UnboundedSender<Message>) {
    loop {
        match rx.recv().await {
            Ok(msg) => {
                if queue.send(msg).is_err() {
                    return;
                }
            }
            Err(WireError::Socket(e)) => {
                tracing::warn!("shell socket: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => tracing::warn!("dropped a shell message: {e}"),
        }
    }
}

/// With `interrupt_mode: signal` (or Ctrl-C in a terminal) clients send SIGINT; the
/// default action would kill the kernel, so treat it as an interrupt request.
fn spawn_interrupt_on_sigint(worker: Arc<Worker>) {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::interrupt()) {
        Ok(mut sigint) => {
            tokio::spawn(async move {
                while sigint.recv().await.is_some() {
                    tracing::info!("SIGINT: interrupting the running cell");
                    worker.interrupt();
                }
            });
        }
        Err(e) => tracing::warn!("cannot handle SIGINT: {e}"),
    }
}

/// Orphan protection: jupyter_client sets `JPY_PARENT_PID`; when the process that
/// started the kernel dies without shutting it down (a killed notebook server or
/// papermill), this kernel is reparented. Stop the running cell and exit rather than
/// linger holding ports and credentials.
fn spawn_parent_watch(worker: Arc<Worker>, shutdown: watch::Sender<bool>) {
    if std::env::var_os("JPY_PARENT_PID").is_none() {
        return;
    }
    let parent = std::os::unix::process::parent_id();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = std::os::unix::process::parent_id();
            if now != parent {
                worker.interrupt();
                let _ = shutdown.send(true);
                // Nobody may be reading our stderr any more, and a write to it can
                // stall (a full pipe); whatever stalls, do not outlive the launcher.
                std::thread::spawn(|| {
                    std::thread::sleep(Duration::from_secs(5));
                    std::process::exit(1);
                });
                tracing::warn!("the process that started this kernel ({parent}) has gone; shutting down");
                return;
            }
        }
    });
}

/// The reply to `kernel_info_request`, identical on shell and control.
fn kernel_info_reply(worker: &Worker) -> Value {
    let mut content = json!({
        "status": "ok",
        "protocol_version": "5.3",
        "implementation": "runbook",
        "implementation_version": env!("CARGO_PKG_VERSION"),
        "debugger": false,
        "help_links": [],
        "banner": "",
    });
    if let (Some(obj), Some(extra)) = (content.as_object_mut(), worker.kernel_info.as_object()) {
        for (k, v) in extra {
            obj.insert(k.clone(), v.clone());
        }
    }
    content
}
