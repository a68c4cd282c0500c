#define _GNU_SOURCE  // accept4, posix_spawn_file_actions_addclosefrom_np
#include "clinux.h"
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/socket.h>

int lk_set_nondumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }
int lk_get_dumpable(void) { return prctl(PR_GET_DUMPABLE, 0, 0, 0, 0); }

int lk_spawn_close_from(posix_spawn_file_actions_t *actions, int lowest) {
    return posix_spawn_file_actions_addclosefrom_np(actions, lowest);
}

int lk_accept_cloexec_nonblock(int fd, struct sockaddr *address, socklen_t *length) {
    return accept4(fd, address, length, SOCK_CLOEXEC | SOCK_NONBLOCK);
}
