//! The single table of mount options (every name runc accepts) and the
//! lowering of config.json mounts into `MountPlan`s for the new mount API:
//! per-mount attributes (MOUNT_ATTR_*), recursive attributes (rro, rnosuid...),
//! propagation, superblock flags and filesystem data.

use std::path::{Path, PathBuf};

use oci_spec::runtime::Mount;

use crate::spec::SpecError;
use crate::sys::*;

/// What a mount option does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opt {
    /// Set (true) or clear (false) a per-mount attribute.
    Attr(u64, bool),
    /// Set an access-time mode (they exclude each other).
    Atime(u64),
    /// Set (true) or clear (false) an attribute on the whole subtree.
    RecAttr(u64, bool),
    RecAtime(u64),
    /// A superblock flag passed to the filesystem ("sync", "dirsync", ...).
    SbFlag(&'static str),
    /// A propagation type (MS_*), recursive or not.
    Propagation(u64, bool),
    Bind,
    Rbind,
    Remount,
    TmpCopyUp,
    Idmap(bool),
    /// Accepted and meaningless ("defaults", "rw" on a mount we create rw...).
    Nothing,
}

/// Every option name runc accepts, in one place.
const TABLE: &[(&str, Opt)] = &[
    ("defaults", Opt::Nothing),
    ("ro", Opt::Attr(MOUNT_ATTR_RDONLY, true)),
    ("rw", Opt::Attr(MOUNT_ATTR_RDONLY, false)),
    ("nosuid", Opt::Attr(MOUNT_ATTR_NOSUID, true)),
    ("suid", Opt::Attr(MOUNT_ATTR_NOSUID, false)),
    ("nodev", Opt::Attr(MOUNT_ATTR_NODEV, true)),
    ("dev", Opt::Attr(MOUNT_ATTR_NODEV, false)),
    ("noexec", Opt::Attr(MOUNT_ATTR_NOEXEC, true)),
    ("exec", Opt::Attr(MOUNT_ATTR_NOEXEC, false)),
    ("nodiratime", Opt::Attr(MOUNT_ATTR_NODIRATIME, true)),
    ("diratime", Opt::Attr(MOUNT_ATTR_NODIRATIME, false)),
    ("nosymfollow", Opt::Attr(MOUNT_ATTR_NOSYMFOLLOW, true)),
    ("symfollow", Opt::Attr(MOUNT_ATTR_NOSYMFOLLOW, false)),
    ("relatime", Opt::Atime(MOUNT_ATTR_RELATIME)),
    ("norelatime", Opt::Atime(MOUNT_ATTR_RELATIME)),
    ("noatime", Opt::Atime(MOUNT_ATTR_NOATIME)),
    ("atime", Opt::Atime(MOUNT_ATTR_RELATIME)),
    ("strictatime", Opt::Atime(MOUNT_ATTR_STRICTATIME)),
    ("nostrictatime", Opt::Atime(MOUNT_ATTR_RELATIME)),
    ("rro", Opt::RecAttr(MOUNT_ATTR_RDONLY, true)),
    ("rrw", Opt::RecAttr(MOUNT_ATTR_RDONLY, false)),
    ("rnosuid", Opt::RecAttr(MOUNT_ATTR_NOSUID, true)),
    ("rsuid", Opt::RecAttr(MOUNT_ATTR_NOSUID, false)),
    ("rnodev", Opt::RecAttr(MOUNT_ATTR_NODEV, true)),
    ("rdev", Opt::RecAttr(MOUNT_ATTR_NODEV, false)),
    ("rnoexec", Opt::RecAttr(MOUNT_ATTR_NOEXEC, true)),
    ("rexec", Opt::RecAttr(MOUNT_ATTR_NOEXEC, false)),
    ("rnodiratime", Opt::RecAttr(MOUNT_ATTR_NODIRATIME, true)),
    ("rdiratime", Opt::RecAttr(MOUNT_ATTR_NODIRATIME, false)),
    ("rnosymfollow", Opt::RecAttr(MOUNT_ATTR_NOSYMFOLLOW, true)),
    ("rsymfollow", Opt::RecAttr(MOUNT_ATTR_NOSYMFOLLOW, false)),
    ("rrelatime", Opt::RecAtime(MOUNT_ATTR_RELATIME)),
    ("rnorelatime", Opt::RecAtime(MOUNT_ATTR_RELATIME)),
    ("rnoatime", Opt::RecAtime(MOUNT_ATTR_NOATIME)),
    ("ratime", Opt::RecAtime(MOUNT_ATTR_RELATIME)),
    ("rstrictatime", Opt::RecAtime(MOUNT_ATTR_STRICTATIME)),
    ("rnostrictatime", Opt::RecAtime(MOUNT_ATTR_RELATIME)),
    // The kernel's fs-context parser knows these names: "async",
    // "nolazytime" and "nomand" clear what the others set, in order.
    ("sync", Opt::SbFlag("sync")),
    ("async", Opt::SbFlag("async")),
    ("dirsync", Opt::SbFlag("dirsync")),
    ("lazytime", Opt::SbFlag("lazytime")),
    ("nolazytime", Opt::SbFlag("nolazytime")),
    ("mand", Opt::SbFlag("mand")),
    ("nomand", Opt::SbFlag("nomand")),
    // i_version is the filesystem's own business (mount(2) ignores
    // MS_I_VERSION for filesystems that do not use it, as tmpfs).
    ("iversion", Opt::Nothing),
    ("noiversion", Opt::Nothing),
    ("silent", Opt::Nothing),
    ("loud", Opt::Nothing),
    ("private", Opt::Propagation(libc::MS_PRIVATE, false)),
    ("rprivate", Opt::Propagation(libc::MS_PRIVATE, true)),
    ("shared", Opt::Propagation(libc::MS_SHARED, false)),
    ("rshared", Opt::Propagation(libc::MS_SHARED, true)),
    ("slave", Opt::Propagation(libc::MS_SLAVE, false)),
    ("rslave", Opt::Propagation(libc::MS_SLAVE, true)),
    ("unbindable", Opt::Propagation(libc::MS_UNBINDABLE, false)),
    ("runbindable", Opt::Propagation(libc::MS_UNBINDABLE, true)),
    ("bind", Opt::Bind),
    ("rbind", Opt::Rbind),
    ("remount", Opt::Remount),
    ("tmpcopyup", Opt::TmpCopyUp),
    ("idmap", Opt::Idmap(false)),
    ("ridmap", Opt::Idmap(true)),
];

