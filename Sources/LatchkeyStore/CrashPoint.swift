#if canImport(Glibc)
    import Glibc
#endif

/// Named points in a refresh (Broker.runRefresh) and in the file store's writes where the
/// end-to-end tests kill the daemon, to prove that a `kill -9` at any step leaves the account
/// working or clearly `signin_required`, and the old file intact and readable
/// (Tests/e2e/test_crash_safety.py). It lives here, the lowest module with a point, so the
/// broker (which imports this module) shares it.
///
/// Test-only. It is switched on by the environment variable `LATCHKEY_TEST_CRASH_AT`, read once:
/// when it equals a point's name, reaching that point writes the line `crash point NAME` to
/// standard error and ends the process with SIGKILL, exactly as `kill -9` would (no clean-up:
/// the temporary file stays behind, unrenamed). Otherwise a point does nothing. It cannot leak anything: it prints
/// only the point's fixed name and reads no secret; all it can do is end the process, which
/// anyone able to set the daemon's environment can do anyway.
public enum CrashPoint {
    /// `LATCHKEY_TEST_CRASH_AT`, read once (nil when unset or empty: every point is a no-op).
    static let armed: String? = {
        guard let value = getenv("LATCHKEY_TEST_CRASH_AT") else { return nil }
        let name = String(cString: value)
        return name.isEmpty ? nil : name
    }()

    /// Ends the process with SIGKILL when `name` is the armed point; otherwise returns at once.
    public static func hit(_ name: String) {
        guard let armed, armed == name else { return }
        let line = Array("crash point \(name)\n".utf8)
        _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        raise(SIGKILL)
    }
}
