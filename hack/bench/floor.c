/* floor.c - the kernel floor of `rrun run` for the default `rrun spec`
 * config on a cgroup v1 (or hybrid) host: exactly the kernel work that
 * config asks for, with raw syscalls, no parsing, no state and no error
 * reporting beyond an exit code. The benchmark times it beside the runtimes
 * so the report shows how close each comes to what the kernel itself costs.
 *
 * usage: floor ROOTFS CPUS MEMS CGDIR...
 *   ROOTFS  the bundle's rootfs (absolute), busybox with /bin/true
 *   CPUS    value for the new cpuset cgroup's cpuset.cpus (the parent's)
 *   MEMS    value for its cpuset.mems
 *   CGDIR   the container's directory in each v1 hierarchy, absolute, e.g.
 *           /sys/fs/cgroup/memory/<own cgroup>/<name>; the directory name
 *           after /sys/fs/cgroup/ names the mount inside the container.
 * The driver (bench.py) works these out once, outside the timed region,
 * as a runtime works them out from config.json and /proc.
 *
 * The work, in rrun's order (docs/performance.md lists it against rrun's
 * strace):
 *   parent: mkdir each cgroup; seed cpuset; devices deny-all + the default
 *           allow list; clone(NEWNS|NEWUTS|NEWIPC|NEWPID|NEWNET); write the
 *           pid to each cgroup.procs; release the child; wait; rmdir each.
 *   child:  setsid; sethostname; / rslave; bind the rootfs; proc, /dev tmpfs,
 *           devpts, shm, mqueue, sysfs ro, cgroup (tmpfs + a read-only bind
 *           of each hierarchy's container directory, tmpfs made ro); the six
 *           default devices and the /dev links; pivot_root; root ro;
 *           read-only paths; masked paths; session keyring; RLIMIT_NOFILE;
 *           no_new_privs; bounding-set drop; capset; execve /bin/true.
 * Exit status: the container's (0 for /bin/true); 100+ for a setup failure
 * (the step number), after removing the cgroups it made.
 *
 * Built with -DSELF_ATTACH (the benchmark's "floor, self-attach" row): the
 * same work, but the child joins its cgroups itself by writing "0" to each
 * hierarchy's `tasks` file instead of the parent writing its pid to
 * cgroup.procs. The kernel then skips the write side of
 * cgroup_threadgroup_rwsem (a single thread moving itself), and with it the
 * RCU grace period that percpu_down_write waits for on this host.
 * Built with -DFLOOR_CHECK: runs a shell that prints what the container got
 * (mounts, /dev, hostname, capabilities, rlimit, cgroups) instead of
 * /bin/true, to compare with the same command under rrun.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/prctl.h>
#include <sys/prctl.h>

#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x00000001
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#ifndef KEYCTL_JOIN_SESSION_KEYRING
#define KEYCTL_JOIN_SESSION_KEYRING 1
#endif

struct attr { uint64_t set, clr, propagation, userns_fd; };

static int set_ro(const char *path, int recursive)
{
    struct attr a = { MOUNT_ATTR_RDONLY, 0, 0, 0 };
    return (int)syscall(SYS_mount_setattr, AT_FDCWD, path,
                        recursive ? AT_RECURSIVE : 0, &a, sizeof a);
}

static int wr(const char *dir, const char *file, const char *val)
{
    char p[4096];
    size_t n = strlen(dir), m = strlen(file);
    if (n + m + 2 > sizeof p) return -1;
    memcpy(p, dir, n); p[n] = '/'; memcpy(p + n + 1, file, m + 1);
    int fd = open(p, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t r = write(fd, val, strlen(val));
    close(fd);
    return r < 0 ? -1 : 0;
}

static int has(const char *s, const char *part) { return strstr(s, part) != NULL; }

/* The default config's device rules, in rrun's order (deny all, then the
 * runtime's defaults: mknod of anything, the six nodes, ptys, tun). */
static const char *const dev_rules[] = {
    "c *:* m", "b *:* m", "c 1:3 rwm", "c 1:8 rwm", "c 1:7 rwm", "c 5:0 rwm",
    "c 1:5 rwm", "c 1:9 rwm", "c 136:* rwm", "c 5:2 rwm", "c 10:200 rwm",
};

