/// Who is asking, as the kernel says (SO_PEERCRED) and `/proc/PID/exe` names the program.
public struct ClientIdentity: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var uid: UInt32
    /// The client's executable, when it could be read.
    public var executable: String?
    /// The process and its program as they were when the connection was accepted; nil when
    /// that could not be read (such a client gets no account restricted by `allowed_clients`).
    public var pin: ProcessPin?

    public init(pid: Int32, uid: UInt32, executable: String?, pin: ProcessPin? = nil) {
        self.pid = pid
        self.uid = uid
        self.executable = executable
        self.pin = pin
    }

    public var description: String { "pid \(pid) (\(executable ?? "unknown program"))" }
}
