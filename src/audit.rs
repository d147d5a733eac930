//! The audit trail: every action call, real or planned, recorded before it starts and
//! when it ends, in an embedded SQLite database.
//!
//! Each record is its own committed statement (WAL journal, `synchronous=FULL`), so a
//! crash loses no completed record and leaves the in-flight one with status `started`.
//! This module knows nothing of Rhai or Jupyter; the executor reports calls to any
//! [`Observer`], of which [`Log`] is the durable one.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, params};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(
        "cannot open the audit log {path}: {source}; set RUNBOOK_AUDIT_DB (or --audit-db) to a writable file"
    )]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error(
        "cannot create the audit log's directory {path}: {source}; set RUNBOOK_AUDIT_DB (or --audit-db) to a writable file"
    )]
    Dir { path: PathBuf, source: std::io::Error },
    #[error(
        "cannot write the audit log {path}: {source}; set RUNBOOK_AUDIT_DB (or --audit-db) to a writable file"
    )]
    Write { path: PathBuf, source: rusqlite::Error },
    #[error("cannot read the audit log {path}: {source}")]
    Read { path: PathBuf, source: rusqlite::Error },
    #[error("no data directory for this user; set RUNBOOK_AUDIT_DB to the audit log's path")]
    NoDataDir,
    #[error("the audit log is unavailable: {0}")]
    Unavailable(String),
}

/// What a run knows about itself; copied into every record.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunInfo {
    pub run_id: String,
    pub os_user: String,
    pub notebook_path: Option<String>,
    pub notebook_hash: Option<String>,
    /// Parameter values, secrets masked.
    pub parameters: Value,
    /// The AWS identity, once a call has revealed it.
    pub caller_arn: Option<String>,
}

impl RunInfo {
    pub fn new(notebook_path: Option<String>, notebook_hash: Option<String>) -> RunInfo {
        RunInfo {
            run_id: uuid::Uuid::new_v4().to_string(),
            os_user: os_user(),
            notebook_path,
            notebook_hash,
            parameters: Value::Object(Default::default()),
            caller_arn: None,
        }
    }
}

/// The OS user: `$USER`/`$LOGNAME`, else the name of this process's uid in /etc/passwd.
fn os_user() -> String {
    if let Ok(name) = std::env::var("USER").or_else(|_| std::env::var("LOGNAME"))
        && !name.is_empty()
    {
        return name;
    }
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else {
        return "unknown".into();
    };
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|passwd| {
            passwd.lines().find_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                (fields.get(2) == Some(&uid.to_string().as_str())).then(|| fields[0].to_string())
            })
        })
        .unwrap_or_else(|| format!("uid {uid}"))
}

/// A call about to start.
#[derive(Debug, Clone, Serialize)]
pub struct CallStart {
    pub call_id: String,
    pub run: RunInfo,
    pub action: String,
    /// `apply` or `plan`.
    pub mode: &'static str,
    pub mutates: bool,
    /// Inputs with secrets masked.
    pub inputs: Value,
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// The `@once` key of the cell that made the call, if it has one.
    pub once_key: Option<String>,
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Changed,
    Unchanged,
    Error,
    Planned,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Changed => "changed",
            Status::Unchanged => "unchanged",
            Status::Error => "error",
            Status::Planned => "planned",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CallEnd {
    pub status: Status,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub duration_ms: u64,
    pub caller_arn: Option<String>,
}

/// Told about every call. `started` failing stops the call before it runs.
pub trait Observer: Send + Sync {
    fn started(&self, call: &CallStart) -> Result<(), AuditError>;
    fn finished(&self, call: &CallStart, end: &CallEnd) -> Result<(), AuditError>;
    /// When `action` last succeeded for real with this `@once` key, if it has: the
    /// start time and run id. Observers that keep no history know nothing.
    fn done_once(&self, _action: &str, _key: &str) -> Result<Option<(String, String)>, AuditError> {
        Ok(None)
    }
}

/// The SQLite audit log, opened on first use.
pub struct Log {
    path: PathBuf,
    conn: Mutex<Option<Connection>>,
    /// Why there is no log (no data directory); every write fails with this.
    unavailable: Option<String>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS calls (
    id            TEXT PRIMARY KEY,
    run_id        TEXT NOT NULL,
    started_at    TEXT NOT NULL,
    ended_at      TEXT,
    os_user       TEXT NOT NULL,
    caller_arn    TEXT,
    notebook_path TEXT,
    notebook_hash TEXT,
    parameters    TEXT NOT NULL,
    action        TEXT NOT NULL,
    mode          TEXT NOT NULL,
    mutates       INTEGER NOT NULL,
    inputs        TEXT NOT NULL,
    status        TEXT NOT NULL,
    error_code    TEXT,
    error         TEXT,
    duration_ms   INTEGER
);
-- once_key is added below for logs written before @once existed.
CREATE INDEX IF NOT EXISTS calls_run ON calls(run_id);
CREATE INDEX IF NOT EXISTS calls_started ON calls(started_at);
";

impl Log {
    /// `RUNBOOK_AUDIT_DB`, else `<data dir>/runbook/audit.sqlite3`.
    pub fn default_path() -> Result<PathBuf, AuditError> {
        if let Some(p) = std::env::var_os("RUNBOOK_AUDIT_DB") {
            return Ok(PathBuf::from(p));
        }
        Ok(dirs::data_dir()
            .ok_or(AuditError::NoDataDir)?
            .join("runbook")
            .join("audit.sqlite3"))
    }

