//! How a new process (a container's init, an exec'd process) joins the
//! container's cgroups, avoiding the kernel's global lock where it can.
//!
//! Writing a pid to a `cgroup.procs` file takes the write side of the
//! kernel's global `cgroup_threadgroup_rwsem`; when the lock was idle, that
//! waits for an RCU grace period: 9 to 30 ms per container start on the
//! project's machine (docs/performance.md, "Where rrun's time goes"). Two
//! ways in skip it:
//!
//! - cgroup2: clone3(CLONE_INTO_CGROUP) starts the process in its cgroup
//!   (`Joining::born_in`);
//! - cgroup v1: a single-threaded process that writes "0" to a hierarchy's
//!   `tasks` file moves itself, and the kernel takes no global lock for it.
//!   The parent opens the `tasks` files (the kernel checks the opener's
//!   credentials, and the parent resolved the paths); the child writes them
//!   as its first step, before any other (`TasksFile::join_self`).
//!
//! What neither covers (a new user namespace made by the clone itself,
//! where the child's credentials no longer are the host's root on kernels
//! that check the writer) the parent still places by pid.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use nix::fcntl::OFlag;
use nix::sys::stat::Mode;

use super::{cause, Cgroup, CgroupError, Dir};
use crate::error::{AtStep, StepError};

/// One v1 hierarchy's `tasks` file, opened by the parent for the child.
#[derive(Debug)]
pub struct TasksFile {
    pub fd: OwnedFd,
    pub path: PathBuf,
    /// Joining it may fail (a named hierarchy, misc), as runc allows.
    pub best_effort: bool,
}

impl TasksFile {
    /// In the child: move the calling, single-threaded process here.
    pub fn join_self(&self) -> nix::Result<()> {
        match nix::unistd::write(self.fd.as_fd(), b"0") {
            Ok(_) => Ok(()),
            Err(_) if self.best_effort => Ok(()),
            Err(e) => Err(e),
        }
    }
}

/// In the child, before any other step: join each v1 directory, and close
/// the files.
pub fn join_all(tasks: Vec<TasksFile>) -> Result<(), StepError> {
    for t in tasks {
        t.join_self()
            .at(|| format!("join cgroup {}", t.path.display()))?;
    }
    Ok(())
}

/// The plan for one new process's cgroup placement.
#[derive(Debug, Default)]
pub struct Joining {
    /// The cgroup2 directory to start the process in (CLONE_INTO_CGROUP).
    pub born_in: Option<OwnedFd>,
    /// `born_in` is the best-effort cgroup2 part of a hybrid host: if the
    /// clone refuses it, clone without and leave that part out.
    pub born_in_optional: bool,
    /// The v1 directories the child joins itself.
    pub tasks: Vec<TasksFile>,
    /// The rest, placed by the parent by pid after the clone.
    pub by_parent: Cgroup,
}

/// Where each directory goes: `self_attach` allows v1 self-placement (the
/// child's credentials are still the host's at its first step).
pub fn plan(cg: &Cgroup, self_attach: bool) -> Result<Joining, CgroupError> {
    let mut out = Joining {
        by_parent: Cgroup {
            unified: cg.unified,
            dirs: Vec::new(),
        },
        ..Joining::default()
    };
    for d in &cg.dirs {
        if d.is_v2() {
            match open(d, "", OFlag::O_PATH | OFlag::O_DIRECTORY) {
                Ok(fd) => {
                    out.born_in = Some(fd);
                    out.born_in_optional = cg.best_effort(d);
                    continue;
                }
                Err(_) if cg.best_effort(d) => continue,
                Err(e) => return Err(e),
            }
        }
        if !d.is_v2() && self_attach {
            match open(d, "tasks", OFlag::O_WRONLY) {
                Ok(fd) => {
                    out.tasks.push(TasksFile {
                        fd,
                        path: d.path.join("tasks"),
                        best_effort: cg.best_effort(d),
                    });
                    continue;
                }
                Err(_) if cg.best_effort(d) => continue,
                Err(e) => return Err(e),
            }
        }
        out.by_parent.dirs.push(d.clone());
    }
    Ok(out)
}

fn open(d: &Dir, file: &str, flags: OFlag) -> Result<OwnedFd, CgroupError> {
    let path = if file.is_empty() {
        d.path.clone()
    } else {
        d.path.join(file)
    };
    nix::fcntl::open(&path, flags | OFlag::O_CLOEXEC, Mode::empty()).map_err(|e| {
        CgroupError::Open {
            path: path.display().to_string(),
            cause: cause(&std::io::Error::from(e)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(root: &std::path::Path, name: &str, controllers: &[&str]) -> Dir {
        let path = root.join(name);
        std::fs::create_dir_all(&path).expect("mkdir");
        std::fs::write(path.join("tasks"), "").expect("tasks");
        Dir {
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
            mountpoint: root.to_path_buf(),
            path,
        }
    }

    #[test]
    fn v1_joins_itself_cgroup2_is_born_in_and_the_rest_is_the_parents() {
        let tmp = std::env::temp_dir().join(format!("rrun-join-{}", std::process::id()));
        let cg = Cgroup {
            unified: false,
            dirs: vec![
                dir(&tmp, "cpu", &["cpu", "cpuacct"]),
                dir(&tmp, "named", &["name=systemd"]),
                dir(&tmp, "unified", &[]),
            ],
        };
        let j = plan(&cg, true).expect("plan");
        assert_eq!(j.tasks.len(), 2);
        assert!(!j.tasks[0].best_effort && j.tasks[1].best_effort);
        assert!(j.born_in.is_some() && j.born_in_optional);
        assert!(j.by_parent.dirs.is_empty());

        let j = plan(&cg, false).expect("plan");
        assert!(j.tasks.is_empty());
        assert_eq!(j.by_parent.dirs.len(), 2, "v1 dirs left to the parent");

        // A missing v1 directory fails, unless joining it is best effort.
        let mut missing = cg.clone();
        missing.dirs[0].path = tmp.join("gone");
        assert!(plan(&missing, true).is_err());
        missing.dirs.remove(0);
        missing.dirs[0].path = tmp.join("gone");
        assert_eq!(plan(&missing, true).expect("plan").tasks.len(), 0);
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
