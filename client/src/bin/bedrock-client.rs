//! `bedrock-client`: the client's command line (the work is in
//! [`bedrock_client::cli`], so the scenario runner can run it in-process).

use std::process::ExitCode;

use bedrock_client::cli::{self, Cli, Console, Environment, Exit};
use bedrock_client::clock::SystemClock;
use bedrock_client::config::Sources;
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("bedrock-client: could not start the network runtime: {e}");
            return Exit::Failed.into();
        }
    };
    let sources = Sources::from_process();
    let explain = cli::explains(
        &cli,
        sources.env.get(cli::EXPLAIN_VARIABLE).map(String::as_str),
    );
    let env = Environment::new(sources, Console::process(), SystemClock::default());
    let ended = runtime.block_on(async {
        tokio::select! {
            outcome = cli::run(&cli, &env) => Ok(outcome.exit),
            signal = interrupted() => Err(signal),
        }
    });
    let exit = match ended {
        Ok(exit) => exit.into(),
        Err((name, status)) => {
            // The refresh and export commands run in process groups of
            // their own, out of the terminal's reach: stop them here.
            bedrock_client::cli::stop_running_commands();
            // `claude -p` says nothing (conformance's sigterm-mid-turn).
            if explain {
                eprintln!("bedrock-client: stopped by {name}; the answer was not printed");
            }
            ExitCode::from(status)
        }
    };
    // A command's reader thread may still be waiting on a pipe that
    // something it started holds: do not wait for it.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    exit
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM with the signal's name and the
/// exit status a shell gives for it (128 + its number).
async fn interrupted() -> (&'static str, u8) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                () = ctrl_c() => return ("Ctrl-C", 130),
                _ = term.recv() => return ("SIGTERM", 143),
            }
        }
    }
    ctrl_c().await;
    ("Ctrl-C", 130)
}

/// Ctrl-C; never, where its handler cannot be installed (the run must
/// not end as if interrupted).
async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}
