//! The command line, mirroring runc's: global flags, then one subcommand.
//! Each subcommand is a thin call into `container`; no lifecycle logic here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::container::create::CreateOptions;
use crate::container::run::RunOptions;
use crate::container::{self, Globals};
use crate::error::{Error, Result};
use crate::logging;
use crate::state::DEFAULT_ROOT;

mod parse;
pub use parse::parse;

#[derive(Debug, Parser)]
#[command(
    name = "rrun",
    about = "rrun is a command line client for running applications packaged according to the Open Container Initiative (OCI) format",
    disable_version_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    pub flags: GlobalFlags,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The global flags, before the subcommand (runc's).
#[derive(Debug, Args)]
pub struct GlobalFlags {
    /// root directory for storage of container state (this should be located in tmpfs)
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// set the log file to write rrun logs to (default is stderr)
    #[arg(long, value_name = "FILE")]
    pub log: Option<PathBuf>,
    /// set the log format ('text' (default), or 'json')
    #[arg(long = "log-format", default_value = "text")]
    pub log_format: String,
    /// enable debug logging
    #[arg(long)]
    pub debug: bool,
    /// accepted for compatibility: "slice:prefix:name" paths map to cgroupfs
    #[arg(long = "systemd-cgroup")]
    pub systemd_cgroup: bool,
    /// ignore cgroup permission errors ('true', 'false', or 'auto')
    #[arg(long, default_value = "auto")]
    pub rootless: String,
    /// print the version
    #[arg(short = 'v', long)]
    pub version: bool,
}

/// The subcommand argv names, found without parsing all of it: the first
/// argument that is neither a global flag nor a global flag's value. Lets
/// `main` re-execute create, run and exec before the full parse.
pub fn subcommand_in(args: &[std::ffi::OsString]) -> Option<&str> {
    const TAKES_VALUE: &[&str] = &["--root", "--log", "--log-format", "--rootless"];
    // A value that is not UTF-8 (a --root path) is skipped like any other.
    let mut args = args.iter().map(|a| a.to_str().unwrap_or(""));
    while let Some(arg) = args.next() {
        if TAKES_VALUE.contains(&arg) {
            args.next();
        } else if !arg.starts_with('-') {
            return Some(arg);
        }
    }
    None
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// create a container
    Create(CreateArgs),
    /// executes the user defined process in a created container
    Start(IdArg),
    /// output the state of a container
    State(IdArg),
    /// kill sends the specified signal (default: SIGTERM) to the container's init process
    Kill(KillArgs),
    /// delete any resources held by the container often used with detached container
    Delete(DeleteArgs),
    /// create and run a container
    Run(RunArgs),
    /// lists containers started by rrun with the given root
    List(ListArgs),
    /// create a new specification file
    Spec(SpecArgs),
    /// show the enabled features
    Features,
    /// pause suspends all processes inside the container
    Pause(IdArg),
    /// resumes all processes that have been previously paused
    Resume(IdArg),
    /// ps displays the processes running inside a container
    Ps(PsArgs),
    /// execute new process inside the container
    Exec(Box<ExecArgs>),
    /// update container resource constraints
    Update(Box<UpdateArgs>),
    /// display container events such as OOM notifications, cpu, memory, and IO usage statistics
    Events(EventsArgs),
    /// checkpoint a running container (needs CRIU: refused with the reason until rrun supports it)
    Checkpoint(Box<CheckpointArgs>),
    /// restore a container from a previous checkpoint (needs CRIU: refused with the reason until rrun supports it)
    Restore(Box<RestoreArgs>),
}

/// runc's checkpoint flags, accepted for compatibility.
#[derive(Debug, Args)]
pub struct CheckpointArgs {
    /// path for saving criu image files
    #[arg(long = "image-path")]
    pub image_path: Option<PathBuf>,
    /// path for saving work files and logs
    #[arg(long = "work-path")]
    pub work_path: Option<PathBuf>,
    /// path for previous criu image files in pre-dump
    #[arg(long = "parent-path")]
    pub parent_path: Option<PathBuf>,
    /// leave the process running after checkpointing
    #[arg(long = "leave-running")]
    pub leave_running: bool,
    /// allow open tcp connections
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// skip in-flight tcp connections
    #[arg(long = "tcp-skip-in-flight")]
    pub tcp_skip_in_flight: bool,
    /// allow to link unlinked files back when possible
    #[arg(long = "link-remap")]
    pub link_remap: bool,
    /// allow external unix sockets
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// allow shell jobs
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// use userfaultfd to lazily restore memory pages
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
    /// criu writes \0 to this FD once lazy-pages is ready
    #[arg(long = "status-fd")]
    pub status_fd: Option<String>,
    /// ADDRESS:PORT of the page server
    #[arg(long = "page-server")]
    pub page_server: Option<String>,
    /// handle file locks, for safety
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// dump container's memory information only, leave the container running after this
    #[arg(long = "pre-dump")]
    pub pre_dump: bool,
    /// cgroups mode: soft|full|strict|ignore (default: soft)
    #[arg(long = "manage-cgroups-mode")]
    pub manage_cgroups_mode: Option<String>,
    /// create a namespace, but don't restore its properties
    #[arg(long = "empty-ns")]
    pub empty_ns: Vec<String>,
    /// enable auto deduplication of memory images
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    pub id: String,
}

/// runc's restore flags, accepted for compatibility.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// path to criu image files for restoring
    #[arg(long = "image-path")]
    pub image_path: Option<PathBuf>,
    /// path for saving work files and logs
    #[arg(long = "work-path")]
    pub work_path: Option<PathBuf>,
    /// allow open tcp connections
    #[arg(long = "tcp-established")]
    pub tcp_established: bool,
    /// allow external unix sockets
    #[arg(long = "ext-unix-sk")]
    pub ext_unix_sk: bool,
    /// allow shell jobs
    #[arg(long = "shell-job")]
    pub shell_job: bool,
    /// handle file locks, for safety
    #[arg(long = "file-locks")]
    pub file_locks: bool,
    /// cgroups mode: soft|full|strict|ignore (default: soft)
    #[arg(long = "manage-cgroups-mode")]
    pub manage_cgroups_mode: Option<String>,
    /// path to the root of the bundle directory
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// detach from the container's process
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// specify the file to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// disable the use of the subreaper used to reap reparented processes
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    /// do not use pivot root to jail process inside rootfs
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// create a namespace, but don't restore its properties
    #[arg(long = "empty-ns")]
    pub empty_ns: Vec<String>,
    /// enable auto deduplication of memory images
    #[arg(long = "auto-dedup")]
    pub auto_dedup: bool,
    /// use userfaultfd to lazily restore memory pages
    #[arg(long = "lazy-pages")]
    pub lazy_pages: bool,
    /// specify an LSM profile to be used during restore
    #[arg(long = "lsm-profile")]
    pub lsm_profile: Option<String>,
    /// specify an LSM mount context to be used during restore
    #[arg(long = "lsm-mount-context")]
    pub lsm_mount_context: Option<String>,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// display the container's stats then exit
    #[arg(long)]
    pub stats: bool,
    /// set the stats collection interval
    #[arg(long, default_value = "5s")]
    pub interval: String,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// path to a file containing the resources to update or '-' to read from the standard input
    #[arg(short = 'r', long)]
    pub resources: Option<PathBuf>,
    /// memory limit (in bytes, or with k/m/g)
    #[arg(long)]
    pub memory: Option<String>,
    /// memory reservation or soft limit
    #[arg(long = "memory-reservation")]
    pub memory_reservation: Option<String>,
    /// total memory usage (memory + swap); -1 for unlimited
    #[arg(long = "memory-swap", allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// kernel memory limit (cgroup v1)
    #[arg(long = "kernel-memory")]
    pub kernel_memory: Option<String>,
    /// kernel memory limit for tcp buffers (cgroup v1)
    #[arg(long = "kernel-memory-tcp")]
    pub kernel_memory_tcp: Option<String>,
    /// CPU shares (relative weight vs. other containers)
    #[arg(long = "cpu-share")]
    pub cpu_share: Option<u64>,
    /// CPU CFS period to be used for hardcapping (in usecs)
    #[arg(long = "cpu-period")]
    pub cpu_period: Option<u64>,
    /// CPU CFS hardcap limit (in usecs); -1 for unlimited
    #[arg(long = "cpu-quota", allow_hyphen_values = true)]
    pub cpu_quota: Option<i64>,
    /// CPU CFS burst (in usecs)
    #[arg(long = "cpu-burst")]
    pub cpu_burst: Option<u64>,
    /// CPU realtime period to be used for hardcapping (in usecs)
    #[arg(long = "cpu-rt-period")]
    pub cpu_rt_period: Option<u64>,
    /// CPU realtime hardcap limit (in usecs)
    #[arg(long = "cpu-rt-runtime")]
    pub cpu_rt_runtime: Option<i64>,
    /// set cgroup SCHED_IDLE or not (0 or 1)
    #[arg(long = "cpu-idle")]
    pub cpu_idle: Option<i64>,
    /// CPU(s) to use
    #[arg(long = "cpuset-cpus")]
    pub cpuset_cpus: Option<String>,
    /// memory node(s) to use
    #[arg(long = "cpuset-mems")]
    pub cpuset_mems: Option<String>,
    /// maximum number of pids allowed in the container; -1 for unlimited
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    /// specifies per cgroup weight, range is from 10 to 1000
    #[arg(long = "blkio-weight")]
    pub blkio_weight: Option<u16>,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    /// path to the process.json
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// detach from the container's process
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// specify the file to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// add a capability to the bounding set for the process
    #[arg(short = 'c', long = "cap")]
    pub cap: Vec<String>,
    /// set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// UID (format: <uid>[:<gid>])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// additional gids
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// current working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    /// run the process in an (existing) sub-cgroup(s): [controller:]path
    #[arg(long)]
    pub cgroup: Vec<String>,
    /// set the apparmor profile for the process
    #[arg(long)]
    pub apparmor: Option<String>,
    /// set the asm process label for the process commonly used with selinux
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// set the no new privileges value for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// allow exec in a paused container
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    pub id: String,
    /// the command and its arguments
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct IdArg {
    pub id: String,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// path to the root of the bundle directory, defaults to the current directory
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// specify the file to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// do not use pivot root to jail process inside rootfs
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// do not create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: u32,
    pub id: String,
}

impl CreateArgs {
    fn options(&self) -> CreateOptions {
        CreateOptions {
            id: self.id.clone(),
            bundle: self.bundle.clone(),
            console_socket: self.console_socket.clone(),
            pid_file: self.pid_file.clone(),
            no_pivot: self.no_pivot,
            no_new_keyring: self.no_new_keyring,
            preserve_fds: self.preserve_fds,
            detach: true,
        }
    }
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub create: CreateArgs,
    /// detach from the container's process
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// do not delete the container after it exits
    #[arg(long)]
    pub keep: bool,
    /// disable the use of the subreaper used to reap reparented processes
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
}

#[derive(Debug, Args)]
pub struct KillArgs {
    /// send the specified signal to all processes inside the container
    #[arg(short = 'a', long)]
    pub all: bool,
    pub id: String,
    pub signal: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// Forcibly deletes the container if it is still running (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    pub id: String,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// select one of: table or json
    #[arg(short = 'f', long, default_value = "table")]
    pub format: String,
    /// display only container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct SpecArgs {
    /// path to the root of the bundle directory
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// generate a configuration for a rootless container
    #[arg(long)]
    pub rootless: bool,
}

#[derive(Debug, Args)]
pub struct PsArgs {
    /// select one of: table or json
    #[arg(short = 'f', long, default_value = "table")]
    pub format: String,
    pub id: String,
    /// arguments passed to ps
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_args: Vec<String>,
}

pub fn version_text() -> String {
    format!(
        "rrun version {}\ncommit: {}\nspec: {}\n",
        crate::VERSION,
        if crate::COMMIT.is_empty() {
            "unknown"
        } else {
            crate::COMMIT
        },
        crate::OCI_VERSION
    )
}

/// /run/rrun, or $XDG_RUNTIME_DIR/rrun where runc would honour it: for a
/// non-root user, and for root inside a user namespace (rootless podman
/// runs the runtime so) unless $USER is root.
fn default_root() -> PathBuf {
    let xdg = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty());
    let non_root = !nix::unistd::geteuid().is_root();
    let honour = non_root
        || (crate::userns::running_in_user_ns()
            && std::env::var("USER").map_or(true, |u| u != "root"));
    match xdg {
        Some(dir) if honour => PathBuf::from(dir).join("rrun"),
        None if non_root => PathBuf::from(format!("/tmp/rrun-{}", nix::unistd::geteuid())),
        _ => PathBuf::from(DEFAULT_ROOT),
    }
}

