/// The ActiveSync protocol versions Latchkey speaks, best first (MS-ASHTTP 2.2.1.1.2.6).
public enum ProtocolVersion {
    public static let spoken = ["16.1", "16.0", "14.1"]

    /// The best version both sides speak, from the OPTIONS answer's `MS-ASProtocolVersions`
    /// (a comma-separated list); nil when there is none.
    public static func negotiate(_ offered: String) -> String? {
        let versions = offered.prefix(200).split(separator: ",").map { $0.trimmingCharactersInSpaces() }
        return spoken.first { versions.contains($0) }
    }
}

extension Substring {
    func trimmingCharactersInSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }
}
