internal import COpenSSL
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// A line protocol (IMAP, SMTP) over TCP, then TLS — at once (IMAPS) or after STARTTLS — for
/// diagnose's mail login checks. The certificate must verify against the system's CAs (plus
/// `caFile`) and name the host. Lines are bounded (8 KiB), reads time out, and nothing sent is
/// kept or logged.
public final class TLSLines {
    let fd: Int32
    let host: String
    let port: Int
    var context: OpaquePointer?
    var ssl: OpaquePointer?
    var pending: [UInt8] = []
    static let lineLimit = 8192

    public init(host: String, port: Int, timeout: Double) throws(LatchkeyError) {
        fd = try TLSInspector.connect(host: host, port: port, timeout: timeout)
        self.host = host
        self.port = port
    }

    deinit {
        if let ssl {
            SSL_shutdown(ssl)
            SSL_free(ssl)
        }
        if let context { SSL_CTX_free(context) }
        close(fd)
    }

    /// The TLS handshake; a certificate that does not verify is refused, naming why.
    public func startTLS(caFile: String?) throws(LatchkeyError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSInspector.failure("create a TLS context") }
        self.context = context
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        _ = SSL_CTX_set_default_verify_paths(context)
        if let caFile, SSL_CTX_load_verify_locations(context, caFile, nil) != 1 {
            throw LatchkeyError(
                .configuration, "The CA file \(caFile) cannot be read as PEM certificates.", hint: "Check ca_file.")
        }
        guard let ssl = SSL_new(context) else { throw TLSInspector.failure("create a TLS session") }
        self.ssl = ssl
        TLSInspector.expect(ssl, host: host, fd: fd)
        guard SSL_connect(ssl) == 1 else {
            let verify = Int(SSL_get_verify_result(ssl))
            let reason = verify != 0 ? String(cString: X509_verify_cert_error_string(verify)) : Self.openSSLError()
            throw LatchkeyError(
                .providerUnavailable, "The TLS handshake with \(host):\(port) failed: \(reason).",
                hint: "Check the port (IMAPS 993 is TLS at once; submission 587 uses STARTTLS) and ca_file.")
        }
    }

    /// One line without its CRLF: printable text, at most 8 KiB.
    public func readLine() throws(LatchkeyError) -> String {
        while true {
            if let end = pending.firstIndex(of: 0x0A) {
                var line = Array(pending[..<end])
                pending.removeFirst(end + 1)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard pending.count < Self.lineLimit else {
                throw LatchkeyError(
                    .providerUnavailable, "\(host):\(port) sent a line longer than \(Self.lineLimit) bytes.")
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let count = chunk.withUnsafeMutableBytes { buffer -> Int in
                if let ssl { return Int(SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))) }
                return read(fd, buffer.baseAddress, buffer.count)
            }
            guard count > 0 else {
                throw LatchkeyError(
                    .providerUnavailable, "\(host):\(port) closed the connection or did not answer in time.")
            }
            pending += chunk[..<count]
        }
    }

    /// Sends `line` and CRLF (a SASL response may hold a token: the caller reveals it here only).
    public func send(_ line: String) throws(LatchkeyError) {
        let bytes = Array((line + "\r\n").utf8)
        var offset = 0
        while offset < bytes.count {
            let count = bytes[offset...].withUnsafeBytes { buffer -> Int in
                if let ssl { return Int(SSL_write(ssl, buffer.baseAddress, Int32(buffer.count))) }
                return write(fd, buffer.baseAddress, buffer.count)
            }
            guard count > 0 else { throw LatchkeyError(.providerUnavailable, "\(host):\(port) closed the connection.") }
            offset += count
        }
    }

    static func openSSLError() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(ERR_get_error(), &buffer, buffer.count)
        return String(cString: buffer)
    }
}
