import LatchkeyCore
import LatchkeyOAuth

/// The `[accounts.NAME]` section that `latchkey setup` adds to the config: the settings a
/// discovery found, preceded by comments saying what was asked, what the service offered and
/// why the method was chosen. Holds no secret: discovery never sees one.
public struct AccountSection: Sendable {
    public var name: String
    public var report: DiscoveryReport
    public var clientID: String?
    public var caFile: String?
    public var scopes: [String]?
    public var username: String?

    public init(
        name: String, report: DiscoveryReport, clientID: String?, caFile: String?, scopes: [String]?, username: String?
    ) {
        self.name = name
        self.report = report
        self.clientID = clientID
        self.caFile = caFile
        self.scopes = scopes
        self.username = username
    }

    /// Scopes for the service, when none are given: for Microsoft, Exchange Online's for the
    /// protocol found (ActiveSync, EWS, or IMAP and SMTP); else OIDC's.
    public var effectiveScopes: [String] {
        if let scopes, !scopes.isEmpty { return scopes }
        if report.provider == .microsoft {
            return (report.exchangeProtocol ?? .activeSync).scopes
        }
        return ["openid", "offline_access"]
    }

    public var text: String {
        var lines: [String] = [""]
        let command = "latchkey setup" + (report.email.map { " " + $0 } ?? "")
        lines.append("# Added by `\(command)`. What discovery found:")
        lines += report.explanation.map { "#   " + $0 }
        lines.append("[accounts.\(Self.key(name))]")
        if let email = report.email { lines.append("email = \(Self.quoted(email))") }
        lines.append("method = \(Self.quoted(report.choice.method.rawValue))")
        switch report.choice.method {
        case .oauth:
            lines.append("provider = \(Self.quoted(report.provider?.rawValue ?? "oidc"))")
            if report.provider == .microsoft {
                let tenant = report.tenant ?? "organizations"
                lines.append("tenant = \(Self.quoted(tenant))")
                // A national cloud: its endpoints, as the preset names the global cloud's.
                if let metadata = report.metadata, metadata != ProviderMetadata.microsoft(tenant: tenant) {
                    if let e = metadata.authorizationEndpoint {
                        lines.append("authorization_endpoint = \(Self.quoted(e))")
                    }
                    lines.append("token_endpoint = \(Self.quoted(metadata.tokenEndpoint))")
                    if let e = metadata.deviceAuthorizationEndpoint {
                        lines.append("device_authorization_endpoint = \(Self.quoted(e))")
                    }
                }
            } else if let issuer = report.issuer {
                lines.append("issuer = \(Self.quoted(issuer))")
            }
            if let clientID { lines.append("client_id = \(Self.quoted(clientID))") }
            lines.append("scopes = [" + effectiveScopes.map(Self.quoted).joined(separator: ", ") + "]")
            if report.metadata?.deviceAuthorizationEndpoint == nil {
                lines.append("flow = \"browser\"   # the provider has no device authorization endpoint")
            }
        case .kerberos:
            if let realm = report.realm, let email = report.email, let at = email.lastIndex(of: "@") {
                lines.append("principal = \(Self.quoted(email[..<at] + "@" + realm))")
            }
            if report.choice.alternatives.contains(.basic) {
                lines.append("fallback = [\"basic\"]   # the service also offers Basic")
                lines.append("username = \(Self.quoted(username ?? report.email ?? ""))")
            }
        case .basic:
            lines.append("username = \(Self.quoted(username ?? report.email ?? ""))")
        case .auto:
            break
        }
        lines.append("url = \(Self.quoted(report.serviceURL))")
        if let caFile { lines.append("ca_file = \(Self.quoted(caFile))") }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A bare key when it can be one, else a quoted key.
    static func key(_ name: String) -> String {
        let bare =
            !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }
        return bare ? name : quoted(name)
    }

    /// A TOML basic string.
    static func quoted<S: StringProtocol>(_ text: S) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