    pub fn new(path: PathBuf) -> Log {
        Log {
            path,
            conn: Mutex::new(None),
            unavailable: None,
        }
    }

    /// A log that cannot be written, for a process that must start anyway (the kernel):
    /// actions then refuse to run, saying `reason`.
    pub fn unavailable(reason: String) -> Log {
        Log {
            path: PathBuf::new(),
            conn: Mutex::new(None),
            unavailable: Some(reason),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> Result<T, AuditError>) -> Result<T, AuditError> {
        if let Some(reason) = &self.unavailable {
            return Err(AuditError::Unavailable(reason.clone()));
        }
        let mut guard = self.conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.is_none() {
            *guard = Some(self.open()?);
        }
        match guard.as_ref() {
            Some(conn) => f(conn),
            None => Err(AuditError::NoDataDir),
        }
    }

    fn open(&self) -> Result<Connection, AuditError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| AuditError::Dir {
                path: dir.into(),
                source,
            })?;
        }
        let err = |source| AuditError::Open {
            path: self.path.clone(),
            source,
        };
        let created = !self.path.exists();
        let conn = Connection::open(&self.path).map_err(err)?;
        if created {
            // Inputs and parameters are masked, but who did what to whom is nobody else's business.
            use std::os::unix::fs::PermissionsExt;
            if let Err(e) = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o600)) {
                tracing::warn!("cannot restrict {} to its owner: {e}", self.path.display());
            }
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(err)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(err)?;
        conn.pragma_update(None, "synchronous", "FULL").map_err(err)?;
        conn.execute_batch(SCHEMA).map_err(err)?;
        let has_once: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('calls') WHERE name = 'once_key'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(err)?
            > 0;
        if !has_once {
            conn.execute_batch("ALTER TABLE calls ADD COLUMN once_key TEXT")
                .map_err(err)?;
        }
        Ok(conn)
    }

    /// Records matching `filter`, oldest first.
    pub fn query(&self, filter: &Filter) -> Result<Vec<Record>, AuditError> {
        let read = |source| AuditError::Read {
            path: self.path.clone(),
            source,
        };
        // Reading never writes: no schema, no journal-mode change, no file created.
        if let Some(reason) = &self.unavailable {
            return Err(AuditError::Unavailable(reason.clone()));
        }
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(&self.path, flags).map_err(read)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(read)?;
        {
            let conn = &conn;
            let mut stmt = conn
                .prepare(
                    "SELECT id, run_id, started_at, ended_at, os_user, caller_arn, notebook_path, notebook_hash,
                            parameters, action, mode, mutates, inputs, status, error_code, error, duration_ms
                     FROM calls
                     WHERE (?1 IS NULL OR substr(run_id, 1, length(?1)) = ?1) AND (?2 IS NULL OR os_user = ?2)
                       AND (?3 IS NULL OR action = ?3 OR substr(action, -length(?3) - 1) = '.' || ?3)
                       AND (?4 IS NULL OR started_at >= ?4)
                       AND (?5 IS NULL OR lower(json_extract(inputs, '$.user_name')) = lower(?5))
                     ORDER BY started_at, rowid",
                )
                .map_err(read)?;
            let rows = stmt
                .query_map(
                    params![
                        filter.run,
                        filter.user,
                        filter.action,
                        filter.since,
                        filter.target
                    ],
                    |r| {
                        let json = |i: usize| -> rusqlite::Result<Value> {
                            let text: String = r.get(i)?;
                            Ok(serde_json::from_str(&text).unwrap_or(Value::Null))
                        };
                        Ok(Record {
                            id: r.get(0)?,
                            run_id: r.get(1)?,
                            started_at: r.get(2)?,
                            ended_at: r.get(3)?,
                            os_user: r.get(4)?,
                            caller_arn: r.get(5)?,
                            notebook_path: r.get(6)?,
                            notebook_hash: r.get(7)?,
                            parameters: json(8)?,
                            action: r.get(9)?,
                            mode: r.get(10)?,
                            mutates: r.get::<_, i64>(11)? != 0,
                            inputs: json(12)?,
                            status: r.get(13)?,
                            error_code: r.get(14)?,
                            error: r.get(15)?,
                            duration_ms: r.get(16)?,
                        })
                    },
                )
                .map_err(read)?;
            rows.collect::<Result<Vec<_>, _>>().map_err(read)
        }
    }
}

