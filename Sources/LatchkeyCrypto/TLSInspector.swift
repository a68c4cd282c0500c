internal import COpenSSL
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

/// What a TLS handshake showed: the server's certificate and OpenSSL's verdict on it.
public struct TLSReport: Sendable, Equatable {
    /// `X509_V_OK` (0) when the chain verifies against the system's CAs plus the extra CA
    /// file and the certificate names the host.
    public var verifyCode: Int
    public var verifyText: String
    public var subject: String
    public var issuer: String
    public var notBefore: String
    public var notAfter: String
    public var protocolVersion: String

    public var verified: Bool { verifyCode == 0 }

    /// OpenSSL's verification codes that diagnose names (x509_vfy.h).
    public enum Code {
        public static let expired = 10
        public static let notYetValid = 9
        public static let selfSigned = 18
        public static let selfSignedInChain = 19
        public static let unknownIssuer = 20
        public static let unableToVerifyLeaf = 21
        public static let hostnameMismatch = 62
        public static let ipMismatch = 64
    }
}

/// A TLS handshake for diagnosis (SPEC.md §8): it completes whatever the certificate says, so
/// that a bad certificate can be described (subject, issuer, dates) and not only refused.
/// Nothing is sent after the handshake.
public enum TLSInspector {
    public static func inspect(host: String, port: Int, caFile: String?, timeout: Double = 10) throws(LatchkeyError)
        -> TLSReport
    {
        let fd = try connect(host: host, port: port, timeout: timeout)
        defer { close(fd) }
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw failure("create a TLS context") }
        defer { SSL_CTX_free(context) }
        SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        _ = SSL_CTX_set_default_verify_paths(context)
        if let caFile, SSL_CTX_load_verify_locations(context, caFile, nil) != 1 {
            throw LatchkeyError(
                .configuration, "The CA file \(caFile) cannot be read as PEM certificates.", hint: "Check ca_file.")
        }
        guard let ssl = SSL_new(context) else { throw failure("create a TLS session") }
        defer { SSL_free(ssl) }
        expect(ssl, host: host, fd: fd)
        guard SSL_connect(ssl) == 1 else {
            let code = ERR_get_error()
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            throw LatchkeyError(
                .providerUnavailable, "The TLS handshake with \(host):\(port) failed: \(String(cString: buffer)).",
                hint: "The port may not speak TLS, or the server and Latchkey share no protocol version.")
        }
        let verify = Int(SSL_get_verify_result(ssl))
        let version = String(cString: SSL_get_version(ssl))
        guard let certificate = SSL_get1_peer_certificate(ssl) else {
            throw LatchkeyError(.providerUnavailable, "\(host):\(port) sent no certificate.")
        }
        defer { X509_free(certificate) }
        return TLSReport(
            verifyCode: verify, verifyText: String(cString: X509_verify_cert_error_string(verify)),
            subject: name(X509_get_subject_name(certificate)), issuer: name(X509_get_issuer_name(certificate)),
            notBefore: time(X509_get0_notBefore(certificate)), notAfter: time(X509_get0_notAfter(certificate)),
            protocolVersion: version)
    }

    /// The name (or address) the certificate must carry, SNI for a name, and the socket.
    static func expect(_ ssl: OpaquePointer, host: String, fd: Int32) {
        if isIPAddress(host) {
            _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            _ = lk_ssl_set_sni(ssl, host)
            _ = SSL_set1_host(ssl, host)
        }
        _ = SSL_set_fd(ssl, fd)
    }

    static func name(_ name: OpaquePointer?) -> String {
        guard let name, let bio = BIO_new(BIO_s_mem()) else { return "?" }
        defer { BIO_free(bio) }
        _ = X509_NAME_print_ex(bio, name, 0, lk_xn_flag_rfc2253())
        return text(bio)
    }

    static func time(_ time: UnsafePointer<ASN1_TIME>?) -> String {
        guard let time, let bio = BIO_new(BIO_s_mem()) else { return "?" }
        defer { BIO_free(bio) }
        _ = ASN1_TIME_print(bio, time)
        return text(bio)
    }

    static func text(_ bio: OpaquePointer) -> String {
        var pointer: UnsafeMutablePointer<CChar>?
        let length = lk_bio_mem_data(bio, &pointer)
        guard let pointer, length > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: pointer, count: length), as: UTF8.self)
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// A TCP connection (for diagnose's TCP check too): the descriptor, or why not.
    public static func openConnection(host: String, port: Int, timeout: Double) throws(LatchkeyError) -> Int32 {
        try connect(host: host, port: port, timeout: timeout)
    }

    static func connect(host: String, port: Int, timeout: Double) throws(LatchkeyError) -> Int32 {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &list) == 0, let list else {
            throw LatchkeyError(.providerUnavailable, "The name \(host) does not resolve.")
        }
        defer { freeaddrinfo(list) }
        var cursor: UnsafeMutablePointer<addrinfo>? = list
        var lastError = ECONNREFUSED
        while let entry = cursor {
            cursor = entry.pointee.ai_next
            let fd = socket(
                entry.pointee.ai_family, entry.pointee.ai_socktype | Int32(SOCK_CLOEXEC.rawValue),
                entry.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            var wait = timeval(tv_sec: Int(clamping: timeout, to: 1...3600, rounding: .up) ?? 10, tv_usec: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            if Glibc.connect(fd, entry.pointee.ai_addr, entry.pointee.ai_addrlen) == 0 { return fd }
            lastError = errno
            close(fd)
        }
        throw LatchkeyError(
            .providerUnavailable, "Cannot connect to \(host):\(port): \(String(cString: strerror(lastError))).")
    }

    static func failure(_ what: String) -> LatchkeyError {
        LatchkeyError(.internalError, "OpenSSL could not \(what).")
    }
}
