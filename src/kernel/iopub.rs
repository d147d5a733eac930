//! The single iopub writer. Every iopub message goes through one channel to one task,
//! so busy → execute_input → outputs → idle reach clients in the order they were made.

use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use crate::jupyter::{Message, Publisher};

enum Item {
    Msg(Box<Message>),
    /// Acknowledged once everything queued before it has been handed to the socket.
    Flush(oneshot::Sender<()>),
    /// Closes the socket (flushing it) and stops the writer.
    Close(oneshot::Sender<()>),
}

/// A cheap, cloneable handle for publishing on iopub from any task or thread.
#[derive(Clone)]
pub struct Iopub {
    tx: mpsc::UnboundedSender<Item>,
}

impl Iopub {
    pub fn start(publisher: Publisher) -> Iopub {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(publisher, rx));
        Iopub { tx }
    }

    pub fn send(&self, msg: Message) {
        if self.tx.send(Item::Msg(Box::new(msg))).is_err() {
            tracing::debug!("iopub writer has stopped; message dropped");
        }
    }

    /// Publishes `status: state` as a child of `parent` (or parentless for `starting`).
    pub fn status(&self, parent: Option<&Message>, state: &str) {
        self.send(Message::new(
            "status",
            json!({ "execution_state": state }),
            parent,
        ));
    }

    /// Waits until everything published so far has been written.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Item::Flush(tx)).is_ok() {
            let _ = rx.await;
        }
    }

    pub async fn close(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Item::Close(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

async fn write_loop(mut publisher: Publisher, mut rx: mpsc::UnboundedReceiver<Item>) {
    while let Some(item) = rx.recv().await {
        match item {
            Item::Msg(msg) => {
                if let Err(e) = publisher.send(*msg).await {
                    tracing::warn!("iopub send failed: {e}");
                }
            }
            Item::Flush(done) => {
                let _ = done.send(());
            }
            Item::Close(done) => {
                publisher.close().await;
                let _ = done.send(());
                return;
            }
        }
    }
}
