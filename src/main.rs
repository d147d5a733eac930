//! The `runbook` command: the Jupyter kernel and its installer.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use runbook::actions::Executor;
use runbook::audit;
use runbook::interpreter::{Limits, RhaiInterpreter};
use runbook::jupyter::Sockets;
use runbook::kernelspec::{self, Location};
use runbook::runner;

#[derive(Parser)]
#[command(
    name = "runbook",
    version,
    about = "A Jupyter kernel for operational runbooks (Rhai cells, AWS and Slack actions, typed parameters)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a notebook top to bottom without Jupyter, writing an output notebook.
    #[command(
        after_help = "Exit codes:\n  0    every cell succeeded\n  1    a cell failed (its error is shown with the cell number and source line)\n  2    usage or parameter error (nothing ran)\n  3    dry run only: the plan predicts that a step would fail (nothing was changed)\n  130  interrupted with Ctrl-C or SIGTERM (the current cell was stopped; the output notebook was written)"
    )]
    Run {
        /// The notebook to run.
        notebook: PathBuf,
        /// A parameter value, typed by the notebook's declaration (repeatable).
        #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
        /// Parameter values from a YAML or JSON file (-p values override them).
        #[arg(short = 'f', long = "params-file", value_name = "FILE")]
        params_file: Option<PathBuf>,
        /// Output notebook (default: NAME.out.ipynb next to the input; NAME.plan.ipynb for --dry-run).
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
        /// Plan: run read-only actions, check and record mutating ones without calling them.
        #[arg(long)]
        dry_run: bool,
        /// Print a machine-readable summary on stdout instead of the table.
        #[arg(long)]
        json: bool,
        /// The audit database (default: $RUNBOOK_AUDIT_DB or the user's data dir).
        #[arg(long, value_name = "FILE")]
        audit_db: Option<PathBuf>,
    },
    /// List audit records of action calls.
    Audit {
        /// Only this run.
        #[arg(long)]
        run: Option<String>,
        /// Only calls made by this OS user (who ran the runbook).
        #[arg(long)]
        user: Option<String>,
        /// Only calls that acted on this IAM user (their `user_name` input).
        #[arg(long, value_name = "IAM_USER")]
        target: Option<String>,
        /// Only this action (full name, or its last part: create_user).
        #[arg(long)]
        action: Option<String>,
        /// Only calls since this time (RFC 3339, a date, or e.g. 2h, 3d).
        #[arg(long)]
        since: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// The audit database (default: $RUNBOOK_AUDIT_DB or the user's data dir).
        #[arg(long, value_name = "FILE")]
        audit_db: Option<PathBuf>,
    },
    /// List the actions, or show one: inputs, output, whether it mutates, IAM permissions.
    Actions {
        #[command(subcommand)]
        show: Option<ActionsCommand>,
    },
    /// Run the kernel (what Jupyter starts from kernel.json).
    Kernel {
        /// The connection file Jupyter wrote for this kernel.
        #[arg(long, short = 'f')]
        connection_file: PathBuf,
    },
    /// Install the kernelspec so Jupyter, papermill and nbclient can find the kernel.
    Install {
        /// Install for this user (the default): ~/.local/share/jupyter/kernels or $JUPYTER_DATA_DIR.
        #[arg(long, conflicts_with_all = ["sys_prefix", "prefix"])]
        user: bool,
        /// Install into the active Python environment ($VIRTUAL_ENV or $CONDA_PREFIX).
        #[arg(long, conflicts_with = "prefix")]
        sys_prefix: bool,
        /// Install under DIR/share/jupyter/kernels.
        #[arg(long, value_name = "DIR")]
        prefix: Option<PathBuf>,
        /// Kernelspec name.
        #[arg(long, default_value = "runbook")]
        name: String,
    },
}

#[derive(Subcommand)]
enum ActionsCommand {
    /// Show one action in full.
    Show { name: String },
}

