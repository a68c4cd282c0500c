internal import CCurl
import LatchkeyCore

/// One blocking libcurl easy transfer and the state its callbacks fill in.
final class Transfer {
    var body: [UInt8] = []
    var headerLines: [String] = []
    var tooLarge = false
    let limit: Int
    let cancelled: CancelFlag

    init(limit: Int, cancelled: CancelFlag) {
        self.limit = limit
        self.cancelled = cancelled
    }

    static func perform(_ request: HTTPRequest, options: HTTPOptions, cancelled: CancelFlag) -> Result<
        HTTPResponse, HTTPError
    > {
        if let failure = lk_curl_load() {
            return .failure(HTTPError(kind: .other, message: "libcurl is not available: \(String(cString: failure))"))
        }
        guard let handle = lk_curl_easy_init() else {
            return .failure(HTTPError(kind: .other, message: "libcurl could not create a handle"))
        }
        defer { lk_curl_easy_cleanup(handle) }
        let transfer = Transfer(limit: options.maximumResponseBytes, cancelled: cancelled)
        let unmanaged = Unmanaged.passRetained(transfer)
        defer { unmanaged.release() }
        let context = unmanaged.toOpaque()

        var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
        var headerList: UnsafeMutablePointer<curl_slist>?
        defer { lk_curl_slist_free_all(headerList) }
        var connectToList: UnsafeMutablePointer<curl_slist>?
        defer { lk_curl_slist_free_all(connectToList) }

        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { errorPointer in
            var setup = CURLE_OK
            func set(_ option: CURLoption, _ value: Int) {
                if setup == CURLE_OK { setup = lk_curl_setopt_long(handle, option, value) }
            }
            func set(_ option: CURLoption, _ value: String) {
                if setup == CURLE_OK { setup = lk_curl_setopt_string(handle, option, value) }
            }
            set(CURLOPT_URL, request.url)
            set(CURLOPT_NOSIGNAL, 1)
            set(CURLOPT_PROTOCOLS_STR, "http,https")
            set(CURLOPT_SSL_VERIFYPEER, 1)
            set(CURLOPT_SSL_VERIFYHOST, 2)
            if let caFile = options.caFile { set(CURLOPT_CAINFO, caFile) }
            for entry in options.connectTo { connectToList = lk_curl_slist_append(connectToList, entry) }
            if let connectToList, setup == CURLE_OK {
                setup = lk_curl_setopt_slist(handle, CURLOPT_CONNECT_TO, connectToList)
            }
            set(CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(options.connectTimeout))
            set(CURLOPT_TIMEOUT_MS, Self.milliseconds(options.totalTimeout))
            set(CURLOPT_FOLLOWLOCATION, options.followRedirects ? 1 : 0)
            set(CURLOPT_MAXREDIRS, 5)
            set(CURLOPT_ACCEPT_ENCODING, "")
            set(CURLOPT_USERAGENT, "latchkey/\(LatchkeyVersion.current)")
            if setup == CURLE_OK {
                setup = lk_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, errorPointer.baseAddress)
            }
            switch request.method {
            case "GET": break
            case "POST": set(CURLOPT_POST, 1)
            case "HEAD": set(CURLOPT_NOBODY, 1)
            default: set(CURLOPT_CUSTOMREQUEST, request.method)
            }
            if let body = request.body {
                let bytes = body.reveal()
                set(CURLOPT_POSTFIELDSIZE, bytes.count)
                // COPYPOSTFIELDS copies at once: no pointer to a temporary outlives this call.
                if setup == CURLE_OK {
                    setup = bytes.withUnsafeBytes { raw in
                        lk_curl_setopt_pointer(
                            handle, CURLOPT_COPYPOSTFIELDS,
                            UnsafeMutableRawPointer(mutating: raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!))
                    }
                }
            }
            for (name, value) in request.headers {
                headerList = lk_curl_slist_append(headerList, "\(name): \(value)")
            }
            if request.body != nil { headerList = lk_curl_slist_append(headerList, "Expect:") }
            if let headerList, setup == CURLE_OK {
                setup = lk_curl_setopt_slist(handle, CURLOPT_HTTPHEADER, headerList)
            }
            if setup == CURLE_OK {
                setup = lk_curl_setopt_data_callback(handle, CURLOPT_WRITEFUNCTION, latchkeyCurlWrite)
            }
            if setup == CURLE_OK { setup = lk_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, context) }
            if setup == CURLE_OK {
                setup = lk_curl_setopt_data_callback(handle, CURLOPT_HEADERFUNCTION, latchkeyCurlHeader)
            }
            if setup == CURLE_OK { setup = lk_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, context) }
            if setup == CURLE_OK { setup = lk_curl_setopt_xferinfo(handle, latchkeyCurlProgress) }
            if setup == CURLE_OK { setup = lk_curl_setopt_pointer(handle, CURLOPT_XFERINFODATA, context) }
            set(CURLOPT_NOPROGRESS, 0)
            guard setup == CURLE_OK else { return setup }
            return lk_curl_easy_perform(handle)
        }

        guard code == CURLE_OK else {
            return .failure(Self.error(code, errorBuffer: errorBuffer, transfer: transfer, options: options))
        }
        var status = 0
        _ = lk_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(
            HTTPResponse(status: status, headers: Self.parseHeaders(transfer.headerLines), body: transfer.body))
    }

    /// Every CURLcode becomes a typed error carrying libcurl's own text.
    /// A timeout in seconds as libcurl's milliseconds: 1 ms to a day, never a trap (the
    /// configuration checks its values; this is the last line).
    static func milliseconds(_ seconds: Double) -> Int {
        Int(clamping: seconds * 1000, to: 1...86_400_000, rounding: .up) ?? 30_000
    }

    static func error(_ code: CURLcode, errorBuffer: [CChar], transfer: Transfer, options: HTTPOptions) -> HTTPError {
        if transfer.tooLarge {
            return HTTPError(
                kind: .responseTooLarge,
                message: "the answer is larger than \(options.maximumResponseBytes) bytes and was cut off",
                curlCode: Int(code.rawValue))
        }
        let detail = errorBuffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        let text = detail.isEmpty ? String(cString: lk_curl_easy_strerror(code)) : detail
        let kind: HTTPError.Kind
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY: kind = .resolve
        case CURLE_COULDNT_CONNECT: kind = .connect
        case CURLE_OPERATION_TIMEDOUT: kind = .timeout
        case CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CONNECT_ERROR, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CACERT_BADFILE,
            CURLE_SSL_CIPHER, CURLE_SSL_ISSUER_ERROR:
            kind = .tls
        case CURLE_ABORTED_BY_CALLBACK: kind = transfer.cancelled.isSet ? .cancelled : .other
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL: kind = .invalidURL
        default: kind = .other
        }
        return HTTPError(kind: kind, message: text.trimmingNewlines, curlCode: Int(code.rawValue))
    }

    /// Headers of the final answer only: a new status line (after 1xx or a redirect) starts over.
    static func parseHeaders(_ lines: [String]) -> [(name: String, value: String)] {
        var headers: [(name: String, value: String)] = []
        for line in lines {
            if line.hasPrefix("HTTP/") {
                headers.removeAll()
                continue
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon])
            let value = String(line[line.index(after: colon)...]).trimmed
            headers.append((name, value))
        }
        return headers
    }
}