/// The option names `features` advertises: all of the table.
pub fn known_option_names() -> Vec<&'static str> {
    TABLE.iter().map(|(n, _)| *n).collect()
}

fn lookup(name: &str) -> Option<Opt> {
    TABLE.iter().find(|(n, _)| *n == name).map(|(_, o)| *o)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MountKind {
    /// A bind mount of a host path (recursive for rbind).
    Bind { source: PathBuf, recursive: bool },
    /// A new filesystem instance.
    Fs { fstype: String, source: String },
    /// The container's view of its cgroups (type "cgroup").
    Cgroup,
    /// Change the attributes of what is already mounted at the destination.
    Remount,
}

/// Per-mount attributes to set and clear, as mount_setattr takes them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    pub set: u64,
    pub clear: u64,
}

impl Attrs {
    fn apply(&mut self, flag: u64, on: bool) {
        if on {
            self.set |= flag;
            self.clear &= !flag;
        } else {
            self.clear |= flag;
            self.set &= !flag;
        }
    }

    fn atime(&mut self, mode: u64) {
        self.set = (self.set & !MOUNT_ATTR__ATIME) | mode;
        self.clear |= MOUNT_ATTR__ATIME;
    }

    pub fn is_empty(&self) -> bool {
        self.set == 0 && self.clear == 0
    }

