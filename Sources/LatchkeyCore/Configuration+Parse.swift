/// A configuration error that names the file, the line and the key, as a person needs to fix it.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var key: String
    public var message: String
    /// The column (in characters, from 1) where the wrong text starts; 0 when unknown.
    public var column: Int

    public init(file: String, line: Int, column: Int = 0, key: String, message: String) {
        self.file = file
        self.line = line
        self.column = column
        // A key may be a megabyte long: a message shows 100 characters of it.
        self.key = key.count <= 100 ? key : String(key.prefix(100)) + "…"
        self.message = message
    }

    /// `file:line:column: key: message`, as compilers and editors show a place.
    public var description: String {
        let place = column > 0 ? "\(file):\(line):\(column)" : "\(file):\(line)"
        return key.isEmpty ? "\(place): \(message)" : "\(place): \(key): \(message)"
    }

    public var latchkeyError: LatchkeyError {
        LatchkeyError(.configuration, "Configuration error: \(description)", hint: "Fix the file and try again.")
    }
}

extension Configuration {
    /// Parses a configuration file's text. `file` only names it in errors.
    public static func parse(_ text: String, file: String) throws(ConfigurationError) -> Configuration {
        try parse(Array(text.utf8), file: file)
    }

    /// Parses a configuration file's bytes (TOML 1.0; see `TOMLTable.parse`). `file` only
    /// names it in errors.
    public static func parse(_ bytes: [UInt8], file: String) throws(ConfigurationError) -> Configuration {
        let root: TOMLTable
        do {
            root = try TOMLTable.parse(bytes)
        } catch {
            throw ConfigurationError(
                file: file, line: error.line, column: error.column, key: error.key,
                message: "this is not valid TOML: \(error.message)")
        }
        let reader = Reader(file: file)
        var configuration = Configuration()
        for key in root.keys {
            guard let entry = root[key] else { continue }
            switch key {
            case "broker":
                let table = try reader.table(entry, key: "broker")
                configuration.broker = try reader.broker(table)
            case "accounts":
                let table = try reader.table(entry, key: "accounts")
                for name in table.keys {
                    guard let entry = table[name] else { continue }
                    let account = try reader.table(entry, key: "accounts.\(name)")
                    configuration.accounts.append(try reader.account(name, account))
                }
            default:
                throw ConfigurationError(
                    file: file, line: entry.line, column: entry.column, key: key,
                    message: "unknown section (expected [broker] or [accounts.NAME])")
            }
        }
        return configuration
    }

    /// Every key `[broker]` accepts; config/latchkey.example.toml documents each (a test checks).
    public static let brokerKeys = [
        "store", "refresh_before", "min_valid", "provider_timeout", "notify", "notify_command", "key_file",
        "store_file",
        "active_window", "keepalive_interval", "signin_warning",
    ]

    /// Every key an `[accounts.NAME]` table accepts; the example documents each.
    public static let accountKeys = [
        "email", "method", "fallback", "provider", "tenant", "issuer", "client_id", "scopes", "flow", "ca_file",
        "authorization_endpoint", "token_endpoint", "device_authorization_endpoint", "revocation_endpoint",
        "principal", "service", "username", "remember_password", "url", "git_hosts", "allowed_clients", "min_valid",
        "activesync_accept_policy", "imap", "smtp", "session_lifetime", "inactivity_limit",
    ]

    /// Account names travel in socket paths and store attributes.
    public static func isValidAccountName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy(\.isAccountNameByte)
    }
}
