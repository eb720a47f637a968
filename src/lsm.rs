//! Linux security modules: AppArmor (process.apparmorProfile, applied at
//! execve through the procfs attr interface, verified to be real procfs) and
//! SELinux (process.selinuxLabel, applied the same way where enabled).

use crate::proc_files::ProcRoot;

pub fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

pub fn selinux_enabled() -> bool {
    std::path::Path::new("/sys/fs/selinux/enforce").exists()
}

/// Ask for `profile` at the next execve.
pub fn apparmor_exec(proc: &ProcRoot, profile: &str) -> nix::Result<()> {
    let data = format!("exec {profile}");
    // Newer kernels have a per-LSM directory; older ones the shared attr file.
    proc.write("thread-self/attr/apparmor/exec", data.as_bytes())
        .or_else(|_| proc.write("thread-self/attr/exec", data.as_bytes()))
}

/// Set the SELinux label of the next execve.
pub fn selinux_exec(proc: &ProcRoot, label: &str) -> nix::Result<()> {
    proc.write("thread-self/attr/exec", label.as_bytes())
}
