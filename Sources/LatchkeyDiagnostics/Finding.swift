import LatchkeyCore

/// One check's answer: pass, warn or fail, a one-line finding and a one-line remedy. Findings
/// hold no secret: tokens are described by their claims, passwords and SPNEGO tokens never.
public struct Finding: Sendable, Equatable {
    public enum Status: String, Sendable {
        case pass, warn, fail
    }

    /// What failed, for the exit status: a setting, the network or provider, or a sign-in.
    public enum Area: Sendable {
        case configuration, network, signIn
    }

    public var check: String
    public var status: Status
    public var finding: String
    public var remedy: String
    public var area: Area

    public init(_ check: String, _ status: Status, _ finding: String, remedy: String = "", area: Area = .configuration)
    {
        self.check = check
        self.status = status
        self.finding = finding
        self.remedy = remedy
        self.area = area
    }

    /// docs/diagnose-json.md: `area` is "configuration", "network" or "sign_in".
    public var json: JSONValue {
        let area =
            switch area {
            case .configuration: "configuration"
            case .network: "network"
            case .signIn: "sign_in"
            }
        return .object([
            ("check", .string(check)), ("status", .string(status.rawValue)), ("finding", .string(finding)),
            ("remedy", .string(remedy)), ("area", .string(area)),
        ])
    }
}

/// The checks run so far; a diagnosis stops at the first failure (later checks would only
/// repeat it).
public struct Report: Sendable {
    public var findings: [Finding] = []

    public init() {}

    public var failed: Finding? { findings.first { $0.status == .fail } }

    /// sysexits: 0 healthy (warnings allowed), 78 a setting, 75 the network or the provider,
    /// 77 a sign-in is needed.
    public var exitStatus: Int32 {
        switch failed?.area {
        case nil: ExitStatus.ok
        case .configuration: ExitStatus.configuration
        case .network: ExitStatus.temporaryFailure
        case .signIn: ExitStatus.notPermitted
        }
    }

    /// The version of the JSON form (docs/diagnose-json.md); raised when a field changes meaning.
    public static let schema = 1

    public func json(account: String) -> JSONValue {
        .object([
            ("schema", .number(Double(Self.schema))), ("account", .string(account)),
            ("result", .string(failed == nil ? "pass" : "fail")), ("exit_status", .number(Double(exitStatus))),
            ("checks", .array(findings.map(\.json))),
        ])
    }

    /// The readable report; `colour` for a terminal.
    public func text(colour: Bool) -> String {
        var lines: [String] = []
        for finding in findings {
            let (mark, code) =
                switch finding.status {
                case .pass: ("✔", "32")
                case .warn: ("!", "33")
                case .fail: ("✘", "31")
                }
            let shown = colour ? "\u{1B}[\(code)m\(mark)\u{1B}[0m" : mark
            lines.append("\(shown) \(finding.check): \(finding.finding)")
            if !finding.remedy.isEmpty && finding.status != .pass { lines.append("    → \(finding.remedy)") }
        }
        if let failed {
            lines.append("")
            lines.append("Stopped at the first failure (\(failed.check)); fix it and run diagnose again.")
        } else {
            lines.append("")
            lines.append("Every check passed.")
        }
        return lines.joined(separator: "\n")
    }
}
