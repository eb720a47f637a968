//! rrun's log: runc's --log, --log-format text|json and --debug. JSON lines
//! carry lower-case "level", "msg" and "time" (containerd's shim reads the
//! last "level":"error" line's msg); text lines are logrus-style
//! `time="..." level=error msg="..."`. Without --log, lines go to stderr.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Debug,
    Info,
    Warning,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

struct Logger {
    file: Option<File>,
    format: Format,
    min: Level,
}

thread_local! {
    static LOGGER: RefCell<Logger> = const { RefCell::new(Logger { file: None, format: Format::Text, min: Level::Info }) };
}

/// Configure the log once, from the global flags.
pub fn init(path: Option<&Path>, format: Format, debug: bool) -> std::io::Result<()> {
    let file = match path {
        Some(p) => Some(
            OpenOptions::new()
                .create(true)
                .append(true)
                .custom_flags(libc::O_CLOEXEC)
                .mode(0o644)
                .open(p)?,
        ),
        None => None,
    };
    LOGGER.with(|l| {
        let mut l = l.borrow_mut();
        l.file = file;
        l.format = format;
        l.min = if debug { Level::Debug } else { Level::Info };
    });
    Ok(())
}

/// Does the log go to a file (so stderr also needs the plain error)?
pub fn to_file() -> bool {
    LOGGER.with(|l| l.borrow().file.is_some())
}

fn line(format: Format, level: Level, msg: &str) -> String {
    let time = crate::clock::now_secs();
    match format {
        Format::Json => {
            let v = serde_json::json!({"level": level.name(), "msg": msg, "time": time});
            format!("{v}\n")
        }
        Format::Text => {
            let quoted = serde_json::to_string(msg).unwrap_or_else(|_| format!("{msg:?}"));
            format!("time=\"{time}\" level={} msg={quoted}\n", level.name())
        }
    }
}

pub fn log(level: Level, msg: &str) {
    LOGGER.with(|l| {
        let mut l = l.borrow_mut();
        if level < l.min {
            return;
        }
        let text = line(l.format, level, msg);
        match l.file.as_mut() {
            Some(f) => {
                let _ = f.write_all(text.as_bytes());
            }
            None => {
                let _ = std::io::stderr().write_all(text.as_bytes());
            }
        }
    });
}

pub fn debug(msg: &str) {
    log(Level::Debug, msg);
}

pub fn warn(msg: &str) {
    log(Level::Warning, msg);
}

pub fn error(msg: &str) {
    log(Level::Error, msg);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_have_lower_case_keys() {
        let l = line(Format::Json, Level::Error, "container does not exist");
        let v: serde_json::Value = serde_json::from_str(&l).expect("json");
        assert_eq!(v["level"], "error");
        assert_eq!(v["msg"], "container does not exist");
        assert!(v["time"].as_str().is_some_and(|t| t.ends_with('Z')));
    }

    #[test]
    fn text_lines_quote_the_message() {
        let l = line(Format::Text, Level::Warning, "a \"b\"");
        assert!(l.contains("level=warning msg=\"a \\\"b\\\"\""), "{l}");
    }
}
