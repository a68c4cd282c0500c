#if canImport(Glibc)
    import Glibc
#endif

/// Writes `text` and `terminator` to standard error in one `write`, unbuffered (so it comes
/// before the process exits, and is never mixed into standard output). Both executables print
/// their errors and prompts through here.
public func printError(_ text: String, terminator: String = "\n") {
    var line = text + terminator
    line.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
}

/// Seconds on the monotonic clock (`CLOCK_MONOTONIC`): for deadlines and waits, which a
/// change of the wall clock must not stretch or cut.
public func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
