//! The heartbeat: echo every ping, forever.
//!
//! zmq.rs reports a vanished peer as an error where libzmq would drop silently, so
//! the loop logs and carries on; a heartbeat that stops after the first client
//! disconnects makes every later client think the kernel died.

use std::time::Duration;

pub async fn serve_heartbeat(mut socket: zeromq::RepSocket) {
    loop {
        if let Err(e) = super::sockets::echo(&mut socket).await {
            tracing::debug!("heartbeat: {e}; continuing");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
