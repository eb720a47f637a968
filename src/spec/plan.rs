//! Lower a validated Spec into a `ContainerPlan`: ready-to-apply data for the
//! parent (cgroups, hooks, id maps) and the child (mounts, devices, process).
//! Nothing here has side effects; after `plan()` nothing takes `&Spec`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nix::mount::MsFlags;
use oci_spec::runtime::Spec;

use super::validate;
use super::SpecError;
use crate::cgroups::detect::Layout;
use crate::cgroups::resources::ResourcesPlan;
use crate::cgroups::view::View;
use crate::cgroups::Cgroup;
use crate::error::Result;
use crate::hooks::HooksPlan;
use crate::namespaces::{NamespacePlan, NsKind};
use crate::process::plan::ProcessPlan;
use crate::rootfs::dev::{self, DevicePlan};
use crate::rootfs::options::{self, clean_container_path, MountKind, MountPlan};
use crate::seccomp::SeccompPlan;
use crate::userns::IdMaps;

/// What the caller of create/run asked for beyond config.json.
#[derive(Debug, Clone, Default)]
pub struct PlanContext {
    pub id: String,
    pub bundle: PathBuf,
    pub no_pivot: bool,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub systemd_cgroup: bool,
    /// LISTEN_FDS passed to rrun (socket activation), forwarded to the container.
    pub listen_fds: u32,
    /// Where compiled seccomp programs are cached (None: no cache).
    pub seccomp_cache: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct RootfsPlan {
    pub rootfs: PathBuf,
    pub readonly: bool,
    /// Propagation of / in the container's mount namespace (MS_* | MS_REC).
    pub propagation: MsFlags,
    /// linux.rootfsPropagation was given: apply it to the new root too.
    pub propagation_set: bool,
    pub mounts: Vec<MountPlan>,
    pub cgroup_view: Option<View>,
    /// /dev is ours to populate (not a bind mount from the host).
    pub setup_dev: bool,
    pub devices: Vec<DevicePlan>,
    pub dev_links: Vec<(&'static str, &'static str)>,
    pub masked: Vec<PathBuf>,
    pub readonly_paths: Vec<PathBuf>,
    pub no_pivot: bool,
    /// Device nodes are bind-mounted from the host (user namespace).
    pub bind_devices: bool,
}

#[derive(Debug, Clone)]
pub struct ContainerPlan {
    pub id: String,
    pub oci_version: String,
    pub bundle: PathBuf,
    pub annotations: BTreeMap<String, String>,
    pub namespaces: NamespacePlan,
    pub id_maps: Option<IdMaps>,
    /// (clock name, seconds, nanoseconds) for a new time namespace.
    pub time_offsets: Vec<(String, i64, u32)>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub rootfs: RootfsPlan,
    /// (path below /proc/sys, value).
    pub sysctls: Vec<(String, String)>,
    pub process: ProcessPlan,
    pub hooks: HooksPlan,
    pub cgroup: Cgroup,
    pub resources: ResourcesPlan,
    pub no_new_keyring: bool,
    pub preserve_fds: u32,
    pub personality: Option<libc::c_ulong>,
    pub seccomp: Option<SeccompPlan>,
    pub memory_policy: Option<MemoryPolicy>,
    pub net_devices: Vec<crate::netdev::NetDevice>,
}

/// linux.memoryPolicy as set_mempolicy(2) takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryPolicy {
    /// MPOL_* mode, with its MPOL_F_* flags.
    pub mode: i32,
    pub nodemask: Vec<libc::c_ulong>,
    pub maxnode: u64,
}

impl ContainerPlan {
    /// Rootless without a delegated cgroup: no directories, no resources,
    /// and an empty read-only view for a cgroup mount.
    pub fn without_cgroup(&mut self) {
        self.cgroup = Cgroup {
            unified: self.cgroup.unified,
            dirs: Vec::new(),
        };
        self.resources = ResourcesPlan::default();
        if let Some(view) = &mut self.rootfs.cgroup_view {
            view.entries.clear();
        }
    }

    /// Spawning needs setns/unshare and a fork rather than one clone3.
    pub fn staged(&self) -> bool {
        !self.namespaces.join.is_empty() || !self.time_offsets.is_empty()
    }

