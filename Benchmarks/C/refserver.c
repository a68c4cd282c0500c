/*
 * refserver: the floor for the socket API's cached path. A minimal single-threaded HTTP/1.1
 * server on a Unix socket (epoll, keep-alive) that answers every request head with the same
 * fixed bytes: the full answer Latchkey gave to `GET /v1/accounts/{name}/header`, captured with
 * `loadgen -D` (same status line, headers and body, so the same size on the wire).
 *
 *   refserver -s SOCK -r ANSWER_FILE      runs until SIGTERM/SIGINT; unlinks SOCK at exit
 *
 * It parses only what it must (the end of each request head; a request with a body is not
 * expected and closes the connection), which is exactly what makes it the floor.
 * Build: cc -O2 -o refserver refserver.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define IN_SIZE 8192

struct conn {
    int fd;
    size_t have;
    char in[IN_SIZE];
};

static volatile sig_atomic_t stop;
static void on_signal(int s) { (void)s; stop = 1; }

static char *answer;
static size_t answer_len;

static void die(const char *what) {
    fprintf(stderr, "refserver: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void drop(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Writes the answer `count` times; the answers are small and the socket buffer large, so a
 * short write means a client that does not read: it is dropped. */
static int send_answers(int fd, int count) {
    static char batch[65536];
    while (count > 0) {
        size_t n = 0;
        while (count > 0 && n + answer_len <= sizeof batch) {
            memcpy(batch + n, answer, answer_len);
            n += answer_len;
            count--;
        }
        if (n == 0) return -1;
        ssize_t w = write(fd, batch, n);
        if (w != (ssize_t)n) return -1;
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *path = NULL, *answer_file = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "s:r:")) != -1) {
        if (opt == 's') path = optarg;
        else if (opt == 'r') answer_file = optarg;
        else return 64;
    }
    if (!path || !answer_file) {
        fprintf(stderr, "usage: refserver -s SOCK -r ANSWER_FILE\n");
        return 64;
    }
    FILE *f = fopen(answer_file, "rb");
    if (!f) die(answer_file);
    answer = malloc(65536);
    answer_len = fread(answer, 1, 65536, f);
    fclose(f);
    if (answer_len == 0) {
        fprintf(stderr, "refserver: %s is empty\n", answer_file);
        return 1;
    }

    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    umask(077);
    int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a.sun_path) {
        fprintf(stderr, "refserver: socket path too long\n");
        return 2;
    }
    strcpy(a.sun_path, path);
    unlink(path);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0) die("bind");
    if (listen(lfd, 4096) != 0) die("listen");

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) die("epoll_ctl");

    struct epoll_event events[256];
    while (!stop) {
        int n = epoll_wait(ep, events, 256, 500);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            if (events[i].data.ptr == NULL) {
                for (;;) {
                    int cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                    if (cfd < 0) break;
                    struct conn *c = malloc(sizeof *c);
                    if (!c) die("malloc");
                    c->fd = cfd;
                    c->have = 0;
                    struct epoll_event cev = {.events = EPOLLIN, .data.ptr = c};
                    if (epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &cev) != 0) die("epoll_ctl");
                }
                continue;
            }
            struct conn *c = events[i].data.ptr;
            ssize_t r = read(c->fd, c->in + c->have, IN_SIZE - c->have);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                drop(ep, c);
                continue;
            }
            c->have += (size_t)r;
            /* Every complete request head gets the answer (pipelining works too). */
            int complete = 0;
            size_t start = 0;
            for (;;) {
                char *end = memmem(c->in + start, c->have - start, "\r\n\r\n", 4);
                if (!end) break;
                complete++;
                start = (size_t)(end - c->in) + 4;
            }
            if (start > 0) {
                memmove(c->in, c->in + start, c->have - start);
                c->have -= start;
            }
            if (c->have == IN_SIZE || (complete && send_answers(c->fd, complete) != 0)) drop(ep, c);
        }
    }
    unlink(path);
    return 0;
}
