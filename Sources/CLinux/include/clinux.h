// Linux process calls that Swift's Glibc module does not import (prctl is variadic).
#ifndef LATCHKEY_CLINUX_H
#define LATCHKEY_CLINUX_H
#include <sys/types.h>

/// Marks the process not dumpable: no core dumps, no ptrace by other processes of the user.
int lk_set_nondumpable(void);
/// Whether the process is dumpable (1) or not (0); -1 on error.
int lk_get_dumpable(void);
#endif
