//! The only home of `unsafe`: thin wrappers over the raw system calls that nix
//! does not offer (clone3, pidfd, close_range, openat2, the new mount API,
//! capset, keyctl, ioprio, sched_setattr, set_mempolicy) and the few libc calls
//! that need a pointer. Every wrapper returns `nix::Result` and does nothing else.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

/// Result of a raw syscall: -1 becomes the thread's errno.
fn check(ret: libc::c_long) -> nix::Result<libc::c_long> {
    if ret == -1 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

fn check_int(ret: libc::c_int) -> nix::Result<libc::c_int> {
    if ret == -1 {
        Err(Errno::last())
    } else {
        Ok(ret)
    }
}

// ---------------------------------------------------------------- clone3

#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// What `clone3` returned on this side of the fork.
pub enum Forked {
    /// In the parent: the child's pid and, when asked for, its pidfd.
    Parent { pid: i32, pidfd: Option<OwnedFd> },
    /// In the child.
    Child,
}

pub const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// fork-like clone3 (no new stack: the child continues on a copy of ours).
/// Only sound while the calling process is single-threaded, which rrun is.
pub fn clone3(flags: u64, want_pidfd: bool, cgroup_fd: Option<RawFd>) -> nix::Result<Forked> {
    let mut pidfd: libc::c_int = -1;
    // With CLONE_PARENT the child inherits our exit signal; clone3 refuses
    // an explicit one.
    let exit_signal = if flags & libc::CLONE_PARENT as u64 != 0 {
        0
    } else {
        libc::SIGCHLD as u64
    };
    let mut args = CloneArgs {
        flags,
        exit_signal,
        ..Default::default()
    };
    if want_pidfd {
        args.flags |= libc::CLONE_PIDFD as u64;
        args.pidfd = &mut pidfd as *mut libc::c_int as u64;
    }
    if let Some(fd) = cgroup_fd {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = fd as u64;
    }
    // SAFETY: args is a valid clone_args of the size we pass; no stack is given,
    // so the kernel duplicates ours as fork does.
    let ret = check(unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &mut args as *mut CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    })?;
    if ret == 0 {
        return Ok(Forked::Child);
    }
    let pidfd = if want_pidfd && pidfd >= 0 {
        // SAFETY: the kernel just gave us this descriptor.
        Some(unsafe { OwnedFd::from_raw_fd(pidfd) })
    } else {
        None
    };
    Ok(Forked::Parent {
        pid: ret as i32,
        pidfd,
    })
}

/// What std's start-up does that rrun relies on (src/main.rs skips the
/// rest): descriptors 0, 1 and 2 open, on /dev/null where they were closed
/// (no file rrun opens may become a container's stdio by taking their
/// number), and SIGPIPE ignored (a closed pipe is an EPIPE error, not
/// death; the container's process gets its signals reset).
pub fn standard_start() {
    let mut fds = [0, 1, 2].map(|fd| libc::pollfd {
        fd,
        events: 0,
        revents: 0,
    });
    // SAFETY: poll on our own array of three entries.
    let polled = unsafe { libc::poll(fds.as_mut_ptr(), 3, 0) } >= 0;
    for p in &fds {
        let closed = if polled {
            p.revents & libc::POLLNVAL != 0
        } else {
            // SAFETY: fcntl(F_GETFD) only inspects the descriptor.
            let flags = unsafe { libc::fcntl(p.fd, libc::F_GETFD) };
            flags < 0 && Errno::last() == Errno::EBADF
        };
        // The lowest free number is this one: 0, 1 and 2 are done in order.
        // SAFETY: open of a constant path; the descriptor is kept for good.
        if closed && unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) } != p.fd {
            // SAFETY: abort is always safe; std aborts here too.
            unsafe { libc::abort() };
        }
    }
    // SAFETY: setting a signal's disposition to SIG_IGN.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// Leave the process at once, without running atexit handlers or flushing
/// stdio buffers shared with the parent.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

// ---------------------------------------------------------------- pidfd

pub fn pidfd_open(pid: i32) -> nix::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the kernel just gave us this descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> nix::Result<()> {
    // SAFETY: plain syscall; a null siginfo means "as kill(2) would".
    check(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    })?;
    Ok(())
}