    pub fn to_mount_attr(self) -> MountAttr {
        MountAttr {
            attr_set: self.set,
            attr_clr: self.clear,
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountPlan {
    /// Position in config.json's mounts (for error messages).
    pub index: usize,
    /// Absolute, clean path inside the container.
    pub dest: PathBuf,
    pub kind: MountKind,
    /// Attributes of the top mount.
    pub attrs: Attrs,
    /// Attributes of the whole mounted tree (rro, rnosuid, ...).
    pub rec_attrs: Attrs,
    /// Propagation changes (MS_* flag, recursive) in config order.
    pub propagation: Vec<(u64, bool)>,
    /// Superblock flags for a new filesystem ("ro", "sync", ...).
    pub sb_flags: Vec<&'static str>,
    /// Filesystem data: key or key=value.
    pub data: Vec<(String, Option<String>)>,
    pub tmpcopyup: bool,
    /// An idmapped mount (Some(recursive)).
    pub idmap: Option<bool>,
    /// The mount's own id maps (None: the container's user namespace).
    pub id_maps: Option<crate::userns::IdMaps>,
    /// The bind source is not a directory: the target is created as a file.
    pub file_target: bool,
    /// The type string as written, for messages.
    pub fstype: String,
}

impl MountPlan {
    /// How errors name this mount: `mount "proc" on /proc`.
    pub fn describe(&self) -> String {
        let source = match &self.kind {
            MountKind::Bind { source, .. } => source.display().to_string(),
            MountKind::Fs { source, .. } => source.clone(),
            MountKind::Cgroup => "cgroup".to_string(),
            MountKind::Remount => "remount".to_string(),
        };
        format!("mount {:?} on {}", source, self.dest.display())
    }

    /// Is this a new read-only filesystem (the superblock gets "ro" too)?
    pub fn readonly(&self) -> bool {
        self.attrs.set & MOUNT_ATTR_RDONLY != 0
    }
}

/// Clean an in-container path: make it absolute, drop "." and resolve ".."
/// lexically (it can never climb above "/").
pub fn clean_container_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in p.components() {
        match c {
            std::path::Component::Normal(n) => out.push(n),
            std::path::Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

/// Lower one config.json mount.
pub fn lower_mount(index: usize, m: &Mount, bundle: &Path) -> Result<MountPlan, SpecError> {
    let field = format!("mounts[{index}]");
    let fstype = m.typ().clone().unwrap_or_default();
    let options = m.options().clone().unwrap_or_default();
    let mut plan = MountPlan {
        index,
        dest: clean_container_path(m.destination()),
        kind: MountKind::Remount,
        attrs: Attrs::default(),
        rec_attrs: Attrs::default(),
        propagation: Vec::new(),
        sb_flags: Vec::new(),
        data: Vec::new(),
        tmpcopyup: false,
        idmap: None,
        id_maps: None,
        file_target: false,
        fstype: fstype.clone(),
    };
    if m.destination().as_os_str().is_empty() {
        return Err(SpecError::invalid(
            format!("{field}.destination"),
            "must not be empty",
        ));
    }
    let mut bind = fstype == "bind";
    let mut recursive = false;
    let mut remount = false;
    for opt in &options {
        match lookup(opt) {
            Some(Opt::Attr(flag, on)) => plan.attrs.apply(flag, on),
            Some(Opt::Atime(mode)) => plan.attrs.atime(mode),
            Some(Opt::RecAttr(flag, on)) => plan.rec_attrs.apply(flag, on),
            Some(Opt::RecAtime(mode)) => plan.rec_attrs.atime(mode),
            Some(Opt::SbFlag(f)) => plan.sb_flags.push(f),
            Some(Opt::Propagation(flag, rec)) => plan.propagation.push((flag, rec)),
            Some(Opt::Bind) => bind = true,
            Some(Opt::Rbind) => {
                bind = true;
                recursive = true;
            }
            Some(Opt::Remount) => remount = true,
            Some(Opt::TmpCopyUp) => plan.tmpcopyup = true,
            Some(Opt::Idmap(rec)) => plan.idmap = Some(rec),
            Some(Opt::Nothing) => {}
            None => plan.data.push(match opt.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (opt.clone(), None),
            }),
        }
    }
    let source = m
        .source()
        .as_ref()
        .map(|s| s.display().to_string())
        .unwrap_or_default();
    plan.kind = if remount && !bind {
        MountKind::Remount
    } else if bind {
        let src = m.source().as_ref().ok_or_else(|| {
            SpecError::invalid(format!("{field}.source"), "a bind mount needs a source")
        })?;
        let src = if src.is_absolute() {
            src.clone()
        } else {
            bundle.join(src)
        };
        let meta = std::fs::metadata(&src).map_err(|e| {
            SpecError::invalid(
                format!("{field}.source"),
                format!(
                    "bind source {}: {}",
                    src.display(),
                    crate::error::io_text(&e)
                ),
            )
        })?;
        plan.file_target = !meta.is_dir();
        MountKind::Bind {
            source: src,
            recursive,
        }
    } else if fstype == "cgroup" || fstype == "cgroup2" {
        MountKind::Cgroup
    } else {
        if fstype.is_empty() {
            return Err(SpecError::invalid(
                format!("{field}.type"),
                "a mount that is not a bind mount needs a type",
            ));
        }
        MountKind::Fs {
            fstype,
            source: if source.is_empty() {
                "none".into()
            } else {
                source
            },
        }
    };
    idmapping(&field, m, &mut plan)?;
    if plan.tmpcopyup && plan.fstype != "tmpfs" {
        return Err(SpecError::invalid(
            format!("{field}.options"),
            "tmpcopyup is only valid for tmpfs mounts",
        ));
    }
    if plan.readonly() && matches!(plan.kind, MountKind::Fs { .. }) {
        plan.sb_flags.push("ro");
    }
    Ok(plan)
}

/// uidMappings/gidMappings of a mount: both or neither; they make the mount
/// idmapped (so does the idmap/ridmap option, with the container's maps).
fn idmapping(field: &str, m: &Mount, plan: &mut MountPlan) -> Result<(), SpecError> {
    let uids = m.uid_mappings().clone().unwrap_or_default();
    let gids = m.gid_mappings().clone().unwrap_or_default();
    if uids.is_empty() != gids.is_empty() {
        return Err(SpecError::invalid(
            field,
            "uidMappings and gidMappings must be given together",
        ));
    }
    if !uids.is_empty() {
        plan.id_maps = Some(crate::userns::IdMaps::lower(&uids, &gids, false)?);
        plan.idmap.get_or_insert(false);
    }
    if plan.idmap.is_some() && !matches!(plan.kind, MountKind::Bind { .. }) {
        return Err(SpecError::invalid(
            field,
            "only bind mounts can be idmapped",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(json: &str) -> Mount {
        serde_json::from_str(json).expect("valid mount json")
    }

    #[test]
    fn splits_attributes_propagation_and_data() {
        let m = mount(
            r#"{"destination":"/dev","type":"tmpfs","source":"tmpfs",
               "options":["nosuid","strictatime","mode=755","size=65536k","rslave","ro"]}"#,
        );
        let p = lower_mount(1, &m, Path::new("/b")).expect("lowers");
        assert_eq!(
            p.attrs.set,
            MOUNT_ATTR_NOSUID | MOUNT_ATTR_STRICTATIME | MOUNT_ATTR_RDONLY
        );
        assert_eq!(p.propagation, vec![(libc::MS_SLAVE, true)]);
        assert_eq!(p.sb_flags, vec!["ro"]);
        assert_eq!(
            p.data,
            vec![
                ("mode".into(), Some("755".into())),
                ("size".into(), Some("65536k".into()))
            ]
        );
        assert_eq!(p.describe(), "mount \"tmpfs\" on /dev");
    }

    #[test]
    fn later_options_win() {
        let m = mount(
            r#"{"destination":"/x","type":"tmpfs","options":["ro","rw","noatime","relatime"]}"#,
        );
        let p = lower_mount(0, &m, Path::new("/b")).expect("lowers");
        assert_eq!(p.attrs.set & MOUNT_ATTR_RDONLY, 0);
        assert_eq!(p.attrs.set & MOUNT_ATTR__ATIME, MOUNT_ATTR_RELATIME);
        assert!(p.sb_flags.is_empty());
    }

    #[test]
    fn bind_sources_are_relative_to_the_bundle_and_must_exist() {
        let m = mount(
            r#"{"destination":"/x","type":"bind","source":"nope","options":["rbind","rro"]}"#,
        );
        assert!(lower_mount(0, &m, Path::new("/nonexistent-bundle")).is_err());
        let m = mount(r#"{"destination":"/x","source":"/etc/hostname","options":["rbind","rro"]}"#);
        let p = lower_mount(0, &m, Path::new("/b")).expect("lowers");
        assert!(p.file_target);
        assert_eq!(p.rec_attrs.set, MOUNT_ATTR_RDONLY);
        assert!(matches!(
            p.kind,
            MountKind::Bind {
                recursive: true,
                ..
            }
        ));
    }

    #[test]
    fn cleans_destinations() {
        assert_eq!(
            clean_container_path(Path::new("../../etc/./x/..")),
            PathBuf::from("/etc")
        );
        assert_eq!(
            clean_container_path(Path::new("tmp")),
            PathBuf::from("/tmp")
        );
    }
}