static const struct { const char *name; unsigned maj, min; } devs[] = {
    {"dev/null", 1, 3}, {"dev/random", 1, 8}, {"dev/full", 1, 7},
    {"dev/tty", 5, 0},  {"dev/zero", 1, 5},   {"dev/urandom", 1, 9},
};

static const char *const ro_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};
static const char *const masked_dirs[] = {
    "/proc/acpi", "/proc/asound", "/sys/firmware", "/proc/scsi", "/sys/devices/virtual/tpm",
};
static const char *const masked_files[] = {
    "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats", "/proc/sched_debug",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define NOSD (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int child(const char *rootfs, int ncg, char **cgdirs, int sync_fd, int core)
{
    char c;
    if (read(sync_fd, &c, 1) != 1) return 1;          /* placed in the cgroups */
    close(sync_fd);
#ifdef SELF_ATTACH
    for (int i = 0; i < ncg; i++)
        if (wr(cgdirs[i], "tasks", "0")) return 40;
#endif
    umask(0);
    if (setsid() < 0) return 2;
    if (sethostname("rrun", 4)) return 3;
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL)) return 4;
    if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL)) return 5;
    if (chdir(rootfs)) return 6;
    if (mount("proc", "proc", "proc", 0, NULL)) return 7;
    if (mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k")) return 8;
    if (mkdir("dev/pts", 0755)) return 9;
    if (mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
              "newinstance,ptmxmode=0666,mode=0620,gid=5")) return 10;
    if (mkdir("dev/shm", 0755)) return 11;
    if (mount("shm", "dev/shm", "tmpfs", NOSD, "mode=1777,size=65536k")) return 12;
    if (mkdir("dev/mqueue", 0755)) return 13;
    if (mount("mqueue", "dev/mqueue", "mqueue", NOSD, NULL)) return 14;
    if (mount("sysfs", "sys", "sysfs", NOSD | MS_RDONLY, NULL)) return 15;
    if (mount("tmpfs", "sys/fs/cgroup", "tmpfs", NOSD, "mode=755")) return 16;
    for (int i = 0; i < ncg; i++) {
        /* "/sys/fs/cgroup/<hierarchy>/..." -> "sys/fs/cgroup/<hierarchy>" */
        char t[256];
        const char *h = cgdirs[i] + strlen("/sys/fs/cgroup/");
        const char *e = strchr(h, '/');
        size_t hl = e ? (size_t)(e - h) : strlen(h);
        if (hl + 16 > sizeof t) return 17;
        memcpy(t, "sys/fs/cgroup/", 14); memcpy(t + 14, h, hl); t[14 + hl] = 0;
        if (mkdir(t, 0755)) return 18;
        if (mount(cgdirs[i], t, NULL, MS_BIND | MS_REC, NULL)) return 19;
        if (mount(NULL, t, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | NOSD, NULL)) return 20;
    }
    if (set_ro("sys/fs/cgroup", 0)) return 21;
    for (size_t i = 0; i < N(devs); i++)
        if (mknod(devs[i].name, S_IFCHR | 0666, makedev(devs[i].maj, devs[i].min))) return 22;
    if (symlink("/proc/self/fd", "dev/fd") || symlink("/proc/self/fd/0", "dev/stdin") ||
        symlink("/proc/self/fd/1", "dev/stdout") || symlink("/proc/self/fd/2", "dev/stderr"))
        return 23;
    if (core && symlink("/proc/kcore", "dev/core")) return 23;
    if (symlink("pts/ptmx", "dev/ptmx")) return 24;
    if (syscall(SYS_pivot_root, ".", ".")) return 25;
    if (mount(NULL, ".", NULL, MS_REC | MS_SLAVE, NULL)) return 26;
    if (umount2(".", MNT_DETACH)) return 27;
    if (chdir("/")) return 28;
    if (set_ro("/", 0)) return 29;
    for (size_t i = 0; i < N(ro_paths); i++) {
        if (mount(ro_paths[i], ro_paths[i], NULL, MS_BIND | MS_REC, NULL)) {
            if (errno == ENOENT) continue;
            return 30;
        }
        if (set_ro(ro_paths[i], 1)) return 31;
    }
    for (size_t i = 0; i < N(masked_dirs); i++)
        if (mount("tmpfs", masked_dirs[i], "tmpfs", MS_RDONLY, NULL) && errno != ENOENT) return 32;
    for (size_t i = 0; i < N(masked_files); i++)
        if (mount("/dev/null", masked_files[i], NULL, MS_BIND, NULL) && errno != ENOENT) return 33;
    if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "_ses.floor") < 0) return 34;
    struct rlimit rl = { 1024, 1024 };
    if (setrlimit(RLIMIT_NOFILE, &rl)) return 35;
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)) return 36;
    const uint64_t keep = (1ULL << CAP_AUDIT_WRITE) | (1ULL << CAP_KILL) | (1ULL << CAP_NET_BIND_SERVICE);
    for (int cap = 0; cap < 64; cap++) {
        if (keep & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)) {
            if (errno == EINVAL) break;                 /* past the last cap */
            return 37;
        }
    }
    struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2] = {
        { (uint32_t)keep, (uint32_t)keep, 0 }, { (uint32_t)(keep >> 32), (uint32_t)(keep >> 32), 0 },
    };
    if (syscall(SYS_capset, &hdr, data)) return 38;
