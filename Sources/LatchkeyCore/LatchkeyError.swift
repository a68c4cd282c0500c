/// The stable error codes of the socket API (SPEC.md §4). The code travels over the socket
/// and picks both the HTTP status and the command line's exit status.
public enum ErrorCode: String, Sendable, CaseIterable {
    case unknownAccount = "unknown_account"
    case signinRequired = "signin_required"
    case forbidden = "forbidden"
    case providerUnavailable = "provider_unavailable"
    case badRequest = "bad_request"
    case configuration = "configuration"
    /// The credential store cannot be reached right now (Latchkey's addition to SPEC.md §4).
    case storeUnavailable = "store_unavailable"
    case internalError = "internal"

    public var httpStatus: Int {
        switch self {
        case .unknownAccount: 404
        case .signinRequired: 409
        case .forbidden: 403
        case .providerUnavailable: 503
        case .badRequest: 400
        case .configuration: 500
        case .storeUnavailable: 503
        case .internalError: 500
        }
    }

    /// sysexits, as msmtp and sendmail use them (SPEC.md §3).
    public var exitStatus: Int32 {
        switch self {
        case .unknownAccount, .configuration: ExitStatus.configuration
        case .signinRequired, .forbidden: ExitStatus.notPermitted
        case .providerUnavailable, .storeUnavailable, .internalError: ExitStatus.temporaryFailure
        case .badRequest: ExitStatus.usage
        }
    }
}

/// Exit statuses of every command (SPEC.md §3).
public enum ExitStatus {
    public static let ok: Int32 = 0
    public static let usage: Int32 = 64
    public static let unreachable: Int32 = 69
    public static let temporaryFailure: Int32 = 75
    public static let notPermitted: Int32 = 77
    public static let configuration: Int32 = 78
}

/// An error as the person sees it: what happened in plain words, and what to do.
///
/// `message` and `hint` never carry a secret; they are built from fixed text, account
/// names and provider error codes only.
public struct LatchkeyError: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String
    public var hint: String
    /// Seconds after which a retry may succeed (`provider_unavailable`).
    public var retryAfter: Int?

    public init(_ code: ErrorCode, _ message: String, hint: String = "", retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.hint = hint
        self.retryAfter = retryAfter
    }

    public var description: String {
        hint.isEmpty ? message : "\(message)\n  hint: \(hint)"
    }

    /// The JSON envelope of the socket API.
    public var json: JSONValue {
        var object: [(String, JSONValue)] = [
            ("error", .string(code.rawValue)), ("message", .string(message)), ("hint", .string(hint)),
        ]
        if let retryAfter { object.append(("retry_after", .number(Double(retryAfter)))) }
        return .object(object)
    }

    /// Reads the envelope back (the client side).
    public init?(json: JSONValue) {
        guard let raw = json["error"]?.stringValue else { return nil }
        self.code = ErrorCode(rawValue: raw) ?? .internalError
        self.message = json["message"]?.stringValue ?? raw
        self.hint = json["hint"]?.stringValue ?? ""
        self.retryAfter = json["retry_after"]?.intValue
    }

    public static func unknownAccount(_ name: String) -> LatchkeyError {
        LatchkeyError(
            .unknownAccount, "There is no account named '\(name)'.",
            hint: "Add [accounts.\(name)] to the configuration, or run `latchkey status` to list accounts.")
    }

    public static func signinRequired(_ name: String, _ why: String) -> LatchkeyError {
        LatchkeyError(.signinRequired, why, hint: "Run `latchkey login \(name)`.")
    }
}
