/// Why provisioning failed. Messages name what was wrong, never a token or key.
public enum ActiveSyncError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server's answer could not be read.
    case malformed(String)
    /// No answer came (the transport's message).
    case transport(String)
    /// The server answered with an HTTP status Latchkey cannot go on from.
    case http(Int)
    /// The server offers none of the protocol versions Latchkey speaks.
    case noCommonVersion(offered: String)
    /// The server refused: Provision/Status or Policy/Status other than success.
    case refused(status: Int, policyStatus: Int?)

    public var description: String {
        switch self {
        case .malformed(let what): "the ActiveSync server's answer is malformed: \(what)"
        case .transport(let what): "the ActiveSync server did not answer: \(what)"
        case .http(let status): "the ActiveSync server answered HTTP \(status)"
        case .noCommonVersion(let offered):
            "the ActiveSync server offers protocol versions \(offered.prefix(100)); Latchkey speaks 14.1, 16.0 and 16.1"
        case .refused(let status, let policyStatus):
            "the ActiveSync server refused provisioning (Provision status \(status)"
                + (policyStatus.map { ", policy status \($0)" } ?? "") + ")"
                + (policyStatus == 4 || status == 139
                    ? ": it does not allow a device that has not applied its policy" : "")
        }
    }
}
