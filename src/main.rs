//! rrun's entry point: parse the command line, configure the log, run the
//! command, print the error chain once and choose the exit status.
//!
//! The C runtime calls `main` here directly: std's own start-up is skipped.
//! It would read /proc/self/maps for the main thread's stack guard and set
//! up a stack-overflow handler on an alternate stack (16 system calls on
//! every invocation); `sys::standard_start` keeps the two parts rrun relies
//! on (docs/performance.md).
// Only with glibc, which hands argv to std without std's start-up (musl
// does not); a test build keeps std's entry point for its harness.
#![cfg_attr(all(not(test), target_env = "gnu"), no_main)]

use std::io::Write;

use rrun::cli;
use rrun::logging;

#[cfg(all(not(test), target_env = "gnu"))]
#[no_mangle]
extern "C" fn main(_argc: libc::c_int, _argv: *const *const libc::c_char) -> libc::c_int {
    start()
}

/// std's entry point, where the C one cannot serve.
#[cfg(any(test, not(target_env = "gnu")))]
#[cfg_attr(test, allow(dead_code))]
fn main() {
    start()
}

fn start() -> ! {
    rrun::sys::standard_start();
    // std::process::exit flushes stdout (`state` ends without a newline).
    std::process::exit(rrun_main())
}

fn rrun_main() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // exec sends a process into a running container: run it from a
    // read-only binary, re-executed before the full parse (which the new
    // image repeats). subcommand_in skips every global flag's value. create
    // and run decide once the plan is known (reexec::protect_init).
    if cli::subcommand_in(args.get(1..).unwrap_or_default()) == Some("exec") {
        rrun::reexec::ensure_readonly_self();
    }
    let cli = match cli::parse(&args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 1 } else { 0 };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    rrun::testpoint::init();
    if cli.flags.version {
        let _ = std::io::stdout().write_all(cli::version_text().as_bytes());
        return 0;
    }
    let format = match cli.flags.log_format.as_str() {
        "text" => logging::Format::Text,
        "json" => logging::Format::Json,
        other => {
            eprintln!("invalid log-format: {other}");
            std::process::exit(1);
        }
    };
    if let Err(e) = logging::init(cli.flags.log.as_deref(), format, cli.flags.debug) {
        eprintln!("open log file: {e}");
        std::process::exit(1);
    }
    match cli::dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            let msg = format!("{}: {e}", cli.context());
            logging::error(&msg);
            if logging::to_file() {
                eprintln!("{msg}");
            }
            1
        }
    }
}
