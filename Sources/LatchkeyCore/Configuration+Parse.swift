/// A configuration error that names the file, the line and the key, as a person needs to fix it.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var key: String
    public var message: String

    public var description: String {
        key.isEmpty ? "\(file):\(line): \(message)" : "\(file):\(line): \(key): \(message)"
    }

    public var latchkeyError: LatchkeyError {
        LatchkeyError(.configuration, "Configuration error: \(description)", hint: "Fix the file and try again.")
    }
}

extension Configuration {
    /// Parses a configuration file's text. `file` only names it in errors.
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> Configuration {
        let root: TOMLTable
        do {
            root = try TOMLTable.parse(text)
        } catch {
            throw ConfigurationError(file: file, line: error.line, key: "", message: error.message)
        }
        let reader = Reader(file: file)
        var configuration = Configuration()
        for key in root.keys {
            let entry = root[key]!
            switch key {
            case "broker":
                let table = try reader.table(entry, key: "broker")
                configuration.broker = try reader.broker(table)
            case "accounts":
                let table = try reader.table(entry, key: "accounts")
                for name in table.keys {
                    let account = try reader.table(table[name]!, key: "accounts.\(name)")
                    configuration.accounts.append(try reader.account(name, account))
                }
            default:
                throw ConfigurationError(
                    file: file, line: entry.line, key: key, message: "unknown section (expected [broker] or [accounts.NAME])")
            }
        }
        return configuration
    }

    /// Every key `[broker]` accepts; config/latchkey.example.toml documents each (a test checks).
    public static let brokerKeys = ["store", "refresh_before", "min_valid", "provider_timeout", "notify", "notify_command", "key_file", "store_file"]

    /// Every key an `[accounts.NAME]` table accepts; the example documents each.
    public static let accountKeys = [
        "email", "method", "fallback", "provider", "tenant", "issuer", "client_id", "scopes", "flow", "ca_file",
        "authorization_endpoint", "token_endpoint", "device_authorization_endpoint", "revocation_endpoint",
        "principal", "service", "username", "remember_password", "url", "git_hosts", "allowed_clients", "min_valid",
    ]

    /// Account names travel in socket paths and store attributes.
    public static func isValidAccountName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy(\.isAccountNameByte)
    }
}

/// Reads typed values out of TOML tables, turning every mismatch into an error at its line.
struct Reader {
    let file: String

