/// Who is asking, as the kernel says (SO_PEERCRED) and `/proc/PID/exe` names the program.
public struct ClientIdentity: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    /// The client's executable, when it could be read.
    public var executable: String?

    public init(pid: Int32, uid: UInt32, executable: String?) {
        self.pid = pid
        self.uid = uid
        self.executable = executable
    }

    public var description: String { "pid \(pid) (\(executable ?? "unknown program"))" }
}