    /// The parent runs prestart/createRuntime hooks, or the child needs the
    /// state for createContainer/startContainer hooks.
    pub fn hooks_round_trip(&self) -> bool {
        let h = &self.hooks;
        !(h.prestart.is_empty()
            && h.create_runtime.is_empty()
            && h.create_container.is_empty()
            && h.start_container.is_empty())
    }
}

fn propagation_of(value: &str) -> std::result::Result<MsFlags, SpecError> {
    Ok(match value {
        "" | "rslave" => MsFlags::MS_SLAVE | MsFlags::MS_REC,
        "slave" => MsFlags::MS_SLAVE,
        "rprivate" => MsFlags::MS_PRIVATE | MsFlags::MS_REC,
        "private" => MsFlags::MS_PRIVATE,
        "rshared" => MsFlags::MS_SHARED | MsFlags::MS_REC,
        "shared" => MsFlags::MS_SHARED,
        "runbindable" => MsFlags::MS_UNBINDABLE | MsFlags::MS_REC,
        "unbindable" => MsFlags::MS_UNBINDABLE,
        other => {
            return Err(SpecError::invalid(
                "linux.rootfsPropagation",
                format!("unknown propagation {other:?}"),
            ))
        }
    })
}

fn paths(list: Option<&Vec<String>>) -> Vec<PathBuf> {
    list.into_iter()
        .flatten()
        .map(|p| clean_container_path(Path::new(p)))
        .collect()
}

