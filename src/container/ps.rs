//! `ps ID [--format table|json] [ps args]`: the container's processes. JSON
//! is the array of host pids containerd reads; the table is `ps`'s own output
//! filtered to those pids.

use super::{load_shared, Globals};
use crate::error::{Error, Result, SysContext};

pub fn ps(g: &Globals, id: &str, format: &str, ps_args: &[String]) -> Result<String> {
    let (_dir, st, _status) = load_shared(g, id)?;
    let pids = st.cgroup.pids()?;
    match format {
        "json" => Ok(format!(
            "{}\n",
            serde_json::to_string(&pids).unwrap_or_else(|_| "[]".into())
        )),
        "table" => table(&pids, ps_args),
        other => Err(Error::Other(format!("invalid format option {other:?}"))),
    }
}

fn table(pids: &[i32], ps_args: &[String]) -> Result<String> {
    let args: Vec<String> = if ps_args.is_empty() {
        vec!["-ef".into()]
    } else {
        ps_args.to_vec()
    };
    let out = std::process::Command::new("ps")
        .args(&args)
        .output()
        .step(|| "run ps")?;
    if !out.status.success() {
        return Err(Error::Other(format!(
            "ps: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let pid_col = header
        .split_whitespace()
        .position(|c| c == "PID")
        .ok_or_else(|| Error::Other("couldn't find PID field in ps output".into()))?;
    let mut result = format!("{header}\n");
    for line in lines {
        let pid = line
            .split_whitespace()
            .nth(pid_col)
            .and_then(|p| p.parse::<i32>().ok());
        if pid.is_some_and(|p| pids.contains(&p)) {
            result.push_str(line);
            result.push('\n');
        }
    }
    Ok(result)
}
