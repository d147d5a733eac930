use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use jupyter_protocol::{
    ConnectionInfo, ExecuteRequest, JupyterMessage, JupyterMessageContent, KernelInfoRequest,
};
use jupyter_zmq_client::{
    ClientIoPubConnection, ClientShellConnection, create_client_iopub_connection,
    create_client_shell_connection_with_identity, peek_ports, peer_identity_for_session,
};
use runbook::interpreter::{
    CellFailure, Completeness, Completion, Interpreter, MimeBundle, Outcome, Output, StreamName,
};
use serde_json::json;

/// Upper-cases its input; `fail` fails; `print X` prints X.
struct Fake {
    interrupt: Arc<AtomicBool>,
}

impl Interpreter for Fake {
    fn kernel_info(&self) -> serde_json::Value {
        json!({ "language_info": { "name": "fake", "version": "1", "mimetype": "text/plain", "file_extension": ".txt" } })
    }
    fn execute(&mut self, code: &str, out: Arc<dyn Output>) -> Outcome {
        if code == "fail" {
            return Outcome::Error(CellFailure {
                ename: "Boom".into(),
                evalue: "it failed".into(),
                traceback: vec!["Boom: it failed".into()],
            });
        }
        if let Some(text) = code.strip_prefix("print ") {
            out.stream(StreamName::Stdout, text);
            return Outcome::Ok { result: None };
        }
        let mut data = MimeBundle::new();
        data.insert("text/plain".into(), code.to_uppercase().into());
        Outcome::Ok { result: Some(data) }
    }
    fn complete(&mut self, _code: &str, cursor_pos: usize) -> Completion {
        Completion {
            matches: vec!["fake".into()],
            cursor_start: 0,
            cursor_end: cursor_pos,
        }
    }
    fn inspect(&mut self, _: &str, _: usize, _: u8) -> Option<MimeBundle> {
        None
    }
    fn is_complete(&mut self, _: &str) -> Completeness {
        Completeness::Complete
    }
    fn interrupt_flag(&self) -> Arc<AtomicBool> {
        self.interrupt.clone()
    }
}

struct Client {
    shell: ClientShellConnection,
    iopub: ClientIoPubConnection,
}

async fn start() -> Client {
    let ports = peek_ports(IpAddr::V4(Ipv4Addr::LOCALHOST), 5).await.unwrap();
    let info = ConnectionInfo {
        ip: "127.0.0.1".into(),
        transport: jupyter_protocol::connection_info::Transport::TCP,
        shell_port: ports[0],
        iopub_port: ports[1],
        stdin_port: ports[2],
        control_port: ports[3],
        hb_port: ports[4],
        key: "test-key".into(),
        signature_scheme: "hmac-sha256".into(),
        kernel_name: None,
    };
    let sockets = runbook::jupyter::Sockets::bind(info.clone()).await.unwrap();
    tokio::spawn(runbook::kernel::serve(
        sockets,
        Fake {
            interrupt: Arc::new(AtomicBool::new(false)),
        },
    ));
    let session = uuid::Uuid::new_v4().to_string();
    let identity = peer_identity_for_session(&session).unwrap();
    let shell = create_client_shell_connection_with_identity(&info, &session, identity)
        .await
        .unwrap();
    let iopub = create_client_iopub_connection(&info, "", &session).await.unwrap();
    let mut client = Client { shell, iopub };
    // PUB/SUB joins late: ask until iopub shows the kernel's status, as jupyter_client does.
    loop {
        client.shell.send(KernelInfoRequest {}.into()).await.unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(2), client.shell.read())
            .await
            .unwrap()
            .unwrap();
        if let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(200), client.iopub.read()).await {
            break;
        }
    }
    drain(&mut client.iopub).await;
    client
}

async fn drain(iopub: &mut ClientIoPubConnection) {
    while let Ok(Ok(_)) = tokio::time::timeout(Duration::from_millis(100), iopub.read()).await {}
}

/// IOPub messages for `parent`, through its idle status.
async fn iopub_for(iopub: &mut ClientIoPubConnection, parent: &str) -> Vec<JupyterMessage> {
    let mut out = Vec::new();
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(5), iopub.read())
            .await
            .unwrap()
            .unwrap();
        if msg.parent_header.as_ref().map(|h| h.msg_id.as_str()) != Some(parent) {
            continue;
        }
        let idle =
            matches!(&msg.content, JupyterMessageContent::Status(s) if s.execution_state.as_str() == "idle");
        out.push(msg);
        if idle {
            return out;
        }
    }
}

fn kinds(msgs: &[JupyterMessage]) -> Vec<String> {
    msgs.iter()
        .map(|m| match &m.content {
            JupyterMessageContent::Status(s) => format!("status:{}", s.execution_state.as_str()),
            other => other.message_type().to_string(),
        })
        .collect()
}

async fn execute(client: &mut Client, code: &str) -> (JupyterMessage, Vec<JupyterMessage>) {
    let request: JupyterMessage = ExecuteRequest::new(code.to_string()).into();
    let id = request.header.msg_id.clone();
    client.shell.send(request).await.unwrap();
    let reply = tokio::time::timeout(Duration::from_secs(5), client.shell.read())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reply.parent_header.as_ref().unwrap().msg_id, id);
    (reply, iopub_for(&mut client.iopub, &id).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execute_publishes_busy_input_result_idle_in_order_and_counts() {
    let mut client = start().await;
    let (reply, msgs) = execute(&mut client, "abc").await;
    assert_eq!(
        kinds(&msgs),
        ["status:busy", "execute_input", "execute_result", "status:idle"]
    );
    let JupyterMessageContent::ExecuteReply(r) = &reply.content else {
        panic!("{reply:?}")
    };
    assert_eq!(r.execution_count.value(), 1);
    let JupyterMessageContent::ExecuteResult(res) = &msgs[2].content else {
        panic!()
    };
    assert_eq!(res.execution_count.value(), 1);
    let (reply, msgs) = execute(&mut client, "print hi").await;
    assert_eq!(
        kinds(&msgs),
        ["status:busy", "execute_input", "stream", "status:idle"]
    );
    let JupyterMessageContent::ExecuteReply(r) = &reply.content else {
        panic!()
    };
    assert_eq!(r.execution_count.value(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_is_one_error_output_and_an_error_reply_with_ename() {
    let mut client = start().await;
    let (reply, msgs) = execute(&mut client, "fail").await;
    assert_eq!(
        kinds(&msgs),
        ["status:busy", "execute_input", "error", "status:idle"]
    );
    let JupyterMessageContent::ExecuteReply(r) = &reply.content else {
        panic!("{reply:?}")
    };
    assert_eq!(r.status, jupyter_protocol::ReplyStatus::Error);
    let JupyterMessageContent::ErrorOutput(e) = &msgs[2].content else {
        panic!()
    };
    assert_eq!((e.ename.as_str(), e.evalue.as_str()), ("Boom", "it failed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_parse_as_typed_protocol_messages() {
    let mut client = start().await;
    client.shell.send(KernelInfoRequest {}.into()).await.unwrap();
    let reply = client.shell.read().await.unwrap();
    let JupyterMessageContent::KernelInfoReply(info) = &reply.content else {
        panic!("{reply:?}")
    };
    assert_eq!(info.language_info.name, "fake");
    assert_eq!(info.implementation, "runbook");
}
