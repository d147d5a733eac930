//! The control channel: served on its own task so interrupts, kernel_info and shutdown
//! are answered while a cell is running.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::watch;

use super::iopub::Iopub;
use super::kernel_info_reply;
use super::requests::{ShutdownRequest, decode};
use super::worker::Worker;
use crate::jupyter::{Message, Receiver, Replier, WireError};

pub async fn serve(
    (mut rx, mut tx): (Receiver, Replier),
    iopub: Iopub,
    worker: Arc<Worker>,
    shutdown: watch::Sender<bool>,
) {
    loop {
        let msg = match rx.recv().await {
            Ok(msg) => msg,
            Err(WireError::Socket(e)) => {
                tracing::warn!("control socket: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
            Err(e) => {
                tracing::warn!("dropped a control message: {e}");
                continue;
            }
        };
        iopub.status(Some(&msg), "busy");
        let reply = match msg.msg_type() {
            "kernel_info_request" => Some(msg.child("kernel_info_reply", kernel_info_reply(&worker))),
            "interrupt_request" => {
                worker.interrupt();
                Some(msg.child("interrupt_reply", json!({ "status": "ok" })))
            }
            "shutdown_request" => {
                let req: ShutdownRequest = decode(&msg.content);
                Some(msg.child(
                    "shutdown_reply",
                    json!({ "status": "ok", "restart": req.restart }),
                ))
            }
            other => {
                tracing::info!("control: no handler for {other}");
                None
            }
        };
        if let Some(reply) = reply {
            send_reply(&mut tx, reply).await;
        }
        iopub.status(Some(&msg), "idle");
        if msg.msg_type() == "shutdown_request" {
            // Let a cell that is still running stop, then end the process.
            worker.interrupt();
            iopub.flush().await;
            let _ = shutdown.send(true);
            return;
        }
    }
}

/// Sends a reply; a vanished peer is logged, never fatal.
pub async fn send_reply(tx: &mut Replier, reply: Message) {
    if let Err(e) = tx.send(reply).await {
        tracing::warn!("cannot send reply: {e}");
    }
}