fn main() -> std::process::ExitCode {
    // Errors are shown as one readable line (with their causes), never as a Debug dump
    // or a backtrace, whatever RUST_BACKTRACE says.
    match run_cli() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run_cli() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUNBOOK_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Kernel { connection_file } => run_kernel(connection_file),
        Command::Run {
            notebook,
            params,
            params_file,
            output,
            dry_run,
            json,
            audit_db,
        } => {
            let opts = runner::Options {
                notebook,
                params,
                params_file,
                output,
                dry_run,
                json,
                audit_db,
            };
            std::process::exit(run_notebook(&opts))
        }
        Command::Audit {
            run,
            user,
            target,
            action,
            since,
            json,
            audit_db,
        } => {
            let since = since.map(|s| parse_since(&s)).transpose()?;
            let path = match audit_db {
                Some(p) => p,
                None => audit::Log::default_path()?,
            };
            // Reading must not create an empty log where a path was mistyped.
            if !path.exists() {
                anyhow::bail!(
                    "no audit log at {}: nothing has been recorded there (set RUNBOOK_AUDIT_DB or --audit-db to the log your runs write)",
                    path.display()
                );
            }
            let records = audit::Log::new(path).query(&audit::Filter {
                run,
                user,
                target,
                action,
                since,
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&records)?);
            } else {
                print!("{}", runbook::audit::table(&records));
            }
            Ok(())
        }
        Command::Actions { show } => {
            let executor = Executor::new().context("cannot start the action runtime")?;
            match show {
                None => {
                    let width = executor.specs().map(|s| s.name.len()).max().unwrap_or(0);
                    for spec in executor.specs() {
                        let m = if spec.mutates { "mutates" } else { "read-only" };
                        println!("{:<width$}  {:<9}  {}", spec.name, m, spec.summary);
                    }
                }
                Some(ActionsCommand::Show { name }) => match executor.spec(&name) {
                    Some(spec) => print!("{}", spec.help()),
                    None => {
                        let suggestions = runbook::actions::nearest(&name, executor.specs().map(|s| s.name));
                        anyhow::bail!(
                            "unknown action `{name}`{}; `runbook actions` lists them",
                            if suggestions.is_empty() {
                                String::new()
                            } else {
                                format!(" (did you mean {}?)", suggestions.join(", "))
                            }
                        );
                    }
                },
            }
            Ok(())
        }
        Command::Install {
            user: _,
            sys_prefix,
            prefix,
            name,
        } => {
            let location = match (sys_prefix, prefix) {
                (true, _) => Location::SysPrefix,
                (false, Some(p)) => Location::Prefix(p),
                (false, None) => Location::User,
            };
            let dir = kernelspec::install(&location, &name)?;
            println!("Installed kernelspec {name} in {}", dir.display());
            Ok(())
        }
    }
}

fn run_notebook(opts: &runner::Options) -> i32 {
    let interrupted = runner::interrupt_on_ctrl_c();
    match runner::run(opts, interrupted) {
        Ok(summary) => {
            if opts.json {
                println!("{}", serde_json::to_string_pretty(&summary).unwrap_or_default());
            } else {
                eprint!("{}", runner::render(&summary));
            }
            summary.exit_code
        }
        Err(e) => {
            eprintln!("error: {e}");
            e.exit_code()
        }
    }
}

/// `--since`: RFC 3339, a date (YYYY-MM-DD), or a duration ago (30m, 2h, 3d).
fn parse_since(text: &str) -> anyhow::Result<String> {
    use chrono::{NaiveDate, SecondsFormat, Utc};
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc).to_rfc3339_opts(SecondsFormat::Millis, true));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let t = d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).context("bad date")?;
        return Ok(t.to_rfc3339_opts(SecondsFormat::Millis, true));
    }
    let (num, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = num.parse().with_context(|| {
        format!("--since {text}: use RFC 3339, YYYY-MM-DD, or a duration like 30m, 2h, 3d")
    })?;
    let secs = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86400),
        _ => anyhow::bail!("--since {text}: use RFC 3339, YYYY-MM-DD, or a duration like 30m, 2h, 3d"),
    }
    .with_context(|| format!("--since {text} reaches too far back"))?;
    let ago = chrono::Duration::try_seconds(secs)
        .and_then(|d| Utc::now().checked_sub_signed(d))
        .with_context(|| format!("--since {text} reaches too far back"))?;
    Ok(ago.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn run_kernel(connection_file: PathBuf) -> anyhow::Result<()> {
    let info = Sockets::read_connection_file(&connection_file)?;
    // jupyter_server names the notebook in JPY_SESSION_NAME; other clients do not.
    let notebook = std::env::var("JPY_SESSION_NAME").ok().filter(|s| !s.is_empty());
    // It is relative to the server's root; the kernel runs in the notebook's folder.
    let hash = notebook.as_deref().and_then(|name| {
        let path = std::path::Path::new(name);
        let candidates = [
            path.to_path_buf(),
            path.file_name().map(PathBuf::from).unwrap_or_default(),
        ];
        candidates
            .iter()
            .find_map(|p| std::fs::read(p).ok())
            .map(|bytes| {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(&bytes))
            })
    });
    let executor = Arc::new(
        Executor::new()
            .context("cannot start the action runtime")?
            .with_observer(Arc::new(match audit::Log::default_path() {
                Ok(path) => audit::Log::new(path),
                // The kernel still starts; action calls fail with this reason until fixed.
                Err(e) => audit::Log::unavailable(e.to_string()),
            }))
            .with_run(audit::RunInfo::new(notebook, hash)),
    );
    let interpreter = RhaiInterpreter::new(executor, &Limits::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let sockets = Sockets::bind(info).await?;
        runbook::kernel::serve(sockets, interpreter).await?;
        anyhow::Ok(())
    })?;
    // The interpreter thread may still be inside a cell; exiting ends it.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    std::process::exit(0)
}
