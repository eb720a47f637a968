//! `events ID [--stats] [--interval 5s]`: the container's cgroup statistics
//! as runc prints them ({"type":"stats","id":..,"data":{..}}), once with
//! --stats, else every interval, with {"type":"oom"} when the OOM killer
//! strikes; it ends when the container stops.

use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{load_shared, Globals};
use crate::error::{Error, Result};
use crate::state::{self, Status};

/// "5s", "500ms", "1m", or plain seconds.
pub fn parse_interval(s: &str) -> Result<Duration> {
    let bad = || Error::Other(format!("invalid interval {s:?}"));
    let (n, unit) = s
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .map_or((s, "s"), |i| (&s[..i], &s[i..]));
    let n: f64 = n.parse().map_err(|_| bad())?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(bad()),
    };
    if secs <= 0.0 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}

fn emit(kind: &str, id: &str, data: serde_json::Value) {
    let line = json!({"type": kind, "id": id, "data": data});
    let mut out = std::io::stdout();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

pub fn events(g: &Globals, id: &str, stats_once: bool, interval: Duration) -> Result<()> {
    let (dir, st, status) = load_shared(g, id)?;
    if status == Status::Stopped {
        return Err(Error::NotRunning);
    }
    let stats = |cg: &crate::cgroups::Cgroup| serde_json::to_value(cg.stats()).unwrap_or_default();
    if stats_once {
        emit("stats", id, stats(&st.cgroup));
        return Ok(());
    }
    let mut ooms = st.cgroup.oom_kills();
    let mut next = Instant::now();
    loop {
        if Instant::now() >= next {
            emit("stats", id, stats(&st.cgroup));
            next = Instant::now() + interval;
        }
        let now = st.cgroup.oom_kills();
        for _ in ooms..now {
            emit("oom", id, json!({}));
        }
        ooms = now;
        if state::status_of(&dir.dir, &st) == Status::Stopped {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(200).min(interval));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals() {
        assert_eq!(parse_interval("5s").ok(), Some(Duration::from_secs(5)));
        assert_eq!(
            parse_interval("250ms").ok(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(parse_interval("2").ok(), Some(Duration::from_secs(2)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("5x").is_err());
    }
}