/// Lower `spec` for the container `ctx.id`.
pub fn plan(spec: &Spec, ctx: &PlanContext) -> Result<ContainerPlan> {
    validate::check(spec)?;
    let linux = spec.linux().clone().unwrap_or_default();
    let root = spec
        .root()
        .as_ref()
        .ok_or_else(|| SpecError::invalid("root", "is required"))?;
    let rootfs = if root.path().is_absolute() {
        root.path().clone()
    } else {
        ctx.bundle.join(root.path())
    };
    let rootfs = std::fs::canonicalize(&rootfs).map_err(|e| {
        SpecError::invalid(
            "root.path",
            format!("{}: {}", rootfs.display(), crate::error::io_text(&e)),
        )
    })?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| SpecError::invalid("process", "is required to create a container"))?;
    let mut process = lower_process(process)?;
    if ctx.listen_fds > 0 {
        process.env.push(format!("LISTEN_FDS={}", ctx.listen_fds));
        process.env.push("LISTEN_PID=1".to_string());
    }

    let namespaces = NamespacePlan::lower(linux.namespaces().as_deref().unwrap_or_default())?;
    let userns = namespaces.has(NsKind::User);
    let id_maps = if namespaces.creates(NsKind::User) {
        let uids = linux.uid_mappings().clone().unwrap_or_default();
        let gids = linux.gid_mappings().clone().unwrap_or_default();
        if uids.is_empty() || gids.is_empty() {
            return Err(SpecError::invalid(
                "linux.uidMappings",
                "a new user namespace needs uidMappings and gidMappings",
            )
            .into());
        }
        Some(IdMaps::lower(&uids, &gids, false)?)
    } else {
        check_joined_user_maps(&linux, &namespaces)?;
        None
    };

    let mut mounts = Vec::new();
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        mounts.push(options::lower_mount(i, m, &ctx.bundle)?);
    }
    for m in mounts
        .iter()
        .filter(|m| m.idmap.is_some() && m.id_maps.is_none())
    {
        if !namespaces.has(NsKind::User) {
            return Err(SpecError::invalid(
                format!("mounts[{}]", m.index),
                "an idmapped mount needs uidMappings/gidMappings or a container user namespace",
            )
            .into());
        }
    }
    let setup_dev = !mounts
        .iter()
        .any(|m| m.dest == Path::new("/dev") && matches!(m.kind, MountKind::Bind { .. }));
    let devices = dev::lower_devices(linux.devices().as_deref().unwrap_or_default(), setup_dev)?;

    let layout = Layout::detect().ok_or(crate::cgroups::CgroupError::NoCgroupfs)?;
    let cgroups_path = linux
        .cgroups_path()
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let cgroup = Cgroup::resolve(&layout, &cgroups_path, &ctx.id)?;
    let resources = match linux.resources() {
        Some(r) => {
            if !layout.is_unified() && r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
                return Err(SpecError::invalid(
                    "linux.resources.unified",
                    "cgroup v2 settings cannot be applied on a cgroup v1 host",
                )
                .into());
            }
            ResourcesPlan::lower(r, true)?
        }
        None => ResourcesPlan::lower(&Default::default(), true)?,
    };
    let cgroup_view = mounts
        .iter()
        .any(|m| m.kind == MountKind::Cgroup)
        .then(|| View::plan(&cgroup, namespaces.has(NsKind::Cgroup)));

    let mut sysctls: Vec<(String, String)> = linux
        .sysctl()
        .iter()
        .flatten()
        .map(|(k, v)| (k.replace('.', "/"), v.clone()))
        .collect();
    sysctls.sort();

    let time_offsets = lower_time_offsets(&linux)?;
    let seccomp = linux
        .seccomp()
        .as_ref()
        .map(|s| crate::seccomp::plan(s, ctx.seccomp_cache.as_deref()))
        .transpose()?;
    let personality = lower_personality(&linux)?;
    let memory_policy = lower_memory_policy(&linux)?;
    let net_devices = crate::netdev::lower(
        &linux
            .net_devices()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.name().clone()))
            .collect(),
        namespaces.creates(NsKind::Net),
    )?;

    let plan = ContainerPlan {
        id: ctx.id.clone(),
        oci_version: spec.version().clone(),
        bundle: ctx.bundle.clone(),
        annotations: spec
            .annotations()
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        namespaces,
        id_maps,
        time_offsets,
        hostname: spec.hostname().clone().filter(|h| !h.is_empty()),
        domainname: spec.domainname().clone().filter(|h| !h.is_empty()),
        rootfs: RootfsPlan {
            rootfs,
            readonly: root.readonly().unwrap_or(false),
            propagation: propagation_of(linux.rootfs_propagation().as_deref().unwrap_or(""))?,
            propagation_set: linux
                .rootfs_propagation()
                .as_ref()
                .is_some_and(|p| !p.is_empty()),
            mounts,
            cgroup_view,
            setup_dev,
            devices,
            dev_links: dev::dev_links(Path::new("/proc/kcore").exists()),
            masked: paths(linux.masked_paths().as_ref()),
            readonly_paths: paths(linux.readonly_paths().as_ref()),
            no_pivot: ctx.no_pivot,
            bind_devices: userns,
        },
        sysctls,
        process,
        hooks: HooksPlan::lower(spec.hooks().as_ref())?,
        cgroup,
        resources,
        no_new_keyring: ctx.no_new_keyring,
        preserve_fds: ctx.preserve_fds + ctx.listen_fds,
        personality,
        seccomp,
        memory_policy,
        net_devices,
    };
    Ok(plan)
}

fn lower_time_offsets(
    linux: &oci_spec::runtime::Linux,
) -> std::result::Result<Vec<(String, i64, u32)>, SpecError> {
    let mut out = Vec::new();
    for (clock, off) in linux.time_offsets().iter().flatten() {
        let name = match clock.as_str() {
            "monotonic" | "boottime" => clock.clone(),
            other => {
                return Err(SpecError::invalid(
                    format!("linux.timeOffsets.{other}"),
                    "only monotonic and boottime clocks can be offset",
                ))
            }
        };
        out.push((name, off.secs().unwrap_or(0), off.nanosecs().unwrap_or(0)));
    }
    out.sort();
    Ok(out)
}

pub fn lower_personality(
    linux: &oci_spec::runtime::Linux,
) -> std::result::Result<Option<libc::c_ulong>, SpecError> {
    use oci_spec::runtime::LinuxPersonalityDomain as D;
    let Some(p) = linux.personality() else {
        return Ok(None);
    };
    let base: libc::c_ulong = match p.domain() {
        D::PerLinux => 0x0000,
        D::PerLinux32 => 0x0008,
    };
    if p.flags().as_ref().is_some_and(|f| !f.is_empty()) {
        return Err(SpecError::invalid(
            "linux.personality.flags",
            "personality flags are not supported",
        ));
    }
    Ok(Some(base))
}

