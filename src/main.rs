//! The `hoptrace` binary: parse arguments, run one command, turn the outcome into an exit code.

use clap::Parser;
use hoptrace::cli;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("hoptrace: error: {e}");
            ExitCode::from(e.code)
        }
    }
}
