internal import CGSSAPI

/// A GSSAPI failure with the library's own words for both the major (routine) and the minor
/// (mechanism) status, as `gss_display_status` gives them.
public struct GSSError: Error, Sendable, Equatable, CustomStringConvertible {
    public var major: UInt32
    public var minor: UInt32
    public var majorText: String
    public var minorText: String

    public var description: String {
        minorText.isEmpty ? majorText : "\(majorText): \(minorText)"
    }
}

/// The funnel every GSS status goes through: complete or continue-needed pass, anything
/// else becomes a `GSSError` with text.
enum GSSStatus {
    static func check(major: OM_uint32, minor: OM_uint32) throws(GSSError) {
        guard lk_gss_is_error(major) != 0 else { return }
        throw GSSError(
            major: major, minor: minor, majorText: text(major, type: GSS_C_GSS_CODE),
            minorText: minor == 0 ? "" : text(minor, type: GSS_C_MECH_CODE))
    }

    /// All messages for a status value, joined. MIT's text includes a trailing NUL in its
    /// length (NOTES-linux.md): strip it.
    static func text(_ status: OM_uint32, type: Int32) -> String {
        var messages: [String] = []
        var context: OM_uint32 = 0
        repeat {
            var minor: OM_uint32 = 0
            var buffer = gss_buffer_desc()
            let major = gss_display_status(&minor, status, type, nil, &context, &buffer)
            defer { gss_release_buffer(&minor, &buffer) }
            guard lk_gss_is_error(major) == 0, let value = buffer.value else { break }
            let bytes = UnsafeRawBufferPointer(start: value, count: buffer.length)
            var text = String(decoding: bytes, as: UTF8.self)
            while text.last == "\0" { text.removeLast() }
            if !text.isEmpty { messages.append(text) }
        } while context != 0 && messages.count < 8
        return messages.joined(separator: "; ")
    }
}
