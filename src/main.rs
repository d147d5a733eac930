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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUNBOOK_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Kernel { connection_file } => run_kernel(connection_file),
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

fn run_kernel(connection_file: PathBuf) -> anyhow::Result<()> {
    let info = Sockets::read_connection_file(&connection_file)?;
    // jupyter_server names the notebook in JPY_SESSION_NAME; other clients do not.
    let notebook = std::env::var("JPY_SESSION_NAME").ok().filter(|s| !s.is_empty());
    let executor = Arc::new(
        Executor::new()
            .context("cannot start the action runtime")?
            .with_observer(Arc::new(audit::Log::new(audit::Log::default_path()?)))
            .with_run(audit::RunInfo::new(notebook, None)),
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