impl Cli {
    pub fn globals(&self) -> Globals {
        // --rootless auto: not root, or root of a user namespace (runc's rule
        // for cgroupfs).
        let rootless = match self.flags.rootless.as_str() {
            "true" => true,
            "false" => false,
            _ => crate::userns::rootless_caller(),
        };
        Globals {
            root: self.flags.root.clone().unwrap_or_else(default_root),
            systemd_cgroup: self.flags.systemd_cgroup,
            rootless,
        }
    }

    /// The operation and container id, to prefix errors with.
    pub fn context(&self) -> String {
        match &self.command {
            Some(Command::Create(a)) => format!("create {}", a.id),
            Some(Command::Run(a)) => format!("run {}", a.create.id),
            Some(Command::Start(a)) => format!("start {}", a.id),
            Some(Command::State(a)) => format!("state {}", a.id),
            Some(Command::Kill(a)) => format!("kill {}", a.id),
            Some(Command::Delete(a)) => format!("delete {}", a.id),
            Some(Command::Pause(a)) => format!("pause {}", a.id),
            Some(Command::Resume(a)) => format!("resume {}", a.id),
            Some(Command::Ps(a)) => format!("ps {}", a.id),
            Some(Command::Exec(a)) => format!("exec {}", a.id),
            Some(Command::Update(a)) => format!("update {}", a.id),
            Some(Command::Events(a)) => format!("events {}", a.id),
            Some(Command::List(_)) => "list".into(),
            Some(Command::Spec(_)) => "spec".into(),
            Some(Command::Features) => "features".into(),
            Some(Command::Checkpoint(a)) => format!("checkpoint {}", a.id),
            Some(Command::Restore(a)) => format!("restore {}", a.id),
            None => "rrun".into(),
        }
    }
}

