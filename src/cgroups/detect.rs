//! Detect the host's cgroup layout from /proc/self/mountinfo: pure v2
//! (unified), pure v1, or hybrid (v1 controllers plus a cgroup2 mount, as on
//! hosts that mount it at /sys/fs/cgroup/unified), and this process's own
//! cgroup in each hierarchy from /proc/self/cgroup.

use std::path::{Path, PathBuf};

/// One mounted v1 hierarchy, e.g. /sys/fs/cgroup/cpu,cpuacct with
/// controllers ["cpu", "cpuacct"], or a named one ["name=systemd"].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Hierarchy {
    pub mountpoint: PathBuf,
    /// The cgroup path the mount shows as its root ("/" on a host).
    pub root: PathBuf,
    pub controllers: Vec<String>,
}

impl Hierarchy {
    pub fn has(&self, controller: &str) -> bool {
        self.controllers.iter().any(|c| c == controller)
    }

    /// The mount option naming the hierarchy ("cpu,cpuacct", "name=systemd").
    pub fn option(&self) -> String {
        self.controllers.join(",")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// Pure cgroup v2 at this mountpoint.
    Unified { mountpoint: PathBuf, root: PathBuf },
    /// v1 hierarchies, with the cgroup2 mount of a hybrid host if there is one.
    Legacy {
        hierarchies: Vec<Hierarchy>,
        unified: Option<(PathBuf, PathBuf)>,
    },
}

impl Layout {
    pub fn detect() -> Option<Layout> {
        let text = crate::proc_files::read_text("/proc/self/mountinfo").ok()?;
        parse_mountinfo(&text)
    }

    pub fn is_unified(&self) -> bool {
        matches!(self, Layout::Unified { .. })
    }
}

const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

fn parse_mountinfo(text: &str) -> Option<Layout> {
    let mut hierarchies = Vec::new();
    let mut unified = None;
    for line in text.lines() {
        let Some((pre, post)) = line.split_once(" - ") else {
            continue;
        };
        let pre: Vec<&str> = pre.split(' ').collect();
        let post: Vec<&str> = post.split(' ').collect();
        if pre.len() < 5 || post.len() < 3 {
            continue;
        }
        let root = PathBuf::from(unescape(pre[3]));
        let mountpoint = PathBuf::from(unescape(pre[4]));
        match post[0] {
            "cgroup2" if unified.is_none() => unified = Some((mountpoint, root)),
            "cgroup" => {
                let controllers: Vec<String> = post[2]
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                    .map(str::to_string)
                    .collect();
                if !controllers.is_empty()
                    && !hierarchies
                        .iter()
                        .any(|h: &Hierarchy| h.controllers == controllers)
                {
                    hierarchies.push(Hierarchy {
                        mountpoint,
                        root,
                        controllers,
                    });
                }
            }
            _ => {}
        }
    }
    if hierarchies.is_empty() {
        let (mountpoint, root) = unified?;
        return Some(Layout::Unified { mountpoint, root });
    }
    Some(Layout::Legacy {
        hierarchies,
        unified,
    })
}

/// mountinfo escapes space, tab, newline and backslash as octal.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// This process's cgroup in the hierarchy with these controllers ("" = v2).
pub fn own_cgroup(controllers: &[String]) -> Option<PathBuf> {
    // Read once per process: rrun never moves itself.
    static TEXT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let text = TEXT.get_or_init(|| crate::proc_files::read_text("/proc/self/cgroup").ok());
    own_cgroup_in(text.as_deref()?, controllers)
}

fn own_cgroup_in(text: &str, controllers: &[String]) -> Option<PathBuf> {
    text.lines().find_map(|line| {
        let mut parts = line.splitn(3, ':');
        let (_id, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
        let listed: Vec<&str> = ctrls.split(',').filter(|c| !c.is_empty()).collect();
        let matches = if controllers.is_empty() {
            listed.is_empty()
        } else {
            controllers.iter().all(|c| listed.contains(&c.as_str()))
        };
        matches.then(|| PathBuf::from(path))
    })
}

/// Join a cgroup path below a mount whose root is `root`.
pub fn host_path(mountpoint: &Path, root: &Path, cgroup: &Path) -> PathBuf {
    let rel = cgroup.strip_prefix(root).unwrap_or(cgroup);
    let rel = rel.strip_prefix("/").unwrap_or(rel);
    mountpoint.join(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    #[test]
    fn detects_hybrid() {
        let Some(Layout::Legacy {
            hierarchies,
            unified,
        }) = parse_mountinfo(HYBRID)
        else {
            panic!("not legacy");
        };
        assert_eq!(hierarchies.len(), 3);
        assert_eq!(hierarchies[0].option(), "cpu,cpuacct");
        assert_eq!(hierarchies[2].option(), "name=systemd");
        assert_eq!(
            unified.map(|u| u.0),
            Some(PathBuf::from("/sys/fs/cgroup/unified"))
        );
    }

    #[test]
    fn detects_unified() {
        let text = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(
            parse_mountinfo(text),
            Some(Layout::Unified {
                mountpoint: "/sys/fs/cgroup".into(),
                root: "/".into()
            })
        );
    }

    #[test]
    fn finds_own_cgroup() {
        let text = "4:memory:/a/b\n1:cpu,cpuacct:/\n0::/c\n";
        assert_eq!(own_cgroup_in(text, &["memory".into()]), Some("/a/b".into()));
        assert_eq!(
            own_cgroup_in(text, &["cpu".into(), "cpuacct".into()]),
            Some("/".into())
        );
        assert_eq!(own_cgroup_in(text, &[]), Some("/c".into()));
        assert_eq!(
            host_path(
                Path::new("/sys/fs/cgroup/memory"),
                Path::new("/"),
                Path::new("/a/b")
            ),
            PathBuf::from("/sys/fs/cgroup/memory/a/b")
        );
    }

    #[test]
    fn unescapes_octal() {
        assert_eq!(unescape("/a\\040b"), "/a b");
    }
}
