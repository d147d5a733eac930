//! One Jupyter message: routing identities, header, parent header, metadata, content.

use bytes::Bytes;
use jupyter_protocol::messaging::{Header, JupyterMessage, JupyterMessageContent, UnknownMessage};
use serde_json::{Map, Value};

use super::WireError;

/// A decoded message whose content is still raw JSON.
#[derive(Debug, Clone)]
pub struct Message {
    pub identities: Vec<Bytes>,
    pub header: Header,
    pub parent_header: Option<Header>,
    pub metadata: Value,
    pub content: Value,
    pub buffers: Vec<Bytes>,
}

impl Message {
    /// Decodes the four JSON frames of a verified raw message.
    pub fn from_parts(identities: Vec<Bytes>, jparts: &[Bytes]) -> Result<Message, WireError> {
        let json = |i: usize, part: &'static str| -> Result<Value, WireError> {
            match jparts.get(i) {
                Some(bytes) => {
                    serde_json::from_slice(bytes).map_err(|source| WireError::Json { part, source })
                }
                None => Ok(Value::Object(Map::new())),
            }
        };
        let header = header_from_value(&json(0, "header")?).ok_or(WireError::MissingMsgType)?;
        let parent_header = header_from_value(&json(1, "parent_header")?);
        Ok(Message {
            identities,
            header,
            parent_header,
            metadata: json(2, "metadata")?,
            content: json(3, "content")?,
            buffers: jparts.iter().skip(4).cloned().collect(),
        })
    }

    pub fn msg_type(&self) -> &str {
        &self.header.msg_type
    }

    /// A new message of `msg_type` whose parent is `self`, addressed to the same peer.
    pub fn child(&self, msg_type: &str, content: Value) -> Message {
        Message::new(msg_type, content, Some(self))
    }

    /// A new message; with a parent it inherits the parent's session and identities.
    pub fn new(msg_type: &str, content: Value, parent: Option<&Message>) -> Message {
        let session = parent.map(|p| p.header.session.clone()).unwrap_or_default();
        Message {
            identities: parent.map(|p| p.identities.clone()).unwrap_or_default(),
            header: Header {
                msg_id: uuid::Uuid::new_v4().to_string(),
                username: "runbook".to_string(),
                session,
                date: chrono::Utc::now(),
                msg_type: msg_type.to_string(),
                version: "5.3".to_string(),
            },
            parent_header: parent.map(|p| p.header.clone()),
            metadata: Value::Object(Map::new()),
            content,
            buffers: Vec::new(),
        }
    }

    /// Converts to the crate's message type so its connection can sign and frame it.
    pub(crate) fn into_jupyter(self) -> JupyterMessage {
        JupyterMessage {
            zmq_identities: self.identities,
            header: self.header.clone(),
            parent_header: self.parent_header,
            metadata: self.metadata,
            content: JupyterMessageContent::UnknownMessage(UnknownMessage {
                msg_type: self.header.msg_type,
                content: self.content,
            }),
            buffers: self.buffers,
            channel: None,
        }
    }
}

/// Reads a header without insisting on every field: clients differ in what they send.
fn header_from_value(value: &Value) -> Option<Header> {
    let obj = value.as_object()?;
    let text = |key: &str| obj.get(key).and_then(Value::as_str).map(str::to_string);
    let msg_type = text("msg_type")?;
    let date = text("date")
        .and_then(|d| chrono::DateTime::parse_from_rfc3339(&d).ok())
        .map(|d| d.with_timezone(&chrono::Utc))
        .unwrap_or_else(chrono::Utc::now);
    Some(Header {
        msg_id: text("msg_id").unwrap_or_default(),
        username: text("username").unwrap_or_default(),
        session: text("session").unwrap_or_default(),
        date,
        msg_type,
        version: text("version").unwrap_or_else(|| "5.3".to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(header: &str, content: &str) -> Vec<Bytes> {
        vec![
            Bytes::from(header.to_string()),
            Bytes::from_static(b"{}"),
            Bytes::from_static(b"{}"),
            Bytes::from(content.to_string()),
        ]
    }

    #[test]
    fn header_without_date_or_username_is_accepted() {
        let msg = Message::from_parts(
            vec![],
            &frames(
                r#"{"msg_id":"1","session":"s","msg_type":"execute_request"}"#,
                r#"{"code":"1"}"#,
            ),
        )
        .unwrap();
        assert_eq!(msg.msg_type(), "execute_request");
        assert!(msg.parent_header.is_none());
        assert_eq!(msg.content["code"], "1");
    }

    #[test]
    fn unparseable_content_is_an_error_naming_the_part() {
        let err = Message::from_parts(vec![], &frames(r#"{"msg_type":"x"}"#, "{nope")).unwrap_err();
        assert!(err.to_string().contains("content"), "{err}");
    }

    #[test]
    fn child_carries_parent_header_session_and_identities() {
        let parent = Message::from_parts(
            vec![Bytes::from_static(b"peer")],
            &frames(
                r#"{"msg_id":"abc","session":"sess","msg_type":"kernel_info_request"}"#,
                "{}",
            ),
        )
        .unwrap();
        let reply = parent.child("kernel_info_reply", serde_json::json!({"status":"ok"}));
        assert_eq!(reply.parent_header.as_ref().unwrap().msg_id, "abc");
        assert_eq!(reply.header.session, "sess");
        assert_eq!(reply.identities, vec![Bytes::from_static(b"peer")]);
        let wire = reply.into_jupyter();
        let content = serde_json::to_value(&wire.content).unwrap();
        assert_eq!(content, serde_json::json!({"status":"ok"}));
        assert_eq!(wire.header.msg_type, "kernel_info_reply");
    }
}
