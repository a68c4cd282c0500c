/// Which settings of a device policy ask something of the device (MS-ASPROV 2.2.2.*). Latchkey
/// holds credentials; it locks no screen, encrypts no disk, counts no failed unlocks and limits
/// no camera, so every such setting is one it cannot enforce and says so.
public enum PolicyReading {
    /// Settings that only limit what the server sends (mail age, body sizes) are the sync
    /// tool's matter and not listed; `Allow…` settings restrict when 0; the rest ask when set
    /// to anything but 0 or empty.
    static let serverSide: Set<String> = [
        "MaxCalendarAgeFilter", "MaxEmailAgeFilter", "MaxEmailBodyTruncationSize", "MaxHTMLBodyTruncationSize",
        "MaxAttachmentSize", "AttachmentsEnabled", "AllowHTMLEmail", "ApplicationName", "Hash",
    ]

    public static func isRequirement(_ name: String, _ value: String) -> Bool {
        if serverSide.contains(name) { return false }
        if name.hasPrefix("Allow") || name == "DocumentBrowseEnabled" || name == "PasswordRecoveryEnabled" {
            return value == "0" && name.hasPrefix("Allow")
        }
        return !value.isEmpty && value != "0"
    }
}