pub fn lower_memory_policy(
    linux: &oci_spec::runtime::Linux,
) -> std::result::Result<Option<MemoryPolicy>, SpecError> {
    use oci_spec::runtime::{MemoryPolicyFlagType as F, MemoryPolicyModeType as M};
    let Some(mp) = linux.memory_policy() else {
        return Ok(None);
    };
    let mut mode = match mp.mode() {
        M::MpolDefault => 0,
        M::MpolPreferred => 1,
        M::MpolBind => 2,
        M::MpolInterleave => 3,
        M::MpolLocal => 4,
        M::MpolPreferredMany => 5,
        M::MpolWeightedInterleave => 6,
    };
    for f in mp.flags().iter().flatten() {
        mode |= match f {
            F::MpolFNumaBalancing => 1 << 13,
            F::MpolFRelativeNodes => 1 << 14,
            F::MpolFStaticNodes => 1 << 15,
        };
    }
    let nodes = match mp.nodes().as_deref().filter(|n| !n.is_empty()) {
        Some(list) => crate::process::plan::parse_cpu_list("linux.memoryPolicy.nodes", list)?,
        None => Vec::new(),
    };
    let bits = std::mem::size_of::<libc::c_ulong>() * 8;
    let mut nodemask = vec![0 as libc::c_ulong; nodes.iter().max().map_or(0, |m| m / bits + 1)];
    for n in &nodes {
        nodemask[n / bits] |= 1 << (n % bits);
    }
    let maxnode = nodes.iter().max().map_or(0, |m| *m as u64 + 2);
    Ok(Some(MemoryPolicy {
        mode,
        nodemask,
        maxnode,
    }))
}

/// process (config.json's, or exec's) lowered with what this host says:
/// the LSMs it has, the signals rrun's caller left ignored.
pub fn lower_process(
    p: &oci_spec::runtime::Process,
) -> std::result::Result<ProcessPlan, SpecError> {
    let mut plan = ProcessPlan::lower(p)?;
    lsm_checks(&mut plan)?;
    if let Some(mask) = crate::process::plan::signals_ignored_here() {
        plan.ignored_signals = mask;
    }
    Ok(plan)
}

/// AppArmor: a profile on a host without AppArmor is an error. SELinux: a
/// label on a host without SELinux is ignored with a warning (as runc), and
/// dropped here: the child applies what the plan holds and never asks the
/// container's /sys.
fn lsm_checks(p: &mut ProcessPlan) -> std::result::Result<(), SpecError> {
    if let Some(profile) = &p.apparmor_profile {
        if !crate::lsm::apparmor_enabled() {
            return Err(SpecError::invalid(
                "process.apparmorProfile",
                format!("profile {profile:?} requested but AppArmor is not enabled on this host"),
            ));
        }
    }
    if p.selinux_label.is_some() && !crate::lsm::selinux_enabled() {
        crate::logging::warn(
            "process.selinuxLabel is ignored: SELinux is not enabled on this host",
        );
        p.selinux_label = None;
    }
    Ok(())
}

/// Joining a user namespace by path: mappings in the config must be the
/// namespace's own (containerd and CRI-O send both); runc's rule and words.
fn check_joined_user_maps(
    linux: &oci_spec::runtime::Linux,
    namespaces: &NamespacePlan,
) -> Result<()> {
    let uids = linux.uid_mappings().clone().unwrap_or_default();
    let gids = linux.gid_mappings().clone().unwrap_or_default();
    let Some((_, path)) = namespaces.join.iter().find(|(k, _)| *k == NsKind::User) else {
        return Ok(());
    };
    if uids.is_empty() && gids.is_empty() {
        return Ok(());
    }
    let want = IdMaps::lower(&uids, &gids, false)?;
    let (uid_map, gid_map) = crate::userns::mappings_of(path)?;
    if !crate::userns::same_maps(&want.uid_map, &uid_map)
        || !crate::userns::same_maps(&want.gid_map, &gid_map)
    {
        return Err(crate::error::Error::Other(
            "user namespaces enabled, but both namespace path and non-matching mapping specified -- you may only provide one".into(),
        ));
    }
    crate::logging::warn(
        "config.json has both a userns path to join and a matching userns mapping specified -- you may only provide one",
    );
    Ok(())
}