impl Observer for Log {
    fn started(&self, call: &CallStart) -> Result<(), AuditError> {
        let write = |source| AuditError::Write {
            path: self.path.clone(),
            source,
        };
        self.with_conn(|conn| {
            conn.execute(
                "INSERT INTO calls (id, run_id, started_at, os_user, caller_arn, notebook_path, notebook_hash,
                                    parameters, action, mode, mutates, inputs, status, once_key)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 'started', ?13)",
                params![
                    call.call_id,
                    call.run.run_id,
                    call.started_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    call.run.os_user,
                    call.run.caller_arn,
                    call.run.notebook_path,
                    call.run.notebook_hash,
                    call.run.parameters.to_string(),
                    call.action,
                    call.mode,
                    call.mutates,
                    call.inputs.to_string(),
                    call.once_key,
                ],
            )
            .map(|_| ())
            .map_err(write)
        })
    }

    fn finished(&self, call: &CallStart, end: &CallEnd) -> Result<(), AuditError> {
        let write = |source| AuditError::Write {
            path: self.path.clone(),
            source,
        };
        self.with_conn(|conn| {
            conn.execute(
                "UPDATE calls SET ended_at = ?2, status = ?3, error_code = ?4, error = ?5, duration_ms = ?6,
                                  caller_arn = COALESCE(?7, caller_arn)
                 WHERE id = ?1",
                params![
                    call.call_id,
                    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    end.status.as_str(),
                    end.error_code,
                    end.error,
                    end.duration_ms as i64,
                    end.caller_arn,
                ],
            )
            .map(|_| ())
            .map_err(write)
        })
    }

    fn done_once(&self, action: &str, key: &str) -> Result<Option<(String, String)>, AuditError> {
        let read = |source| AuditError::Read {
            path: self.path.clone(),
            source,
        };
        self.with_conn(|conn| {
            conn.query_row(
                "SELECT started_at, run_id FROM calls
                 WHERE action = ?1 AND once_key = ?2 AND mode = 'apply'
                   AND status IN ('ok', 'changed', 'unchanged')
                 ORDER BY started_at DESC LIMIT 1",
                params![action, key],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(read(e)),
            })
        })
    }
}

/// Which records `runbook audit` shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// A run id, or its first characters (as the table shows them).
    pub run: Option<String>,
    /// The OS user who ran the call.
    pub user: Option<String>,
    /// The IAM user a call acted on (its `user_name` input).
    pub target: Option<String>,
    /// A full action name, or its last part (`create_user`).
    pub action: Option<String>,
    /// RFC 3339 time; records that started at or after it.
    pub since: Option<String>,
}

/// One stored record.
#[derive(Debug, Clone, Serialize)]
pub struct Record {
    pub id: String,
    pub run_id: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub os_user: String,
    pub caller_arn: Option<String>,
    pub notebook_path: Option<String>,
    pub notebook_hash: Option<String>,
    pub parameters: Value,
    pub action: String,
    pub mode: String,
    pub mutates: bool,
    pub inputs: Value,
    pub status: String,
    pub error_code: Option<String>,
    pub error: Option<String>,
    pub duration_ms: Option<i64>,
}