// ---------------------------------------------------------------- fds

pub const CLOSE_RANGE_CLOEXEC: u32 = 1 << 2;

/// Clear close-on-exec: `fd` survives the next execve.
pub fn keep_on_exec(fd: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: F_SETFD on a descriptor we hold.
    check_int(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) })?;
    Ok(())
}

/// Mark every descriptor from `first` upwards close-on-exec.
pub fn close_range_cloexec(first: u32) -> nix::Result<()> {
    // SAFETY: plain syscall with integer arguments.
    check(unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, CLOSE_RANGE_CLOEXEC) })?;
    Ok(())
}

/// Duplicate `fd` onto the lowest free number >= `min`, close-on-exec.
pub fn dup_above(fd: BorrowedFd<'_>, min: RawFd) -> nix::Result<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor we then own.
    let new = check_int(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, min) })?;
    // SAFETY: the kernel just gave us this descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(new) })
}

/// Clear or set O_NONBLOCK.
pub fn set_nonblocking(fd: BorrowedFd<'_>, on: bool) -> nix::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a descriptor we hold.
    let flags = check_int(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let flags = if on {
        flags | libc::O_NONBLOCK
    } else {
        flags & !libc::O_NONBLOCK
    };
    // SAFETY: as above.
    check_int(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, flags) })?;
    Ok(())
}

// ---------------------------------------------------------------- openat2

pub const RESOLVE_NO_XDEV: u64 = 0x01;
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// openat2(2): open `path` relative to `dirfd` under the `resolve` rules.
pub fn openat2(
    dirfd: BorrowedFd<'_>,
    path: &CStr,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> nix::Result<OwnedFd> {
    let mut how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: mode as u64,
        resolve,
    };
    loop {
        // SAFETY: how and path are valid for the duration of the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dirfd.as_raw_fd(),
                path.as_ptr(),
                &mut how as *mut OpenHow,
                std::mem::size_of::<OpenHow>(),
            )
        };
        match check(ret) {
            // EAGAIN: a concurrent rename raced the lookup; try again.
            Err(Errno::EAGAIN) => continue,
            Err(e) => return Err(e),
            // SAFETY: the kernel just gave us this descriptor.
            Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) }),
        }
    }
}

// ---------------------------------------------------------------- mount API

pub const OPEN_TREE_CLONE: u32 = 1;
pub const OPEN_TREE_CLOEXEC: u32 = libc::O_CLOEXEC as u32;
pub const AT_RECURSIVE: u32 = 0x8000;
pub const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x4;
pub const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;
pub const FSOPEN_CLOEXEC: u32 = 1;
pub const FSMOUNT_CLOEXEC: u32 = 1;
pub const FSCONFIG_SET_FLAG: u32 = 0;
pub const FSCONFIG_SET_STRING: u32 = 1;
pub const FSCONFIG_CMD_CREATE: u32 = 6;

pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x8;
pub const MOUNT_ATTR_RELATIME: u64 = 0x0;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

/// struct mount_attr for mount_setattr(2).
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

pub fn open_tree(dirfd: BorrowedFd<'_>, path: &CStr, flags: u32) -> nix::Result<OwnedFd> {
    // SAFETY: path is a valid C string; returns a new descriptor.
    let fd = check(unsafe {
        libc::syscall(libc::SYS_open_tree, dirfd.as_raw_fd(), path.as_ptr(), flags)
    })?;
    // SAFETY: the kernel just gave us this descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// Attach the detached mount `from` onto the file `to` refers to.
pub fn move_mount_fd(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: both paths are the empty string, the fds name the objects.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    })?;
    Ok(())
}

pub fn mount_setattr(fd: BorrowedFd<'_>, recursive: bool, attr: &MountAttr) -> nix::Result<()> {
    let flags = libc::AT_EMPTY_PATH as u32 | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: attr is a valid mount_attr of the size we pass.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })?;
    Ok(())
}

