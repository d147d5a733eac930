//! Binding the kernel's sockets from a connection file, and the three handles the
//! kernel uses: a [`Receiver`] and [`Replier`] per ROUTER channel, one iopub [`Publisher`].

use jupyter_protocol::ConnectionInfo;
use jupyter_zmq_client::{
    Connection, RawMessage, create_kernel_control_connection, create_kernel_heartbeat_connection,
    create_kernel_iopub_connection, create_kernel_shell_connection, create_kernel_stdin_connection,
};
use zeromq::{SocketRecv, SocketSend};

use super::{Message, WireError};

/// Reads and verifies messages from one ROUTER socket.
pub struct Receiver {
    conn: Connection<zeromq::RouterRecvHalf>,
}

impl Receiver {
    /// The next message. A bad signature or malformed frame is an error for this
    /// message only; the socket stays usable and the caller should keep reading.
    pub async fn recv(&mut self) -> Result<Message, WireError> {
        let multipart = self.conn.socket.recv().await?;
        let raw = RawMessage::from_multipart(multipart, &self.conn.mac).map_err(WireError::Frame)?;
        Message::from_parts(raw.zmq_identities, &raw.jparts)
    }
}

/// Sends signed messages on one ROUTER socket (cloneable: replies may come from any task).
pub struct Replier {
    conn: Connection<zeromq::RouterSendHalf>,
}

impl Clone for Replier {
    fn clone(&self) -> Self {
        Replier {
            conn: Connection {
                socket: self.conn.socket.clone(),
                mac: self.conn.mac.clone(),
                session_id: self.conn.session_id.clone(),
            },
        }
    }
}

impl Replier {
    pub async fn send(&mut self, msg: Message) -> Result<(), WireError> {
        self.conn.send(msg.into_jupyter()).await.map_err(WireError::Send)
    }
}

/// The iopub PUB socket.
pub struct Publisher {
    conn: Connection<zeromq::PubSocket>,
}

impl Publisher {
    pub async fn send(&mut self, msg: Message) -> Result<(), WireError> {
        self.conn.send(msg.into_jupyter()).await.map_err(WireError::Send)
    }

    /// Closes the socket so queued messages are flushed before the process exits.
    pub async fn close(self) {
        let errors = zeromq::Socket::close(self.conn.socket).await;
        for e in errors {
            tracing::debug!("closing iopub: {e}");
        }
    }
}

/// All kernel sockets, bound.
pub struct Sockets {
    pub shell: (Receiver, Replier),
    pub control: (Receiver, Replier),
    pub stdin: (Receiver, Replier),
    pub iopub: Publisher,
    pub heartbeat: zeromq::RepSocket,
    pub info: ConnectionInfo,
}

impl Sockets {
    pub fn read_connection_file(path: &std::path::Path) -> Result<ConnectionInfo, WireError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| WireError::ConnectionFile {
            path: shown.clone(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|source| WireError::ConnectionFileFormat { path: shown, source })
    }

    pub async fn bind(info: ConnectionInfo) -> Result<Sockets, WireError> {
        let session = uuid::Uuid::new_v4().to_string();
        let bind_err = |channel| move |source| WireError::Bind { channel, source };
        let shell = create_kernel_shell_connection(&info, &session)
            .await
            .map_err(bind_err("shell"))?;
        let control = create_kernel_control_connection(&info, &session)
            .await
            .map_err(bind_err("control"))?;
        let stdin = create_kernel_stdin_connection(&info, &session)
            .await
            .map_err(bind_err("stdin"))?;
        let iopub = create_kernel_iopub_connection(&info, &session)
            .await
            .map_err(bind_err("iopub"))?;
        let heartbeat = create_kernel_heartbeat_connection(&info)
            .await
            .map_err(bind_err("heartbeat"))?;
        Ok(Sockets {
            shell: split(shell),
            control: split(control),
            stdin: split(stdin),
            iopub: Publisher { conn: iopub },
            heartbeat: heartbeat.socket,
            info,
        })
    }
}

fn split(conn: Connection<zeromq::RouterSocket>) -> (Receiver, Replier) {
    let (send, recv) = conn.split();
    (Receiver { conn: recv }, Replier { conn: send })
}

/// Sends raw frames on a socket, used by the heartbeat.
pub(super) async fn echo<S: SocketRecv + SocketSend>(socket: &mut S) -> Result<(), zeromq::ZmqError> {
    let msg = socket.recv().await?;
    socket.send(msg).await
}
