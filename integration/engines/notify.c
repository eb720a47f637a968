/*
 * notify - sd_notify test helper for the engine tests (built static by run.sh).
 *
 *   notify send MSG...              send MSG lines as one datagram to $NOTIFY_SOCKET
 *                                   (run inside the container: busybox cannot)
 *   notify listen PATH OUT SECONDS  bind a datagram socket at PATH, append each
 *                                   datagram to OUT, stop after READY=1 or SECONDS
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int addr(struct sockaddr_un *sa, const char *path) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof sa->sun_path) return -1;
    strcpy(sa->sun_path, path);
    if (sa->sun_path[0] == '@') sa->sun_path[0] = 0; /* abstract socket */
    return 0;
}

static int do_send(int argc, char **argv) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (!path || !*path) { fprintf(stderr, "notify: NOTIFY_SOCKET is not set\n"); return 2; }
    char msg[4096] = "";
    for (int i = 0; i < argc; i++) {
        size_t room = sizeof msg - strlen(msg) - 1;
        if (strlen(argv[i]) + 1 > room) break;
        strcat(msg, argv[i]);
        strcat(msg, "\n");
    }
    struct sockaddr_un sa;
    if (addr(&sa, path) < 0) { fprintf(stderr, "notify: socket path too long\n"); return 2; }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || sendto(fd, msg, strlen(msg), 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "notify: send to %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("notify: sent to %s\n", path);
    return 0;
}

static int do_listen(const char *path, const char *out, int seconds) {
    struct sockaddr_un sa;
    if (addr(&sa, path) < 0) { fprintf(stderr, "notify: socket path too long\n"); return 2; }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "notify: bind %s: %s\n", path, strerror(errno));
        return 1;
    }
    FILE *f = fopen(out, "a");
    if (!f) { fprintf(stderr, "notify: open %s: %s\n", out, strerror(errno)); return 1; }
    setvbuf(f, NULL, _IONBF, 0);
    struct timeval tv = { .tv_sec = 1 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int rc = 1;
    for (int waited = 0; waited < seconds;) {
        char buf[4097];
        ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) { waited++; continue; }
            if (errno == EINTR) continue;
            break;
        }
        buf[n] = 0;
        fprintf(f, "%s\n--\n", buf);
        if (strstr(buf, "READY=1")) { rc = 0; break; }
    }
    fclose(f);
    if (sa.sun_path[0]) unlink(path);
    return rc;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "send")) return do_send(argc - 2, argv + 2);
    if (argc == 5 && !strcmp(argv[1], "listen")) return do_listen(argv[2], argv[3], atoi(argv[4]));
    fprintf(stderr, "usage: notify send MSG... | notify listen PATH OUT SECONDS\n");
    return 2;
}