#ifdef FLOOR_CHECK   /* gcc -DFLOOR_CHECK: show what the container got, for review */
    char *argv[] = { "/bin/sh", "-c", "cat /proc/self/mountinfo; ls -l /dev; hostname; "
                     "grep -E 'Cap|NoNewPrivs|^Pid' /proc/self/status; ulimit -n; cat /proc/self/cgroup", NULL };
#else
    char *argv[] = { "/bin/true", NULL };
#endif
    char *envp[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "TERM=xterm", "HOME=/root", NULL };
    execve(argv[0], argv, envp);
    return 39;
}

static void rmdirs(int ncg, char **cgdirs)
{
    for (int i = ncg - 1; i >= 0; i--)
        for (int try = 0; try < 100 && rmdir(cgdirs[i]) && errno == EBUSY; try++)
            usleep(1000);
}

int main(int argc, char **argv)
{
    if (argc < 5) return 2;
    const char *rootfs = argv[1], *cpus = argv[2], *mems = argv[3];
    char **cg = argv + 4;
    int ncg = argc - 4, made = 0, status = 0, pfd[2];
    int core = access("/proc/kcore", F_OK) == 0;
    for (; made < ncg; made++) {
        if (mkdir(cg[made], 0755)) goto fail;
        if (has(cg[made], "/cpuset/") &&
            (wr(cg[made], "cpuset.cpus", cpus) || wr(cg[made], "cpuset.mems", mems)))
            { made++; goto fail; }
        if (has(cg[made], "/devices/")) {
            if (wr(cg[made], "devices.deny", "a")) { made++; goto fail; }
            for (size_t r = 0; r < N(dev_rules); r++)
                if (wr(cg[made], "devices.allow", dev_rules[r])) { made++; goto fail; }
        }
    }
    if (pipe2(pfd, O_CLOEXEC)) goto fail;
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC |
                               CLONE_NEWPID | CLONE_NEWNET | SIGCHLD, 0, 0, 0, 0);
    if (pid < 0) goto fail;
    if (pid == 0) {
        close(pfd[1]);
        _exit(100 + child(rootfs, ncg, cg, pfd[0], core));
    }
    close(pfd[0]);
#ifndef SELF_ATTACH
    char pidbuf[16];
    int n = 0;
    for (pid_t v = pid; v; v /= 10) n++;
    pidbuf[n] = 0;
    for (pid_t v = pid; v; v /= 10) pidbuf[--n] = (char)('0' + v % 10);
    for (int i = 0; i < ncg; i++)
        if (wr(cg[i], "cgroup.procs", pidbuf)) { kill(pid, SIGKILL); waitpid(pid, NULL, 0); goto fail; }
#endif
    if (write(pfd[1], "x", 1) != 1) { kill(pid, SIGKILL); waitpid(pid, NULL, 0); goto fail; }
    close(pfd[1]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    rmdirs(ncg, cg);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
fail:
    rmdirs(made, cg);
    return 99;
}
