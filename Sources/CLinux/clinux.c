#define _GNU_SOURCE  // accept4, posix_spawn_file_actions_addclosefrom_np
#include "clinux.h"
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

int lk_set_nondumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
int lk_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

int lk_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

int lk_accept_cloexec_nonblock(int fd, struct sockaddr *address, socklen_t *length) {
    return accept4(fd, address, length, SOCK_CLOEXEC | SOCK_NONBLOCK);
}

int lk_clock_change_open(void) {
    int fd = (int)syscall(SYS_timerfd_create, CLOCK_REALTIME, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0) return -1;
    if (lk_clock_change_arm(fd) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int lk_clock_change_arm(int fd) {
    struct timespec now;
    if (syscall(SYS_clock_gettime, CLOCK_REALTIME, &now) != 0) return -1;
    // An absolute expiry a century away: the timer itself never fires; only a change of the
    // clock wakes it.
    struct itimerspec spec = {.it_interval = {0, 0}, .it_value = {now.tv_sec + 100L * 366 * 86400, 0}};
    return (int)syscall(SYS_timerfd_settime, fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &spec, NULL);
}

int lk_wake_fd_open(void) { return eventfd(0, EFD_CLOEXEC); }

int lk_clock_change_wait(int fd, int stop_fd) {
    for (;;) {
        struct pollfd fds[2] = {{.fd = fd, .events = POLLIN}, {.fd = stop_fd, .events = POLLIN}};
        long ready = syscall(SYS_ppoll, fds, 2, NULL, NULL, 0);
        if (ready < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (fds[1].revents != 0) return 0;
        if (fds[0].revents == 0) continue;
        uint64_t ticks;
        ssize_t got = read(fd, &ticks, sizeof ticks);
        if (got < 0 && errno == ECANCELED) {
            if (lk_clock_change_arm(fd) != 0) return -1;
            return 1;
        }
        if (got < 0 && errno != EAGAIN && errno != EINTR) return -1;
        // The century-long timer expired, or nothing to read: arm it again and wait on.
        if (got >= 0 && lk_clock_change_arm(fd) != 0) return -1;
    }
}