pub fn fsopen(fstype: &CStr) -> nix::Result<OwnedFd> {
    // SAFETY: fstype is a valid C string.
    let fd = check(unsafe { libc::syscall(libc::SYS_fsopen, fstype.as_ptr(), FSOPEN_CLOEXEC) })?;
    // SAFETY: the kernel just gave us this descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// fsconfig(2) for a flag (`value` None) or a string parameter.
pub fn fsconfig_set(fsfd: BorrowedFd<'_>, key: &CStr, value: Option<&CStr>) -> nix::Result<()> {
    let (cmd, val) = match value {
        Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
        None => (FSCONFIG_SET_FLAG, std::ptr::null()),
    };
    // SAFETY: key and val are valid C strings or null as the command requires.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fsfd.as_raw_fd(),
            cmd,
            key.as_ptr(),
            val,
            0,
        )
    })?;
    Ok(())
}

pub fn fsconfig_create(fsfd: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: plain command, no pointers.
    check(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fsfd.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_char>(),
            0,
        )
    })?;
    Ok(())
}

pub fn fsmount(fsfd: BorrowedFd<'_>, attr_flags: u64) -> nix::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let fd = check(unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fsfd.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            attr_flags,
        )
    })?;
    // SAFETY: the kernel just gave us this descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// The kernel's own words about the last fsconfig failure, if it left any.
pub fn fs_context_message(fsfd: BorrowedFd<'_>) -> Option<String> {
    let mut buf = [0u8; 512];
    // SAFETY: reading into a buffer we own.
    let n = unsafe { libc::read(fsfd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n <= 2 {
        return None;
    }
    let text = String::from_utf8_lossy(&buf[..n as usize]);
    // Messages look like "e proc: Unknown parameter 'x'".
    Some(text.get(2..).unwrap_or_default().trim().to_string())
}

// ---------------------------------------------------------------- capabilities

const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Default, Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// capset(2) on ourselves with the three 64-bit sets.
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> nix::Result<()> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: inheritable as u32,
        },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and data are the v3 layout the kernel expects.
    check(unsafe {
        libc::syscall(
            libc::SYS_capset,
            &mut header as *mut CapHeader,
            data.as_ptr(),
        )
    })?;
    Ok(())
}

/// Is capability `cap` in our bounding set?
pub fn cap_in_bounding(cap: u32) -> bool {
    // SAFETY: prctl with integer arguments.
    unsafe { libc::prctl(libc::PR_CAPBSET_READ, cap as libc::c_ulong, 0, 0, 0) == 1 }
}

pub fn cap_drop_bounding(cap: u32) -> nix::Result<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(libc::PR_CAPBSET_DROP, cap as libc::c_ulong, 0, 0, 0) })?;
    Ok(())
}

pub fn cap_ambient_clear() -> nix::Result<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as libc::c_ulong,
            0,
            0,
            0,
        )
    })?;
    Ok(())
}

pub fn cap_ambient_raise(cap: u32) -> nix::Result<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe {
        libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_RAISE as libc::c_ulong,
            cap as libc::c_ulong,
            0,
            0,
        )
    })?;
    Ok(())
}

pub fn set_keepcaps(on: bool) -> nix::Result<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, on as libc::c_ulong, 0, 0, 0) })?;
    Ok(())
}

pub fn set_no_new_privs() -> nix::Result<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) })?;
    Ok(())
}

pub fn set_dumpable(on: bool) -> nix::Result<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) })?;
    Ok(())
}

pub fn set_child_subreaper() -> nix::Result<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) })?;
    Ok(())
}

pub fn set_parent_death_signal(sig: i32) -> nix::Result<()> {
    // SAFETY: prctl with integer arguments.
    check_int(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, sig as libc::c_ulong, 0, 0, 0) })?;
    Ok(())
}

// ---------------------------------------------------------------- misc process attributes

pub fn setdomainname(name: &[u8]) -> nix::Result<()> {
    // SAFETY: the pointer and length describe `name`.
    check_int(unsafe { libc::setdomainname(name.as_ptr().cast(), name.len()) })?;
    Ok(())
}

/// Join a new anonymous session keyring (keyctl(KEYCTL_JOIN_SESSION_KEYRING)).
pub fn join_session_keyring(name: &CStr) -> nix::Result<()> {
    const KEYCTL_JOIN_SESSION_KEYRING: libc::c_long = 1;
    // SAFETY: name is a valid C string.
    check(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) })?;
    Ok(())
}