/// Records as an aligned table for the terminal.
pub fn table(records: &[Record]) -> String {
    if records.is_empty() {
        return "No audit records match.\n".into();
    }
    let rows: Vec<[String; 7]> = records
        .iter()
        .map(|r| {
            [
                r.started_at.clone(),
                r.os_user.clone(),
                r.action.clone(),
                r.mode.clone(),
                match &r.error_code {
                    Some(code) => format!("{} ({code})", r.status),
                    None => r.status.clone(),
                },
                r.duration_ms.map_or("-".into(), |d| format!("{d}ms")),
                r.run_id.chars().take(8).collect(),
            ]
        })
        .collect();
    let head = ["started", "user", "action", "mode", "outcome", "duration", "run"];
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([head[i].len()])
            .max()
            .unwrap_or(0)
    };
    let w: Vec<usize> = (0..7).map(width).collect();
    let line = |r: [&str; 7]| {
        let mut s = String::new();
        for (i, cell) in r.iter().enumerate() {
            s.push_str(&format!("{:<w$}  ", cell, w = w[i]));
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(head);
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4], &r[5], &r[6]]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn start(run: &RunInfo, action: &str) -> CallStart {
        CallStart {
            call_id: uuid::Uuid::new_v4().to_string(),
            run: run.clone(),
            action: action.into(),
            mode: "apply",
            mutates: true,
            inputs: json!({"user_name": "alice"}),
            started_at: chrono::Utc::now(),
            once_key: None,
        }
    }

    #[test]
    fn a_started_call_is_on_disk_before_it_ends() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/audit.db");
        let log = Log::new(path.clone());
        let run = RunInfo::new(Some("nb.ipynb".into()), Some("abc".into()));
        let call = start(&run, "aws.iam.create_user");
        log.started(&call).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A second, independent connection sees it: nothing is held back in memory.
        let other = Log::new(path);
        let records = other.query(&Filter::default()).unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].status, "started");
        assert_eq!(records[0].ended_at, None);
        let end = CallEnd {
            status: Status::Changed,
            error_code: None,
            error: None,
            duration_ms: 12,
            caller_arn: Some("arn:x".into()),
        };
        log.finished(&call, &end).unwrap();
        let records = other.query(&Filter::default()).unwrap();
        assert_eq!(records[0].status, "changed");
        assert_eq!(records[0].caller_arn.as_deref(), Some("arn:x"));
        assert_eq!(records[0].inputs, json!({"user_name": "alice"}));
    }

    #[test]
    fn filters_select_by_run_user_action_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let log = Log::new(dir.path().join("audit.db"));
        let r1 = RunInfo::new(None, None);
        let r2 = RunInfo {
            os_user: "bob".into(),
            ..RunInfo::new(None, None)
        };
        log.started(&start(&r1, "aws.iam.create_user")).unwrap();
        log.started(&start(&r2, "slack.post_message")).unwrap();
        let by = |f: Filter| log.query(&f).unwrap().len();
        assert_eq!(
            by(Filter {
                run: Some(r1.run_id.clone()),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            by(Filter {
                user: Some("bob".into()),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            by(Filter {
                action: Some("slack.post_message".into()),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            by(Filter {
                since: Some("2999-01-01T00:00:00Z".into()),
                ..Default::default()
            }),
            0
        );
        // The table shows run ids shortened; a prefix selects the run.
        assert_eq!(
            by(Filter {
                run: Some(r2.run_id[..8].to_string()),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            by(Filter {
                action: Some("create_user".into()),
                ..Default::default()
            }),
            1
        );
        assert_eq!(
            by(Filter {
                action: Some("user".into()),
                ..Default::default()
            }),
            0
        );
        assert_eq!(
            by(Filter {
                target: Some("alice".into()),
                ..Default::default()
            }),
            2
        );
        assert_eq!(
            by(Filter {
                target: Some("bob".into()),
                ..Default::default()
            }),
            0
        );
    }

    #[test]
    fn unwritable_location_names_the_path_and_the_fix() {
        let log = Log::new(PathBuf::from("/proc/no/such/dir/audit.db"));
        let err = log.query(&Filter::default()).unwrap_err().to_string();
        assert!(err.contains("/proc/no/such/dir"), "{err}");
    }
}
