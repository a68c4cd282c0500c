import LatchkeyBlocking

#if canImport(Glibc)
    import Glibc
#endif

/// Named points where an end-to-end test holds the daemon still, to run a command in a window
/// that is otherwise a few microseconds wide (a logout between a sign-in's store write and its
/// commit, `signin.commit`: Tests/e2e/test_logout_race.py; a logout while a Kerberos renewal
/// runs, `kerberos.renewal`: Tests/e2e/test_kerberos_renewal.py).
///
/// Test-only, and compiled into debug builds only: a release build has no pause points at all.
/// It is switched on by `LATCHKEY_TEST_PAUSE_AT` (a point's name) and `LATCHKEY_TEST_PAUSE_DIR`
/// (a folder), read once. Reaching the armed point creates `DIR/NAME.reached` and waits, without
/// blocking a cooperative thread, until the test creates `DIR/NAME.go` (a cancelled task waits
/// too, as a slow store write would); the point then stays released. It
/// reads and prints no secret; all it can do is delay the daemon, which anyone able to set the
/// daemon's environment can do anyway.
public enum PausePoint {
    #if DEBUG
        /// The armed point and its folder (nil when either variable is unset or empty).
        static let armed: (name: String, folder: String)? = {
            guard let name = getenv("LATCHKEY_TEST_PAUSE_AT"), let folder = getenv("LATCHKEY_TEST_PAUSE_DIR") else {
                return nil
            }
            let armed = (name: String(cString: name), folder: String(cString: folder))
            return armed.name.isEmpty || armed.folder.isEmpty ? nil : armed
        }()
    #endif

    /// Waits at `name` while it is the armed point and the test has not let it go; otherwise
    /// (and always in a release build) returns at once.
    public static func hit(_ name: String) async {
        #if DEBUG
            guard let armed, armed.name == name else { return }
            let reached = "\(armed.folder)/\(name).reached"
            let go = "\(armed.folder)/\(name).go"
            if access(go, F_OK) == 0 { return }
            let descriptor = open(reached, O_CREAT | O_WRONLY | O_CLOEXEC, 0o600)
            if descriptor >= 0 { close(descriptor) }
            await Blocking.run {
                while access(go, F_OK) != 0 { usleep(20_000) }
            }
        #endif
    }
}