pub fn ioprio_set_self(prio: i32) -> nix::Result<()> {
    const IOPRIO_WHO_PROCESS: libc::c_int = 1;
    // SAFETY: plain syscall with integer arguments.
    check(unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) })?;
    Ok(())
}

/// struct sched_attr for sched_setattr(2).
#[repr(C)]
#[derive(Default, Debug, Clone, Copy)]
pub struct SchedAttr {
    pub size: u32,
    pub sched_policy: u32,
    pub sched_flags: u64,
    pub sched_nice: i32,
    pub sched_priority: u32,
    pub sched_runtime: u64,
    pub sched_deadline: u64,
    pub sched_period: u64,
}

pub fn sched_setattr_self(attr: &SchedAttr) -> nix::Result<()> {
    let mut a = *attr;
    a.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: a is a valid sched_attr of the size it claims.
    check(unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &mut a as *mut SchedAttr, 0) })?;
    Ok(())
}

pub fn set_mempolicy(mode: i32, nodemask: &[libc::c_ulong], maxnode: u64) -> nix::Result<()> {
    let ptr = if nodemask.is_empty() {
        std::ptr::null()
    } else {
        nodemask.as_ptr()
    };
    // SAFETY: the mask pointer covers maxnode bits or is null.
    check(unsafe { libc::syscall(libc::SYS_set_mempolicy, mode, ptr, maxnode) })?;
    Ok(())
}

pub fn personality(persona: libc::c_ulong) -> nix::Result<()> {
    // SAFETY: plain call with an integer argument.
    check_int(unsafe { libc::personality(persona) })?;
    Ok(())
}

pub fn sched_setaffinity_self(cpus: &[usize]) -> nix::Result<()> {
    let mut set = nix::sched::CpuSet::new();
    for &c in cpus {
        set.set(c)?;
    }
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set)
}

/// TIOCGPTPEER: open the peer (slave) of a pty master without a path lookup.
pub fn pty_peer(master: BorrowedFd<'_>) -> nix::Result<OwnedFd> {
    const TIOCGPTPEER: libc::c_ulong = 0x5441;
    // SAFETY: ioctl returns a new descriptor we then own.
    let fd = check_int(unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    })?;
    // SAFETY: the kernel just gave us this descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

pub fn unlockpt(master: BorrowedFd<'_>) -> nix::Result<()> {
    let unlock: libc::c_int = 0;
    // SAFETY: TIOCSPTLCK takes a pointer to an int.
    check_int(unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) })?;
    Ok(())
}

pub fn set_controlling_tty(fd: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: TIOCSCTTY takes an integer argument.
    check_int(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSCTTY, 0) })?;
    Ok(())
}

pub fn get_winsize(fd: BorrowedFd<'_>) -> nix::Result<libc::winsize> {
    // SAFETY: winsize is plain data the ioctl fills in.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes a winsize.
    check_int(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) })?;
    Ok(ws)
}

pub fn set_winsize(fd: BorrowedFd<'_>, ws: &libc::winsize) -> nix::Result<()> {
    // SAFETY: TIOCSWINSZ reads a winsize.
    check_int(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCSWINSZ, ws) })?;
    Ok(())
}

/// Reset the `ignored` signals to their default disposition (execve resets
/// caught ones itself) and unblock all signals, so the container process
/// starts with a clean slate.
pub fn reset_signals(ignored: u64) {
    // execve resets caught signals itself; only ignored ones survive it.
    for sig in 1..=libc::SIGRTMAX() {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP || ignored & (1u64 << (sig - 1)) == 0 {
            continue;
        }
        set_default_disposition(sig);
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&nix::sys::signal::SigSet::empty()),
        None,
    );
}

/// rt_sigaction(sig, SIG_DFL) as a raw syscall: glibc's signal() refuses
/// the signals it reserves (32, 33), which a caller may still have ignored.
fn set_default_disposition(sig: i32) {
    // The kernel's struct sigaction on x86_64: handler, flags, restorer, mask.
    let act: [u64; 4] = [libc::SIG_DFL as u64, 0, 0, 0];
    // SAFETY: a valid kernel sigaction for the size given; no old action read.
    unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            act.as_ptr(),
            std::ptr::null_mut::<u64>(),
            8usize,
        );
    }
}

