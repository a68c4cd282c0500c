/// Where Latchkey's files live, from the environment (XDG Base Directory). Pure: the caller
/// passes the environment lookup.
public struct Paths: Sendable {
    public var runtimeDirectory: String
    public var configFile: String
    public var dataDirectory: String
    /// `$XDG_STATE_HOME/latchkey`: what the daemon remembers that is not a secret (last errors).
    public var stateDirectory: String

    public init(environment: (String) -> String?, uid: UInt32) {
        let home = environment("HOME").flatMap { $0.isEmpty ? nil : $0 } ?? "/"
        let runtime = environment("XDG_RUNTIME_DIR").flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp/latchkey-\(uid)"
        runtimeDirectory = runtime + "/latchkey"
        let config = environment("XDG_CONFIG_HOME").flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.config"
        configFile = config + "/latchkey/config.toml"
        let data = environment("XDG_DATA_HOME").flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.local/share"
        dataDirectory = data + "/latchkey"
        let state = environment("XDG_STATE_HOME").flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.local/state"
        stateDirectory = state + "/latchkey"
    }

    /// `$XDG_RUNTIME_DIR/latchkey/latchkey.sock` (SPEC.md §2).
    public var socket: String { runtimeDirectory + "/latchkey.sock" }

    /// The lock beside a socket that keeps one daemon on it (`DaemonLock`).
    public static func daemonLock(socket: String) -> String { socket + ".lock" }

    /// The last sign-in and refresh error of each account (`ErrorJournal`).
    public var errorJournal: String { stateDirectory + "/errors.json" }
}
