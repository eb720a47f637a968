//! rrun's entry point: parse the command line, configure the log, run the
//! command, print the error chain once and choose the exit status.

use std::io::Write;

use clap::Parser;
use rrun::cli::{self, Cli};
use rrun::logging;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // exec sends a process into a running container: run it from a
    // read-only binary, re-executed before the full parse (which the new
    // image repeats). subcommand_in skips every global flag's value. create
    // and run decide once the plan is known (reexec::protect_init).
    if cli::subcommand_in(args.get(1..).unwrap_or_default()) == Some("exec") {
        rrun::reexec::ensure_readonly_self();
    }
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    rrun::testpoint::init();
    if cli.version {
        let _ = std::io::stdout().write_all(cli::version_text().as_bytes());
        return;
    }
    let format = match cli.log_format.as_str() {
        "text" => logging::Format::Text,
        "json" => logging::Format::Json,
        other => {
            eprintln!("invalid log-format: {other}");
            std::process::exit(1);
        }
    };
    if let Err(e) = logging::init(cli.log.as_deref(), format, cli.debug) {
        eprintln!("open log file: {e}");
        std::process::exit(1);
    }
    match cli::dispatch(&cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            let msg = format!("{}: {e}", cli.context());
            logging::error(&msg);
            if logging::to_file() {
                eprintln!("{msg}");
            }
            std::process::exit(1);
        }
    }
}
