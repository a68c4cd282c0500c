import LatchkeyCore

/// `diagnose --all`: every account's report, one summary line each, then the details of those
/// that fail; the exit status is the worst of them (a setting, then a sign-in, then the
/// network or provider).
public struct AllReports: Sendable {
    /// (account name, its report); an empty name is the configuration itself (it failed to read).
    public var reports: [(String, Report)]

    public init(_ reports: [(String, Report)]) {
        self.reports = reports
    }

    public var exitStatus: Int32 {
        let order = [ExitStatus.ok, ExitStatus.temporaryFailure, ExitStatus.notPermitted, ExitStatus.configuration]
        return reports.map(\.1.exitStatus).max { (order.firstIndex(of: $0) ?? 0) < (order.firstIndex(of: $1) ?? 0) }
            ?? ExitStatus.ok
    }

    public var json: JSONValue {
        .object([
            ("schema", .number(Double(Report.schema))),
            ("result", .string(reports.contains { $0.1.failed != nil } ? "fail" : "pass")),
            ("exit_status", .number(Double(exitStatus))),
            ("accounts", .array(reports.map { $0.1.json(account: $0.0) })),
        ])
    }

    public func text(colour: Bool) -> String {
        var lines: [String] = []
        for (name, report) in reports {
            let label = name.isEmpty ? "configuration" : name
            if let failed = report.failed {
                let mark = colour ? "\u{1B}[31m✘\u{1B}[0m" : "✘"
                lines.append("\(mark) \(label): \(failed.check): \(failed.finding)")
            } else {
                let warnings = report.findings.filter { $0.status == .warn }.count
                let mark = colour ? "\u{1B}[32m✔\u{1B}[0m" : "✔"
                lines.append(
                    "\(mark) \(label): every check passed" + (warnings > 0 ? " (\(warnings) warning(s))" : "") + ".")
            }
        }
        for (name, report) in reports where report.failed != nil {
            lines.append("")
            lines.append(
                "── \(name.isEmpty ? "configuration" : name) " + String(repeating: "─", count: max(0, 60 - name.count)))
            lines.append(report.text(colour: colour))
        }
        return lines.joined(separator: "\n")
    }
}
