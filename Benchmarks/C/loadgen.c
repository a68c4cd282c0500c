/*
 * loadgen: an HTTP/1.1 load generator for a Unix socket, single-threaded on epoll.
 *
 *   loadgen -s SOCK [-c CONNS] [-d SECONDS] [-w WARMUP] [-p PATH] [-k header|token] [-S SCHEME]
 *       keep-alive, closed loop: CONNS connections, one request in flight on each, for
 *       SECONDS after WARMUP seconds; every answer must be a 200 whose JSON body holds
 *       "header":"Authorization: SCHEME <credentials>" (or "access_token":"<token>" with -k token).
 *       Prints one JSON object: requests/s, p50/p99/p99.9 latency, errors, and this process's
 *       own CPU time (user+sys over wall time: well below 1.0 means it was not the bottleneck).
 *   loadgen -s SOCK -b N [-p PATH] [-k ...]
 *       burst: N connections opened at once, one request each (Connection: close); prints the
 *       latency distribution (connect to last byte), the statuses, and how many answers carried
 *       a credential different from the first one.
 *   loadgen -s SOCK -1 [-p PATH]
 *       one request (the floor of a process that asks the daemon once): prints the
 *       access_token (or the body) to stdout; exit 0 on a 200.
 *   loadgen -s SOCK -D [-p PATH]
 *       dump the full raw answer (status line, headers, body) of one keep-alive request, for
 *       the reference server to replay byte for byte.
 *
 * Build: cc -O2 -o loadgen loadgen.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define BUF_SIZE 16384

static const char *sock_path;
static const char *target = "/v1/accounts/work/header";
static const char *kind = "header";
static const char *scheme = "Bearer";

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(2);
}

static int connect_unix(int nonblocking) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
    if (fd < 0) die("socket");
    struct sockaddr_un a;
    memset(&a, 0, sizeof a);
    a.sun_family = AF_UNIX;
    if (strlen(sock_path) >= sizeof a.sun_path) {
        fprintf(stderr, "loadgen: socket path too long\n");
        exit(2);
    }
    strcpy(a.sun_path, sock_path);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Response parsing. Returns the total length of a complete response at buf[0..len), 0 when
 * more bytes are needed, -1 when malformed. Sets *status, *body, *body_len. */
static long parse_response(const char *buf, size_t len, int *status, const char **body, size_t *body_len) {
    const char *end = memmem(buf, len, "\r\n\r\n", 4);
    if (!end) return len > BUF_SIZE - 1 ? -1 : 0;
    size_t head_len = (size_t)(end - buf) + 4;
    if (len < 12 || memcmp(buf, "HTTP/1.1 ", 9) != 0) return -1;
    *status = atoi(buf + 9);
    long content_length = -1;
    const char *p = buf;
    while (p < end) {
        const char *eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
        if (!eol) break;
        if ((size_t)(eol - p) > 15 && strncasecmp(p, "content-length:", 15) == 0) content_length = atol(p + 15);
        p = eol + 2;
    }
    if (content_length < 0) return -1; /* the daemon always sends Content-Length */
    if (len < head_len + (size_t)content_length) return 0;
    *body = buf + head_len;
    *body_len = (size_t)content_length;
    return (long)(head_len + (size_t)content_length);
}

static int token_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '+' || c == '/' || c == '=';
}

/* The credential in a body: "header":"Authorization: SCHEME <cred>" or "access_token":"<cred>".
 * Returns a pointer to the credential and its length in *n, or NULL when absent or invalid. */
