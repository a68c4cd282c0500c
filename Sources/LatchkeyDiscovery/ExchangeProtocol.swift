/// The Exchange Online protocol an account is for, and the scopes its tokens need (Microsoft's
/// "Authenticate an IMAP, POP or SMTP connection using OAuth" and "Authenticate an EWS
/// application by using OAuth"; ActiveSync's scope is EAS.AccessAsUser.All).
public enum ExchangeProtocol: String, Sendable, CaseIterable {
    case activeSync = "activesync"
    case ews
    /// IMAP and SMTP submission together, as mail clients use them.
    case imap

    public var name: String {
        switch self {
        case .activeSync: "ActiveSync"
        case .ews: "EWS"
        case .imap: "IMAP and SMTP"
        }
    }

    /// The delegated scopes, with `offline_access` for a refresh token.
    public var scopes: [String] {
        let resource = "https://outlook.office.com/"
        switch self {
        case .activeSync: return [resource + "EAS.AccessAsUser.All", "offline_access"]
        case .ews: return [resource + "EWS.AccessAsUser.All", "offline_access"]
        case .imap: return [resource + "IMAP.AccessAsUser.All", resource + "SMTP.Send", "offline_access"]
        }
    }

    /// The protocol of a service URL that discovery found, and how that was told.
    public static func found(serviceURL: String, autodiscover: AutodiscoverResult?) -> (ExchangeProtocol, String) {
        if let autodiscover {
            return autodiscover.service == .ews
                ? (.ews, "Autodiscover found EWS") : (.activeSync, "Autodiscover found ActiveSync")
        }
        let path = serviceURL.lowercased()
        if path.includes("/ews/") { return (.ews, "the service URL is an EWS path") }
        if path.includes("/microsoft-server-activesync") {
            return (.activeSync, "the service URL is ActiveSync's path")
        }
        return (.activeSync, "the service URL names neither, so ActiveSync (give --protocol to choose)")
    }
}