/// execve(2) with prebuilt argv and envp; returns only on failure.
pub fn execve(path: &CStr, argv: &[std::ffi::CString], envp: &[std::ffi::CString]) -> Errno {
    match nix::unistd::execve(path, argv, envp) {
        Ok(never) => match never {},
        Err(e) => e,
    }
}

/// Make a spawned helper (a hook) start with only stdio: every other
/// descriptor is closed at its execve.
pub fn close_extra_fds_on_exec(cmd: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: the closure only makes one async-signal-safe syscall.
    unsafe {
        cmd.pre_exec(|| {
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC);
            Ok(())
        });
    }
}

/// setrlimit(2) on ourselves.
pub fn setrlimit(resource: i32, soft: u64, hard: u64) -> nix::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: lim is a valid rlimit.
    check_int(unsafe { libc::setrlimit(resource as _, &lim) })?;
    Ok(())
}

/// faccessat(2) with AT_EACCESS: may the effective ids execute `path`?
pub fn can_execute(path: &CStr) -> nix::Result<()> {
    // SAFETY: path is a valid C string.
    check_int(unsafe {
        libc::faccessat(libc::AT_FDCWD, path.as_ptr(), libc::X_OK, libc::AT_EACCESS)
    })?;
    Ok(())
}

/// seccomp(SECCOMP_SET_MODE_FILTER) with a classic BPF program; returns the
/// notification listener when SECCOMP_FILTER_FLAG_NEW_LISTENER is given.
pub fn seccomp_set_filter(flags: u32, bpf: &[u8]) -> nix::Result<Option<OwnedFd>> {
    if bpf.len() % 8 != 0 || bpf.is_empty() || bpf.len() / 8 > u16::MAX as usize {
        return Err(Errno::EINVAL);
    }
    let prog = libc::sock_fprog {
        len: (bpf.len() / 8) as u16,
        filter: bpf.as_ptr() as *mut libc::sock_filter,
    };
    // SAFETY: prog points at bpf, which outlives the call; the kernel copies it.
    let ret = check(unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    })?;
    if flags & crate::seccomp::FLAG_NEW_LISTENER != 0 {
        // SAFETY: with NEW_LISTENER the return value is a new descriptor.
        Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as RawFd) }))
    } else {
        Ok(None)
    }
}

/// Does the kernel accept this seccomp filter flag? (A NULL program gives
/// EFAULT when the flag is known, EINVAL when it is not.)
pub fn seccomp_flag_supported(flag: u32) -> bool {
    // SAFETY: a NULL program is never dereferenced: the kernel fails first.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flag,
            std::ptr::null::<u8>(),
        )
    };
    ret == -1 && Errno::last() == Errno::EFAULT
}

/// A NETLINK_ROUTE socket.
pub fn netlink_route_socket() -> nix::Result<OwnedFd> {
    // SAFETY: plain socket(2).
    let fd = check_int(unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    })?;
    // SAFETY: the kernel just gave us this descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// if_nametoindex(3): the index of a network interface in our namespace.
pub fn if_nametoindex(name: &CStr) -> Option<i32> {
    // SAFETY: name is a valid C string.
    let i = unsafe { libc::if_nametoindex(name.as_ptr()) };
    (i != 0).then_some(i as i32)
}

/// execveat(fd, "", argv, envp, AT_EMPTY_PATH): execute the file `fd`
/// refers to; returns only on failure.
pub fn execveat_empty(
    fd: BorrowedFd<'_>,
    argv: &[std::ffi::CString],
    envp: &[std::ffi::CString],
) -> Errno {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: argv and envp are NULL-terminated arrays of valid C strings
    // that outlive the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            a.as_ptr(),
            e.as_ptr(),
            libc::AT_EMPTY_PATH,
        );
    }
    Errno::last()
}