static const char *credential(const char *body, size_t len, size_t *n) {
    char prefix[128];
    int plen;
    if (strcmp(kind, "token") == 0)
        plen = snprintf(prefix, sizeof prefix, "\"access_token\":\"");
    else
        plen = snprintf(prefix, sizeof prefix, "\"header\":\"Authorization: %s ", scheme);
    const char *p = memmem(body, len, prefix, (size_t)plen);
    if (!p) return NULL;
    p += plen;
    const char *q = p, *end = body + len;
    while (q < end && token_char(*q)) q++;
    if (q == p || q >= end || *q != '"') return NULL;
    *n = (size_t)(q - p);
    return p;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(uint64_t *v, size_t n, double p) {
    if (n == 0) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    if (i >= n) i = n - 1;
    return v[i] / 1000.0;
}

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* ---------------------------------------------------------------- keep-alive load */

struct conn {
    int fd;
    size_t have;
    uint64_t sent_at;
    char buf[BUF_SIZE];
};

static int run_load(int conns, double duration, double warmup) {
    char request[1024];
    int rlen = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n", target);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct conn *cs = calloc((size_t)conns, sizeof *cs);
    if (!cs) die("calloc");
    size_t cap = 1 << 20, count = 0;
    uint64_t *lat = malloc(cap * sizeof *lat);
    if (!lat) die("malloc");
    long errors = 0, invalid = 0, bad_status = 0;

    for (int i = 0; i < conns; i++) {
        int fd = connect_unix(0);
        if (fd < 0) die("connect");
        int fl = fcntl(fd, F_GETFL);
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        cs[i].fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &cs[i]};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
    }
    double t0 = now_s();
    double measure_from = t0 + warmup, measure_to = measure_from + duration;
    int measuring = 0;
    double cpu_at_start = 0, wall_at_start = 0, cpu_at_end = -1;
    long done_in_window = 0;
    for (int i = 0; i < conns; i++) {
        cs[i].sent_at = now_ns();
        if (write(cs[i].fd, request, (size_t)rlen) != rlen) die("write");
    }
    int active = conns;
    struct epoll_event events[256];
    while (active > 0) {
        int n = epoll_wait(ep, events, 256, 1000);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        double t = now_s();
        if (!measuring && t >= measure_from) {
            measuring = 1;
            cpu_at_start = cpu_s();
            wall_at_start = t;
        }
        if (measuring && cpu_at_end < 0 && t >= measure_to) cpu_at_end = cpu_s();
        for (int e = 0; e < n; e++) {
            struct conn *c = events[e].data.ptr;
            ssize_t r = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
            if (r <= 0) {
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                active--;
                continue;
            }
            c->have += (size_t)r;
            int status = 0;
            const char *body = NULL;
            size_t body_len = 0;
            long used = parse_response(c->buf, c->have, &status, &body, &body_len);
            if (used == 0) continue;
            uint64_t done_at = now_ns();
            if (used < 0) {
                errors++;
            } else {
                size_t cl;
                if (status != 200) bad_status++;
                else if (!credential(body, body_len, &cl)) invalid++;
                if (measuring && t < measure_to) {
                    if (count == cap) {
                        cap *= 2;
                        lat = realloc(lat, cap * sizeof *lat);
                        if (!lat) die("realloc");
                    }
                    lat[count++] = done_at - c->sent_at;
                    done_in_window++;
                }
            }
            if (used < 0 || (size_t)used != c->have) {
                /* malformed, or bytes beyond one answer (the server pipelined?): give up on it */
                if (used > 0) errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                active--;
                continue;
            }
            c->have = 0;
            if (t >= measure_to) {
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                active--;
                continue;
            }
            c->sent_at = now_ns();
            if (write(c->fd, request, (size_t)rlen) != rlen) {
                errors++;
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                close(c->fd);
                c->fd = -1;
                active--;
            }
        }
        if (n == 0 && t > measure_to + 5) break; /* answers stopped coming */
    }
    double wall = measuring ? (measure_to - wall_at_start) : 0;
    double cpu = measuring ? (cpu_at_end < 0 ? cpu_s() : cpu_at_end) - cpu_at_start : 0;
    qsort(lat, count, sizeof *lat, cmp_u64);
    printf("{\"mode\":\"load\",\"connections\":%d,\"duration_s\":%.3f,\"requests\":%ld,\"rps\":%.1f,"
           "\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,\"max_us\":%.1f,"
           "\"errors\":%ld,\"bad_status\":%ld,\"invalid\":%ld,\"client_cpu\":%.3f}\n",
           conns, wall, done_in_window, wall > 0 ? done_in_window / wall : 0.0, pct_us(lat, count, 0.50),
           pct_us(lat, count, 0.99), pct_us(lat, count, 0.999), count ? lat[count - 1] / 1000.0 : 0.0, errors,
           bad_status, invalid, wall > 0 ? cpu / wall : 0.0);
    return (errors || bad_status || invalid || done_in_window == 0) ? 1 : 0;
}

/* ---------------------------------------------------------------- burst */

struct bconn {
    int fd;
    int state; /* 0 not connected, 1 waiting for answer, 2 done */
    size_t have;
    uint64_t started;
    char *buf;
};

