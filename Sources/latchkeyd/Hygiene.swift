#if canImport(Glibc)
import Glibc
#endif
internal import CLinux

/// Process hygiene for a holder of secrets: no core dumps, not ptrace-attachable by other
/// processes of the user, and files and sockets created private (umask 077).
enum Hygiene {
    static func apply() {
        umask(0o077)
        var none = rlimit(rlim_cur: 0, rlim_max: 0)
        _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
        _ = lk_set_nondumpable()
    }
}
