internal import CGIO
internal import CLinux
import LatchkeyBlocking
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// Tells the person that a sign-in is needed. Messages name the account and what to run;
/// they never carry a secret. `notify` returns when the notification is done (its caller
/// owns it: the broker runs it as a job that shutdown drains), and is bounded.
public protocol Notifier: Sendable {
    func notify(summary: String, body: String) async
}

/// A desktop notification through org.freedesktop.Notifications on the session bus.
public struct DesktopNotifier: Notifier {
    public init() {}

    public func notify(summary: String, body: String) async {
        // A blocking D-Bus call (at most 5 s), off the cooperative pool.
        await Blocking.run { Self.send(summary: summary, body: body) }
    }

    private static func send(summary: String, body: String) {
        var error: UnsafeMutablePointer<GError>?
        guard let bus = g_bus_get_sync(G_BUS_TYPE_SESSION, nil, &error) else {
            if let error { g_error_free(error) }
            return
        }
        defer { g_object_unref(UnsafeMutableRawPointer(bus)) }
        let reply = g_dbus_connection_call_sync(
            bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications", "org.freedesktop.Notifications",
            "Notify", lk_notify_parameters("Latchkey", summary, body, -1), nil, G_DBUS_CALL_FLAGS_NONE, 5000, nil,
            &error)
        if let reply { g_variant_unref(reply) }
        if let error { g_error_free(error) }
    }
}

/// Runs the configured `notify_command` with the summary and the body as its last two
/// arguments (no shell; stdin from /dev/null; no other descriptor of the daemon).
public struct CommandNotifier: Notifier {
    let argv: [String]

    public init(argv: [String]) {
        self.argv = argv
    }

    /// How long the command may run before the daemon stops waiting for it (it is not killed).
    static let waitLimit: Duration = .seconds(30)

    public func notify(summary: String, body: String) async {
        guard let program = argv.first else { return }
        let arguments = argv + [summary, body]
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // Only stdin, stdout and stderr reach the child: SwiftNIO opens the daemon's epoll and
        // accepted sockets without close-on-exec, and the program is not ours to trust with them.
        guard lk_spawn_close_from(&actions, 3) == 0 else { return }
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for p in cArguments { free(p) } }
        var pid: pid_t = 0
        guard posix_spawnp(&pid, program, &actions, nil, &cArguments, environ) == 0 else { return }
        // Reaped here, without a thread blocked in waitpid: checked every 50 ms, up to the limit.
        let clock = ContinuousClock()
        let deadline = clock.now + Self.waitLimit
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// No notification (notify = "none").
public struct SilentNotifier: Notifier {
    public init() {}
    public func notify(summary: String, body: String) async {}
}
