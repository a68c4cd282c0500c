/// Reads typed values out of TOML tables, turning every mismatch into an error at its line.
struct Reader {
    let file: String

    /// The longest duration any setting takes: a year (longer is a typo, and would overflow
    /// the clock arithmetic it feeds).
    static let maxDuration: Double = 366 * 86_400

    func fail(_ entry: TOMLTable.Entry, _ key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: entry.line, column: entry.column, key: key, message: message)
    }

    /// An error about a table as a whole (a key it lacks): at its header.
    func fail(_ table: TOMLTable, _ key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: table.line, column: table.column, key: key, message: message)
    }

    /// "expected a string, found an integer", with a word more for dates, which TOML reads
    /// but no setting takes.
    func wrongType(_ entry: TOMLTable.Entry, _ key: String, wanted: String) -> ConfigurationError {
        var message = "expected \(wanted), found \(entry.value.kind)"
        if case .dateTime(let d) = entry.value {
            message += " (\(d.rfc3339)); dates are not a value Latchkey uses here: put it in quotes if it is text"
        }
        return fail(entry, key, message)
    }

    func table(_ entry: TOMLTable.Entry, key: String) throws(ConfigurationError) -> TOMLTable {
        guard case .table(let t) = entry.value else { throw wrongType(entry, key, wanted: "a table") }
        return t
    }

    func string(_ entry: TOMLTable.Entry, _ key: String) throws(ConfigurationError) -> String {
        guard case .string(let s) = entry.value else { throw wrongType(entry, key, wanted: "a string") }
        return s
    }

    func bool(_ entry: TOMLTable.Entry, _ key: String) throws(ConfigurationError) -> Bool {
        guard case .bool(let b) = entry.value else { throw wrongType(entry, key, wanted: "true or false") }
        return b
    }

    func strings(_ entry: TOMLTable.Entry, _ key: String) throws(ConfigurationError) -> [String] {
        guard case .array(let values) = entry.value else { throw wrongType(entry, key, wanted: "an array of strings") }
        var out: [String] = []
        for (i, v) in values.enumerated() {
            guard case .string(let s) = v else {
                throw wrongType(
                    TOMLTable.Entry(value: v, line: entry.line, column: entry.column), "\(key)[\(i)]",
                    wanted: "a string")
            }
            out.append(s)
        }
        return out
    }

    func choice<E: RawRepresentable & CaseIterable>(_ entry: TOMLTable.Entry, _ key: String, _: E.Type)
        throws(ConfigurationError) -> E where E.RawValue == String
    {
        let s = try string(entry, key)
        guard let e = E(rawValue: s) else {
            throw fail(entry, key, "'\(s)' is not one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return e
    }

    /// Seconds, from a number of seconds or a string such as "90s", "5m", "1h", "1d": finite,
    /// not negative, at most `maxDuration`. Nothing else (no "inf", "nan", "1e300s", "0x10").
    func duration(_ entry: TOMLTable.Entry, _ key: String) throws(ConfigurationError) -> Double {
        let name = key.split(separator: ".").last.map(String.init) ?? key
        let seconds: Double?
        switch entry.value {
        case .integer(let i): seconds = i >= 0 ? Double(i) : nil
        case .float(let d): seconds = d.isFinite && d >= 0 ? d : nil
        case .string(let s): seconds = Self.parseDuration(s)
        default:
            throw wrongType(entry, key, wanted: "a duration such as \"30s\"")
        }
        guard let seconds, seconds <= Self.maxDuration else {
            throw fail(
                entry, key,
                "`\(name)` must be a duration such as \"30s\" (digits, then s, m, h or d), at most 366 days")
        }
        return seconds
    }

    private static let units: [UInt8: Double] = [
        UInt8(ascii: "s"): 1, UInt8(ascii: "m"): 60, UInt8(ascii: "h"): 3600, UInt8(ascii: "d"): 86_400,
    ]

    /// "90", "90s", "1.5m", "2h", "1d": digits, an optional fraction, an optional unit.
    static func parseDuration(_ s: String) -> Double? {
        var bytes = Array(s.utf8)
        guard !bytes.isEmpty, bytes.count <= 20 else { return nil }
        var multiplier: Double = 1
        if let last = bytes.last, let unit = Self.units[last] {
            multiplier = unit
            bytes.removeLast()
        }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isDigit) }),
            let n = Double(String(decoding: bytes, as: UTF8.self)), n.isFinite
        else { return nil }
        return n * multiplier
    }

    func broker(_ table: TOMLTable) throws(ConfigurationError) -> BrokerSettings {
        var b = BrokerSettings()
        for key in table.keys {
            guard let e = table[key] else { continue }
            let path = "broker.\(key)"
            switch key {
            case "store": b.store = try choice(e, path, BrokerSettings.StoreKind.self)
            case "refresh_before": b.refreshBefore = try duration(e, path)
            case "min_valid": b.minValid = try duration(e, path)
            case "active_window": b.activeWindow = try duration(e, path)
            case "signin_warning": b.signinWarning = try duration(e, path)
            case "keepalive_interval":
                b.keepaliveInterval = try duration(e, path)
                guard b.keepaliveInterval >= 10 else { throw fail(e, path, "must be at least 10 seconds") }
            case "provider_timeout":
                b.providerTimeout = try duration(e, path)
                guard b.providerTimeout >= 1 else { throw fail(e, path, "must be at least 1 second") }
            case "notify": b.notify = try choice(e, path, BrokerSettings.Notify.self)
            case "notify_command": b.notifyCommand = try strings(e, path)
            case "key_file": b.keyFile = try string(e, path)
            case "store_file": b.storeFile = try string(e, path)
            default: throw fail(e, path, "unknown key")
            }
        }
        if b.notify == .command && b.notifyCommand.isEmpty, let notify = table["notify"] {
            throw fail(
                notify, "broker.notify_command",
                "notify = \"command\" needs notify_command = [\"program\", \"arg\"…]")
        }
        return b
    }

    func account(_ name: String, _ table: TOMLTable) throws(ConfigurationError) -> AccountConfig {
        guard Configuration.isValidAccountName(name) else {
            throw fail(table, "accounts.\(name)", "account names may use letters, digits, '.', '_' and '-' only")
        }
        var a = AccountConfig(name: name)
        a.line = table.line
        for key in table.keys {
            guard let e = table[key] else { continue }
            let path = "accounts.\(name).\(key)"
            switch key {
            case "email": a.email = try string(e, path)
            case "method": a.method = try choice(e, path, AuthMethod.self)
            case "fallback":
                a.fallback = []
                for s in try strings(e, path) {
                    guard let m = AuthMethod(rawValue: s), m != .auto else {
                        throw fail(e, path, "'\(s)' is not one of: oauth, kerberos, basic")
                    }
                    a.fallback.append(m)
                }
            case "provider": a.provider = try choice(e, path, AccountConfig.Provider.self)
            case "tenant": a.tenant = try string(e, path)
            case "issuer": a.issuer = try string(e, path)
            case "client_id": a.clientID = try string(e, path)
            case "scopes": a.scopes = try strings(e, path)
            case "flow": a.flow = try choice(e, path, AccountConfig.Flow.self)
            case "ca_file": a.caFile = try string(e, path)
            case "authorization_endpoint": a.authorizationEndpoint = try string(e, path)
            case "token_endpoint": a.tokenEndpoint = try string(e, path)
            case "device_authorization_endpoint": a.deviceAuthorizationEndpoint = try string(e, path)
            case "revocation_endpoint": a.revocationEndpoint = try string(e, path)
            case "principal": a.principal = try string(e, path)
            case "service": a.service = try string(e, path)
            case "username": a.username = try string(e, path)
            case "remember_password": a.rememberPassword = try bool(e, path)
            case "activesync_accept_policy": a.activeSyncAcceptPolicy = try bool(e, path)
            case "url": a.url = try string(e, path)
            case "git_hosts": a.gitHosts = try strings(e, path)
            case "imap", "smtp":
                let text = try string(e, path)
                guard let server = HostPort(text) else {
                    throw fail(e, path, "'\(text)' is not host:port (a port from 1 to 65535)")
                }
                if key == "imap" { a.imap = server } else { a.smtp = server }
            case "allowed_clients": a.allowedClients = try strings(e, path)
            case "min_valid": a.minValid = try duration(e, path)
            case "session_lifetime": a.sessionLifetime = try duration(e, path)
            case "inactivity_limit": a.inactivityLimit = try duration(e, path)
            case "client_secret":
                throw fail(
                    e, path, "a client secret does not belong in a plain file; Latchkey keeps secrets in its store")
            default: throw fail(e, path, "unknown key")
            }
        }
        if a.method == .auto, a.url == nil, a.email == nil {
            throw fail(
                table, "accounts.\(name).url",
                "a method = \"auto\" account needs the service url (or an email for Autodiscover)")
        }
        if a.method == .oauth {
            if a.clientID == nil {
                throw fail(table, "accounts.\(name).client_id", "an oauth account needs a client_id")
            }
            if a.provider == .oidc, a.issuer == nil, a.tokenEndpoint == nil {
                throw fail(
                    table, "accounts.\(name).issuer", "an oidc account needs an issuer (or explicit endpoints)")
            }
        }
        return a
    }
}