static int run_burst(int n) {
    char request[1024];
    int rlen = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", target);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    struct bconn *cs = calloc((size_t)n, sizeof *cs);
    uint64_t *lat = calloc((size_t)n, sizeof *lat);
    if (!cs || !lat) die("calloc");
    int statuses[600] = {0};
    long errors = 0, invalid = 0, different = 0, retries = 0;
    char first[BUF_SIZE];
    size_t first_len = 0;
    int finished = 0, pending = n;
    uint64_t t0 = now_ns();
    for (int i = 0; i < n; i++) {
        cs[i].buf = malloc(BUF_SIZE);
        cs[i].started = t0;
        cs[i].fd = -1;
    }
    while (finished < n) {
        /* connect whoever is not connected yet (a full backlog answers EAGAIN: try again) */
        if (pending > 0) {
            for (int i = 0; i < n; i++) {
                if (cs[i].state != 0) continue;
                int fd = connect_unix(1);
                if (fd < 0) {
                    if (errno == EAGAIN || errno == ECONNREFUSED) {
                        retries++;
                        break;
                    }
                    die("connect");
                }
                if (write(fd, request, (size_t)rlen) != rlen) die("write");
                cs[i].fd = fd;
                cs[i].state = 1;
                pending--;
                struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
                if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) die("epoll_ctl");
            }
        }
        struct epoll_event events[256];
        int k = epoll_wait(ep, events, 256, pending > 0 ? 1 : 30000);
        if (k < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        if (k == 0 && pending == 0) {
            fprintf(stderr, "loadgen: no answer for 30 s\n");
            break;
        }
        for (int e = 0; e < k; e++) {
            struct bconn *c = &cs[events[e].data.u32];
            ssize_t r = read(c->fd, c->buf + c->have, BUF_SIZE - c->have);
            if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
            if (r > 0) c->have += (size_t)r;
            int status = 0;
            const char *body = NULL;
            size_t body_len = 0;
            long used = c->have ? parse_response(c->buf, c->have, &status, &body, &body_len) : -1;
            if (used == 0 && r > 0) continue;
            uint64_t done = now_ns();
            if (used <= 0) {
                errors++;
            } else {
                if (status > 0 && status < 600) statuses[status]++;
                size_t cl;
                const char *cred = status == 200 ? credential(body, body_len, &cl) : NULL;
                if (status == 200 && !cred) invalid++;
                if (cred) {
                    if (first_len == 0) {
                        memcpy(first, cred, cl);
                        first_len = cl;
                    } else if (cl != first_len || memcmp(first, cred, cl) != 0) {
                        different++;
                    }
                }
            }
            lat[finished++] = done - c->started;
            epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
            close(c->fd);
            c->state = 2;
        }
    }
    double total_ms = (now_ns() - t0) / 1e6;
    qsort(lat, (size_t)finished, sizeof *lat, cmp_u64);
    printf("{\"mode\":\"burst\",\"requests\":%d,\"answered\":%d,\"statuses\":{", n, finished);
    int comma = 0;
    for (int s = 0; s < 600; s++)
        if (statuses[s]) {
            printf("%s\"%d\":%d", comma ? "," : "", s, statuses[s]);
            comma = 1;
        }
    printf("},\"errors\":%ld,\"invalid\":%ld,\"different_credentials\":%ld,\"connect_retries\":%ld,"
           "\"total_ms\":%.1f,\"min_ms\":%.2f,\"p50_ms\":%.2f,\"p90_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
           errors, invalid, different, retries, total_ms, finished ? lat[0] / 1e6 : 0.0,
           pct_us(lat, (size_t)finished, 0.5) / 1000, pct_us(lat, (size_t)finished, 0.9) / 1000,
           pct_us(lat, (size_t)finished, 0.99) / 1000, finished ? lat[finished - 1] / 1e6 : 0.0);
    return (errors || invalid || statuses[200] != n) ? 1 : 0;
}

/* ---------------------------------------------------------------- one request */

static int run_once(int dump) {
    int fd = connect_unix(0);
    if (fd < 0) {
        fprintf(stderr, "loadgen: connect %s: %s\n", sock_path, strerror(errno));
        return 69;
    }
    char request[1024];
    int rlen = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n", target,
                        dump ? "" : "Connection: close\r\n");
    if (write(fd, request, (size_t)rlen) != rlen) die("write");
    static char buf[BUF_SIZE];
    size_t have = 0;
    int status = 0;
    const char *body = NULL;
    size_t body_len = 0;
    long used = 0;
    for (;;) {
        ssize_t r = read(fd, buf + have, sizeof buf - have);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        have += (size_t)r;
        used = parse_response(buf, have, &status, &body, &body_len);
        if (used != 0) break;
    }
    close(fd);
    if (used <= 0) {
        fprintf(stderr, "loadgen: no complete answer\n");
        return 75;
    }
    if (dump) {
        fwrite(buf, 1, (size_t)used, stdout);
        return status == 200 ? 0 : 1;
    }
    size_t n;
    const char *saved = kind;
    kind = "token";
    const char *token = credential(body, body_len, &n);
    kind = saved;
    if (token) {
        fwrite(token, 1, n, stdout);
        fputc('\n', stdout);
    } else {
        fwrite(body, 1, body_len, stdout);
    }
    return status == 200 ? 0 : 1;
}

int main(int argc, char **argv) {
    int conns = 1, burst = 0, once = 0, dump = 0;
    double duration = 3, warmup = 0.5;
    int opt;
    while ((opt = getopt(argc, argv, "s:c:d:w:p:k:S:b:1D")) != -1) {
        switch (opt) {
        case 's': sock_path = optarg; break;
        case 'c': conns = atoi(optarg); break;
        case 'd': duration = atof(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'p': target = optarg; break;
        case 'k': kind = optarg; break;
        case 'S': scheme = optarg; break;
        case 'b': burst = atoi(optarg); break;
        case '1': once = 1; break;
        case 'D': dump = 1; break;
        default:
            fprintf(stderr, "usage: loadgen -s SOCK [-c N] [-d S] [-w S] [-p PATH] [-k header|token] [-S SCHEME] "
                            "| -b N | -1 | -D\n");
            return 64;
        }
    }
    if (!sock_path) {
        fprintf(stderr, "loadgen: -s SOCK is required\n");
        return 64;
    }
    if (once || dump) return run_once(dump);
    if (burst > 0) return run_burst(burst);
    if (conns < 1 || duration <= 0) return 64;
    return run_load(conns, duration, warmup);
}