    func fail(_ line: Int, _ key: String, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: line, key: key, message: message)
    }

    func table(_ entry: TOMLTable.Entry, key: String) throws(ConfigurationError) -> TOMLTable {
        guard case .table(let t) = entry.value else {
            throw fail(entry.line, key, "expected a table, found \(entry.value.kind)")
        }
        return t
    }

    func string(_ entry: TOMLTable.Entry, _ key: String) throws(ConfigurationError) -> String {
        guard case .string(let s) = entry.value else { throw fail(entry.line, key, "expected a string, found \(entry.value.kind)") }
        return s
    }

    func bool(_ entry: TOMLTable.Entry, _ key: String) throws(ConfigurationError) -> Bool {
        guard case .bool(let b) = entry.value else { throw fail(entry.line, key, "expected true or false, found \(entry.value.kind)") }
        return b
    }

    func strings(_ entry: TOMLTable.Entry, _ key: String) throws(ConfigurationError) -> [String] {
        guard case .array(let values) = entry.value else {
            throw fail(entry.line, key, "expected an array of strings, found \(entry.value.kind)")
        }
        var out: [String] = []
        for v in values {
            guard case .string(let s) = v else { throw fail(entry.line, key, "expected an array of strings") }
            out.append(s)
        }
        return out
    }

    func choice<E: RawRepresentable & CaseIterable>(_ entry: TOMLTable.Entry, _ key: String, _: E.Type)
        throws(ConfigurationError) -> E where E.RawValue == String
    {
        let s = try string(entry, key)
        guard let e = E(rawValue: s) else {
            throw fail(entry.line, key, "'\(s)' is not one of: \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return e
    }

    /// Seconds, from an integer or a string such as "90s", "5m", "1h".
    func duration(_ entry: TOMLTable.Entry, _ key: String) throws(ConfigurationError) -> Double {
        switch entry.value {
        case .integer(let i) where i >= 0: return Double(i)
        case .float(let d) where d >= 0: return d
        case .string(let s):
            if let d = Self.parseDuration(s) { return d }
            throw fail(entry.line, key, "'\(s)' is not a duration (examples: \"90s\", \"5m\", \"1h\")")
        default: throw fail(entry.line, key, "expected a duration such as \"5m\", found \(entry.value.kind)")
        }
    }

    static func parseDuration(_ s: String) -> Double? {
        guard let unit = s.last else { return nil }
        let multiplier: Double
        switch unit {
        case "s": multiplier = 1
        case "m": multiplier = 60
        case "h": multiplier = 3600
        case "d": multiplier = 86_400
        default: return Double(s).flatMap { $0 >= 0 ? $0 : nil }
        }
        guard let n = Double(s.dropLast()), n >= 0 else { return nil }
        return n * multiplier
    }

    func broker(_ table: TOMLTable) throws(ConfigurationError) -> BrokerSettings {
        var b = BrokerSettings()
        for key in table.keys {
            let e = table[key]!
            let path = "broker.\(key)"
            switch key {
            case "store": b.store = try choice(e, path, BrokerSettings.StoreKind.self)
            case "refresh_before": b.refreshBefore = try duration(e, path)
            case "min_valid": b.minValid = try duration(e, path)
            case "provider_timeout":
                b.providerTimeout = try duration(e, path)
                guard b.providerTimeout >= 1 else { throw fail(e.line, path, "must be at least 1 second") }
            case "notify": b.notify = try choice(e, path, BrokerSettings.Notify.self)
            case "notify_command": b.notifyCommand = try strings(e, path)
            case "key_file": b.keyFile = try string(e, path)
            case "store_file": b.storeFile = try string(e, path)
            default: throw fail(e.line, path, "unknown key")
            }
        }
        if b.notify == .command && b.notifyCommand.isEmpty {
            throw fail(table["notify"]?.line ?? table.line, "broker.notify_command", "notify = \"command\" needs notify_command = [\"program\", \"arg\"…]")
        }
        return b
    }

    func account(_ name: String, _ table: TOMLTable) throws(ConfigurationError) -> AccountConfig {
        guard Configuration.isValidAccountName(name) else {
            throw fail(table.line, "accounts.\(name)", "account names may use letters, digits, '.', '_' and '-' only")
        }
        var a = AccountConfig(name: name)
        a.line = table.line
        for key in table.keys {
            let e = table[key]!
            let path = "accounts.\(name).\(key)"
            switch key {
            case "email": a.email = try string(e, path)
            case "method": a.method = try choice(e, path, AuthMethod.self)
            case "fallback":
                a.fallback = []
                for s in try strings(e, path) {
                    guard let m = AuthMethod(rawValue: s), m != .auto else {
                        throw fail(e.line, path, "'\(s)' is not one of: oauth, kerberos, basic")
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
            case "url": a.url = try string(e, path)
            case "git_hosts": a.gitHosts = try strings(e, path)
            case "allowed_clients": a.allowedClients = try strings(e, path)
            case "min_valid": a.minValid = try duration(e, path)
            case "client_secret":
                throw fail(e.line, path, "a client secret does not belong in a plain file; Latchkey keeps secrets in its store")
            default: throw fail(e.line, path, "unknown key")
            }
        }
        if a.method == .auto, a.url == nil, a.email == nil {
            throw fail(table.line, "accounts.\(name).url", "a method = \"auto\" account needs the service url (or an email for Autodiscover)")
        }
        if a.method == .oauth {
            if a.clientID == nil { throw fail(table.line, "accounts.\(name).client_id", "an oauth account needs a client_id") }
            if a.provider == .oidc, a.issuer == nil, a.tokenEndpoint == nil {
                throw fail(table.line, "accounts.\(name).issuer", "an oidc account needs an issuer (or explicit endpoints)")
            }
        }
        return a
    }
}
