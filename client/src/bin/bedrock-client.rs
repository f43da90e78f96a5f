//! `bedrock-client`: the client's command line (the work is in
//! [`bedrock_client::cli`], so the scenario runner can run it in-process).

use std::process::ExitCode;

use bedrock_client::cli::{self, Cli, Console, Environment};
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
            return ExitCode::from(1);
        }
    };
    let env = Environment::new(
        Sources::from_process(),
        Console::process(),
        SystemClock::default(),
    );
    ExitCode::from(runtime.block_on(cli::run(&cli, &env)).exit)
}
