//! `list [--format table|json] [-q]`: every container under --root, as runc
//! prints them (JSON: an array, `null` when there are none).

use std::os::unix::fs::MetadataExt;

use super::Globals;
use crate::error::{Error, Result};
use crate::state::{self, OciState};

pub fn list(g: &Globals, format: &str, quiet: bool) -> Result<String> {
    let mut ids = Vec::new();
    match std::fs::read_dir(&g.root) {
        Ok(entries) => {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    ids.push(e.file_name().to_string_lossy().into_owned());
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(format!("open {}", g.root.display()), e)),
    }
    ids.sort();
    let mut rows = Vec::new();
    for id in &ids {
        let dir = g.root.join(id);
        let Ok(st) = state::load_from(&dir) else {
            continue;
        };
        let status = state::status_of(&dir, &st);
        let owner = std::fs::metadata(&dir)
            .map(|m| owner_name(m.uid()))
            .unwrap_or_default();
        rows.push((st, status, owner));
    }
    if quiet {
        return Ok(rows
            .iter()
            .map(|(st, _, _)| format!("{}\n", st.id))
            .collect());
    }
    match format {
        "json" => {
            if rows.is_empty() {
                return Ok("null\n".into());
            }
            let list: Vec<OciState> = rows
                .iter()
                .map(|(st, status, owner)| {
                    let mut o = st.oci(*status);
                    o.owner = owner;
                    o
                })
                .collect();
            Ok(format!(
                "{}\n",
                serde_json::to_string(&list).unwrap_or_default()
            ))
        }
        "table" => {
            let mut table = vec![vec![
                "ID".to_string(),
                "PID".into(),
                "STATUS".into(),
                "BUNDLE".into(),
                "CREATED".into(),
                "OWNER".into(),
            ]];
            for (st, status, owner) in &rows {
                let pid = if *status == state::Status::Stopped {
                    0
                } else {
                    st.pid
                };
                table.push(vec![
                    st.id.clone(),
                    pid.to_string(),
                    status.to_string(),
                    st.bundle.display().to_string(),
                    st.created.clone(),
                    owner.clone(),
                ]);
            }
            Ok(render(&table))
        }
        other => Err(Error::Other(format!("invalid format option {other:?}"))),
    }
}

fn owner_name(uid: u32) -> String {
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[0].to_string())
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

/// Go's tabwriter with minwidth 12, padding 3 (runc's settings).
fn render(rows: &[Vec<String>]) -> String {
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0).max(9) + 3)
        .collect();
    let mut out = String::new();
    for r in rows {
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == cols {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}", w = widths[c]));
            }
        }
        out.push('\n');
    }
    out
}
