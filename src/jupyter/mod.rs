//! The wire: Jupyter message framing, HMAC signing, and the five kernel sockets.
//!
//! This layer owns everything that touches ZeroMQ and knows nothing of Rhai, AWS or
//! what a message means. Signing and framing come from `jupyter-zmq-client`; message
//! headers from `jupyter-protocol`. Incoming content is kept as raw JSON so the kernel
//! can decode it leniently (clients omit optional fields), and a bad signature or
//! unparseable frame is an error the caller logs and drops, never a reason to stop.

mod heartbeat;
mod message;
mod sockets;

pub use heartbeat::serve_heartbeat;
pub use message::Message;
pub use sockets::{Publisher, Receiver, Replier, Sockets};

/// What can go wrong on the wire.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("cannot read connection file {path}: {source}")]
    ConnectionFile { path: String, source: std::io::Error },
    #[error("connection file {path} is not valid: {source}")]
    ConnectionFileFormat { path: String, source: serde_json::Error },
    #[error("cannot bind {channel} socket: {source}")]
    Bind {
        channel: &'static str,
        source: jupyter_zmq_client::RuntimeError,
    },
    #[error("socket error: {0}")]
    Socket(#[from] zeromq::ZmqError),
    #[error("message rejected: {0}")]
    Frame(jupyter_zmq_client::RuntimeError),
    #[error("malformed message: {part} is not valid JSON: {source}")]
    Json {
        part: &'static str,
        source: serde_json::Error,
    },
    #[error("malformed message: header lacks msg_type")]
    MissingMsgType,
    #[error("cannot send message: {0}")]
    Send(jupyter_zmq_client::RuntimeError),
}
