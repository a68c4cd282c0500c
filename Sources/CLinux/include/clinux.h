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
#endif
