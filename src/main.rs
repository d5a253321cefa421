//! `chatd` binary: command line -> configuration -> logging -> event loop.
//!
//! Start-up problems (bad flag, bad config, an address that cannot be bound)
//! are one line on stderr and exit status 2, with no log line before them.

use chatd::config::{self, Action};
use chatd::server::Server;
use std::process::ExitCode;

fn main() -> ExitCode {
    // args_os: std::env::args panics on an argument that is not UTF-8.
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let config = match config::from_args(&args) {
        Ok(Action::Run(c)) => *c,
        Ok(Action::Help(text)) => {
            print!("{text}");
            return ExitCode::SUCCESS;
        }
        Ok(Action::Version(text)) => {
            println!("{text}");
            return ExitCode::SUCCESS;
        }
        Err(e) => return fail(&e),
    };
    let mut server = match Server::bind(config) {
        Ok(s) => s,
        Err(e) => return fail(&e.0),
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    match server.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("event loop failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One clear line on stderr, exit status 2.
fn fail(message: &str) -> ExitCode {
    eprintln!("chatd: {}", config::one_line(message));
    ExitCode::from(2)
}
