// Linux process calls that Swift's Glibc module does not import (prctl is variadic).
#ifndef LATCHKEY_CLINUX_H
#define LATCHKEY_CLINUX_H
#include <spawn.h>
#include <sys/types.h>
#include <sys/socket.h>

/// Marks the process not dumpable: no core dumps, no ptrace by other processes of the user.
int lk_set_nondumpable(void);
/// Whether the process is dumpable (1) or not (0); -1 on error.
int lk_get_dumpable(void);
/// Adds "close every descriptor from `lowest` up" to a posix_spawn's file actions (glibc's
/// posix_spawn_file_actions_addclosefrom_np, declared only under _GNU_SOURCE).
int lk_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest);
/// accept4 with SOCK_CLOEXEC | SOCK_NONBLOCK: the new descriptor is never inherited by a child
/// (no window between accept and fcntl) and never blocks.
int lk_accept_cloexec_nonblock(int fd, struct sockaddr *address, socklen_t *length);
/// A timerfd told of every change of CLOCK_REALTIME: a step (settimeofday, NTP's step, an
/// administrator's `date -s`) or a resume from suspend, which the kernel reports alike
/// (TFD_TIMER_CANCEL_ON_SET). The calls go to the kernel directly, past any preloaded library
/// that fakes the clock. -1 (errno set) on error.
int lk_clock_change_open(void);
/// Arms it again after a change was reported. 0, or -1 (errno set).
int lk_clock_change_arm(int fd);
/// An eventfd (close-on-exec) that ends `lk_clock_change_wait` once something is written to it.
int lk_wake_fd_open(void);
/// Blocks until the clock changes (1) or `stop_fd` becomes readable (0); -1 (errno set) on error.
/// A change is consumed and the timer armed again before it returns 1.
int lk_clock_change_wait(int fd, int stop_fd);
#endif