/// An executable memfd holding `data`, sealed against any change. MFD_EXEC
/// says so explicitly (vm.memfd_noexec=1 makes memfds non-executable by
/// default); kernels before 6.3 do not know the flag (EINVAL).
pub fn sealed_memfd(name: &CStr, data: &[u8]) -> nix::Result<OwnedFd> {
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: memfd_create with a valid C string; the result is checked.
    let create = |flags| unsafe { libc::memfd_create(name.as_ptr(), flags) };
    let mut raw = create(base | libc::MFD_EXEC);
    if raw < 0 && Errno::last() == Errno::EINVAL {
        raw = create(base);
    }
    check_int(raw)?;
    // SAFETY: memfd_create returned a new descriptor that we own.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let mut off = 0;
    while off < data.len() {
        off += nix::unistd::write(&fd, &data[off..])?;
    }
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: F_ADD_SEALS on a memfd we own.
    check_int(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) })?;
    Ok(fd)
}

/// Is `fd` (opened for reading) a memfd sealed against writes?
pub fn memfd_write_sealed(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: F_GET_SEALS on a descriptor we hold.
    let seals = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GET_SEALS) };
    seals > 0 && seals & libc::F_SEAL_WRITE != 0
}

/// bpf(2) for the cgroup v2 device filter (cgroups/ebpf.rs).
pub mod bpf {
    use std::ffi::CStr;
    use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

    use nix::errno::Errno;

    const BPF_PROG_LOAD: libc::c_long = 5;
    const BPF_PROG_ATTACH: libc::c_long = 8;
    const BPF_PROG_DETACH: libc::c_long = 9;
    const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
    const BPF_OBJ_GET_INFO_BY_FD: libc::c_long = 15;
    const BPF_PROG_QUERY: libc::c_long = 16;
    const BPF_OBJ_NAME_LEN: usize = 16;

    /// One command's part of union bpf_attr, followed by zeros: the kernel
    /// may write fields of a newer layout past our part (BPF_PROG_QUERY
    /// writes query.revision since Linux 6.6), so the buffer is bigger. No
    /// padding anywhere (the kernel wants unused bytes zero): every head is
    /// made of u32 and u64 fields, a multiple of its alignment, and the tail
    /// is u32s.
    #[repr(C)]
    struct Attr<T> {
        head: T,
        tail: [u32; 48],
    }