/// Run the command; returns the process exit status.
pub fn dispatch(cli: &Cli) -> Result<i32> {
    let g = cli.globals();
    if cli.flags.systemd_cgroup {
        logging::debug("--systemd-cgroup: no systemd here, cgroupfs paths are used");
    }
    let out = |s: String| {
        use std::io::Write;
        let _ = std::io::stdout().write_all(s.as_bytes());
    };
    match &cli.command {
        None => Err(Error::Other("no command given (see --help)".into())),
        Some(Command::Create(a)) => container::create::create(&g, &a.options(), true).map(|_| 0),
        Some(Command::Run(a)) => container::run::run(
            &g,
            &RunOptions {
                create: a.create.options(),
                detach: a.detach,
                keep: a.keep,
                no_subreaper: a.no_subreaper,
            },
        ),
        Some(Command::Start(a)) => container::start::start(&g, &a.id).map(|_| 0),
        Some(Command::State(a)) => container::state_json(&g, &a.id).map(|s| {
            out(s);
            0
        }),
        Some(Command::Kill(a)) => {
            container::kill::kill(&g, &a.id, a.signal.as_deref(), a.all).map(|_| 0)
        }
        Some(Command::Delete(a)) => container::delete::delete(&g, &a.id, a.force).map(|_| 0),
        Some(Command::List(a)) => container::list::list(&g, &a.format, a.quiet).map(|s| {
            out(s);
            0
        }),
        Some(Command::Spec(a)) => {
            let cgroup_ns =
                crate::cgroups::detect::Layout::detect().is_some_and(|l| l.is_unified());
            let mut spec = crate::spec::default::default_spec(cgroup_ns);
            if a.rootless {
                crate::spec::default::make_rootless(
                    &mut spec,
                    nix::unistd::geteuid().as_raw(),
                    nix::unistd::getegid().as_raw(),
                );
            }
            crate::spec::default::write_spec(&a.bundle, &spec).map(|_| 0)
        }
        Some(Command::Features) => {
            out(crate::features::render());
            Ok(0)
        }
        Some(Command::Checkpoint(a)) => container::checkpoint::checkpoint(&g, &a.id).map(|_| 0),
        Some(Command::Restore(a)) => container::checkpoint::restore(&a.bundle).map(|_| 0),
        Some(Command::Pause(a)) => container::pause::pause(&g, &a.id).map(|_| 0),
        Some(Command::Resume(a)) => container::pause::resume(&g, &a.id).map(|_| 0),
        Some(Command::Ps(a)) => container::ps::ps(&g, &a.id, &a.format, &a.ps_args).map(|s| {
            out(s);
            0
        }),
        Some(Command::Update(a)) => container::update::update(
            &g,
            &a.id,
            &container::update::UpdateOptions {
                resources: a.resources.clone(),
                memory: a.memory.clone(),
                memory_reservation: a.memory_reservation.clone(),
                memory_swap: a.memory_swap.clone(),
                kernel_memory: a.kernel_memory.clone(),
                kernel_memory_tcp: a.kernel_memory_tcp.clone(),
                cpu_shares: a.cpu_share,
                cpu_period: a.cpu_period,
                cpu_quota: a.cpu_quota,
                cpu_burst: a.cpu_burst,
                cpu_rt_period: a.cpu_rt_period,
                cpu_rt_runtime: a.cpu_rt_runtime,
                cpu_idle: a.cpu_idle,
                cpuset_cpus: a.cpuset_cpus.clone(),
                cpuset_mems: a.cpuset_mems.clone(),
                pids_limit: a.pids_limit,
                blkio_weight: a.blkio_weight,
            },
        )
        .map(|_| 0),
        Some(Command::Events(a)) => container::events::parse_interval(&a.interval)
            .and_then(|i| container::events::events(&g, &a.id, a.stats, i))
            .map(|_| 0),
        Some(Command::Exec(a)) => container::exec::exec(
            &g,
            &container::exec::ExecOptions {
                id: a.id.clone(),
                process: a.process.clone(),
                tty: a.tty,
                detach: a.detach,
                pid_file: a.pid_file.clone(),
                console_socket: a.console_socket.clone(),
                caps: a.cap.clone(),
                env: a.env.clone(),
                user: a.user.clone(),
                additional_gids: a.additional_gids.clone(),
                cwd: a.cwd.clone(),
                preserve_fds: a.preserve_fds,
                cgroup: a.cgroup.clone(),
                apparmor: a.apparmor.clone(),
                process_label: a.process_label.clone(),
                no_new_privs: a.no_new_privs,
                ignore_paused: a.ignore_paused,
                args: a.command.clone(),
            },
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::subcommand_in;

    fn sub(args: &[&str]) -> Option<String> {
        let args: Vec<std::ffi::OsString> = args.iter().map(|a| a.into()).collect();
        subcommand_in(&args).map(str::to_string)
    }

    #[test]
    fn finds_the_subcommand_after_global_flags() {
        assert_eq!(sub(&["run", "-b", "x", "id"]).as_deref(), Some("run"));
        assert_eq!(
            sub(&["--root", "run", "state", "x"]).as_deref(),
            Some("state")
        );
        assert_eq!(
            sub(&["--root=/r", "--debug", "exec", "x"]).as_deref(),
            Some("exec")
        );
        assert_eq!(
            sub(&["--log", "create", "--log-format", "json", "create"]).as_deref(),
            Some("create")
        );
        assert_eq!(sub(&["--version"]), None);
    }
}