extension String {
    var trimmingNewlines: String {
        var s = Substring(self)
        while let l = s.last, l.isNewline { s.removeLast() }
        return String(s)
    }
}

// C callbacks: plain functions, so no actor isolation is captured (NOTES-linux.md).

private func latchkeyCurlWrite(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    if transfer.body.count + length > transfer.limit {
        transfer.tooLarge = true
        return 0
    }
    data.withMemoryRebound(to: UInt8.self, capacity: length) {
        transfer.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: length))
    }
    return length
}

private func latchkeyCurlHeader(
    _ data: UnsafeMutablePointer<CChar>?, _ size: Int, _ count: Int, _ userdata: UnsafeMutableRawPointer?
) -> Int {
    guard let data, let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    let length = size * count
    let line = data.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    }
    if transfer.headerLines.count < 200 { transfer.headerLines.append(line) }
    return length
}

private func latchkeyCurlProgress(
    _ userdata: UnsafeMutableRawPointer?, _: curl_off_t, _: curl_off_t, _: curl_off_t, _: curl_off_t
) -> Int32 {
    guard let userdata else { return 0 }
    let transfer = Unmanaged<Transfer>.fromOpaque(userdata).takeUnretainedValue()
    return transfer.cancelled.isSet ? 1 : 0
}