    /// bpf(cmd, attr): `T` must be a plain repr(C) struct of integers whose
    /// pointer fields (as u64) point at memory valid for the call.
    fn bpf<T>(cmd: libc::c_long, head: T) -> nix::Result<(libc::c_long, T)> {
        let mut attr = Attr {
            head,
            tail: [0; 48],
        };
        // SAFETY: attr is a zero-padded bpf_attr of the size we pass; the
        // pointers inside it are valid for the duration of the call.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_bpf,
                cmd,
                &mut attr as *mut Attr<T>,
                std::mem::size_of::<Attr<T>>(),
            )
        };
        if ret < 0 {
            Err(Errno::last())
        } else {
            Ok((ret, attr.head))
        }
    }

    fn owned(fd: libc::c_long) -> OwnedFd {
        // SAFETY: the kernel just returned this new descriptor.
        unsafe { OwnedFd::from_raw_fd(fd as RawFd) }
    }

    #[repr(C)]
    #[derive(Default)]
    struct ProgLoad {
        prog_type: u32,
        insn_cnt: u32,
        insns: u64,
        license: u64,
        log_level: u32,
        log_size: u32,
        log_buf: u64,
        kern_version: u32,
        prog_flags: u32,
        prog_name: [u8; BPF_OBJ_NAME_LEN],
    }

    /// BPF_PROG_LOAD of `code` (struct bpf_insn bytes). With `log`, the
    /// verifier writes its log there (level 1).
    pub fn prog_load(
        prog_type: u32,
        code: &[u8],
        license: &CStr,
        name: &[u8],
        log: Option<&mut [u8]>,
    ) -> nix::Result<OwnedFd> {
        if code.is_empty() || code.len() % 8 != 0 || name.len() >= BPF_OBJ_NAME_LEN {
            return Err(Errno::EINVAL);
        }
        let mut attr = ProgLoad {
            prog_type,
            insn_cnt: (code.len() / 8) as u32,
            insns: code.as_ptr() as u64,
            license: license.as_ptr() as u64,
            ..Default::default()
        };
        attr.prog_name[..name.len()].copy_from_slice(name);
        if let Some(log) = log {
            attr.log_level = 1;
            attr.log_size = log.len().min(u32::MAX as usize) as u32;
            attr.log_buf = log.as_mut_ptr() as u64;
        }
        bpf(BPF_PROG_LOAD, attr).map(|(fd, _)| owned(fd))
    }

    #[repr(C)]
    #[derive(Default)]
    struct ProgAttach {
        target_fd: u32,
        attach_bpf_fd: u32,
        attach_type: u32,
        attach_flags: u32,
    }

    pub fn prog_attach(
        target: BorrowedFd<'_>,
        prog: BorrowedFd<'_>,
        attach_type: u32,
        flags: u32,
    ) -> nix::Result<()> {
        let attr = ProgAttach {
            target_fd: target.as_raw_fd() as u32,
            attach_bpf_fd: prog.as_raw_fd() as u32,
            attach_type,
            attach_flags: flags,
        };
        bpf(BPF_PROG_ATTACH, attr).map(drop)
    }

    pub fn prog_detach(
        target: BorrowedFd<'_>,
        prog: BorrowedFd<'_>,
        attach_type: u32,
    ) -> nix::Result<()> {
        let attr = ProgAttach {
            target_fd: target.as_raw_fd() as u32,
            attach_bpf_fd: prog.as_raw_fd() as u32,
            attach_type,
            attach_flags: 0,
        };
        bpf(BPF_PROG_DETACH, attr).map(drop)
    }

    #[repr(C)]
    #[derive(Default)]
    struct ProgQuery {
        target_fd: u32,
        attach_type: u32,
        query_flags: u32,
        attach_flags: u32,
        prog_ids: u64,
        prog_cnt: u32,
        _pad: u32,
    }

    /// BPF_PROG_QUERY: fill `ids` with the programs attached to `target`
    /// itself; returns how many there are (ENOSPC when `ids` is too short
    /// and not empty; an empty `ids` only counts).
    pub fn prog_query(
        target: BorrowedFd<'_>,
        attach_type: u32,
        ids: &mut [u32],
    ) -> nix::Result<usize> {
        let attr = ProgQuery {
            target_fd: target.as_raw_fd() as u32,
            attach_type,
            prog_ids: if ids.is_empty() {
                0
            } else {
                ids.as_mut_ptr() as u64
            },
            prog_cnt: ids.len().min(u32::MAX as usize) as u32,
            ..Default::default()
        };
        bpf(BPF_PROG_QUERY, attr).map(|(_, a)| a.prog_cnt as usize)
    }

    #[repr(C)]
    #[derive(Default)]
    struct GetFdById {
        prog_id: u32,
        next_id: u32,
        open_flags: u32,
    }

    pub fn prog_get_fd_by_id(id: u32) -> nix::Result<OwnedFd> {
        let attr = GetFdById {
            prog_id: id,
            ..Default::default()
        };
        bpf(BPF_PROG_GET_FD_BY_ID, attr).map(|(fd, _)| owned(fd))
    }

    #[repr(C)]
    #[derive(Default)]
    struct InfoByFd {
        bpf_fd: u32,
        info_len: u32,
        info: u64,
    }

    /// The start of struct bpf_prog_info, up to the name.
    #[repr(C)]
    #[derive(Default)]
    struct ProgInfo {
        prog_type: u32,
        id: u32,
        tag: [u8; 8],
        jited_prog_len: u32,
        xlated_prog_len: u32,
        jited_prog_insns: u64,
        xlated_prog_insns: u64,
        load_time: u64,
        created_by_uid: u32,
        nr_map_ids: u32,
        map_ids: u64,
        name: [u8; BPF_OBJ_NAME_LEN],
    }

    /// The name a program was loaded with (NUL-padded).
    pub fn prog_name(prog: BorrowedFd<'_>) -> nix::Result<[u8; BPF_OBJ_NAME_LEN]> {
        let mut info = ProgInfo::default();
        let attr = InfoByFd {
            bpf_fd: prog.as_raw_fd() as u32,
            info_len: std::mem::size_of::<ProgInfo>() as u32,
            info: &mut info as *mut ProgInfo as u64,
        };
        bpf(BPF_OBJ_GET_INFO_BY_FD, attr)?;
        Ok(info.name)
    }
}
