import LatchkeyCore

/// An answer from the daemon.
public struct DaemonResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public var json: JSONValue? { try? JSONValue.parse(body) }

    /// The error envelope as a `LatchkeyError`, for any answer that is not 2xx.
    public var error: LatchkeyError? {
        guard !(200..<300).contains(status) else { return nil }
        if let json, let error = LatchkeyError(json: json) { return error }
        return LatchkeyError(.internalError, "The daemon answered HTTP \(status).")
    }
}

/// The command line's only way to the daemon: HTTP/1.1 over the Unix socket.
public struct DaemonClient: Sendable {
    public let socketPath: String

    public init(socketPath: String) {
        self.socketPath = socketPath
    }

    /// The largest answer body the client reads (a length beyond it is refused, not trusted).
    static let maximumBody = 64 << 20

    /// One request on its own connection.
    public func request(_ method: String, _ target: String, body: [UInt8] = []) throws(ClientError) -> DaemonResponse {
        let connection = try SocketConnection(path: socketPath)
        try connection.send(Self.requestHead(method, target, bodyLength: body.count), body: body)
        let (status, headers) = try readHead(connection)
        if let length = headers.first(where: { $0.name.lowercased() == "content-length" }).flatMap({
            CheckedNumber.decimal($0.value.trimmed, maximum: Self.maximumBody)
        }) {
            return DaemonResponse(status: status, headers: headers, body: try connection.readExactly(length))
        }
        var body: [UInt8] = []
        if isChunked(headers) {
            while let chunk = try readChunk(connection) { body += chunk }
        } else {
            while let line = try connection.readLine() { body += Array(line.utf8) + [0x0A] }
        }
        return DaemonResponse(status: status, headers: headers, body: body)
    }

    /// A streaming request (the login stream): calls `onEvent` for each JSON line and
    /// `onTick` about once a second while nothing arrives. Either returns false to stop.
    public func stream(_ method: String, _ target: String, onEvent: (JSONValue) -> Bool, onTick: () -> Bool)
        throws(ClientError) -> DaemonResponse?
    {
        let connection = try SocketConnection(path: socketPath)
        try connection.send(Self.requestHead(method, target, bodyLength: 0), body: [])
        let (status, headers) = try readHead(connection)
        guard status == 200, isChunked(headers) else {
            let length =
                headers.first(where: { $0.name.lowercased() == "content-length" }).flatMap {
                    CheckedNumber.decimal($0.value.trimmed, maximum: Self.maximumBody)
                } ?? 0
            return DaemonResponse(status: status, headers: headers, body: try connection.readExactly(length))
        }
        var pending: [UInt8] = []
        while true {
            while !connection.waitReadable(timeout: 1000) {
                if !onTick() { return nil }
            }
            guard let chunk = try readChunk(connection) else { return nil }
            pending += chunk
            while let newline = pending.firstIndex(of: 0x0A) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                guard !line.isEmpty else { continue }
                guard let json = try? JSONValue.parse(line) else {
                    throw ClientError(kind: .protocolError, message: "the daemon sent an event that is not JSON")
                }
                if !onEvent(json) { return nil }
            }
        }
    }

    static func requestHead(_ method: String, _ target: String, bodyLength: Int) -> String {
        var head =
            "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nUser-Agent: latchkey/\(LatchkeyVersion.current)\r\nConnection: close\r\n"
        if bodyLength > 0 || method == "POST" {
            head += "Content-Type: application/json\r\nContent-Length: \(bodyLength)\r\n"
        }
        return head + "\r\n"
    }

    private func readHead(_ connection: SocketConnection) throws(ClientError) -> (Int, [(name: String, value: String)])
    {
        guard let statusLine = try connection.readLine() else {
            throw ClientError(kind: .protocolError, message: "the daemon closed the connection without an answer")
        }
        let parts = statusLine.split(separator: " ", maxSplits: 2)
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."),
            let status = CheckedNumber.decimal(parts[1], maximum: 999)
        else {
            throw ClientError(kind: .protocolError, message: "the daemon's answer is not HTTP")
        }
        var headers: [(name: String, value: String)] = []
        while let line = try connection.readLine(), !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((String(line[..<colon]), String(line[line.index(after: colon)...]).trimmed))
        }
        return (status, headers)
    }

    private func isChunked(_ headers: [(name: String, value: String)]) -> Bool {
        headers.contains { $0.name.lowercased() == "transfer-encoding" && $0.value.lowercased().includes("chunked") }
    }

    /// One chunk of a chunked body; nil after the last.
    private func readChunk(_ connection: SocketConnection) throws(ClientError) -> [UInt8]? {
        guard let sizeLine = try connection.readLine() else { return nil }
        let hex = sizeLine.split(separator: ";").first.map(String.init)?.trimmed ?? ""
        guard let size = Int(hex, radix: 16), (0...Self.maximumBody).contains(size) else {
            throw ClientError(kind: .protocolError, message: "the daemon sent a malformed chunk")
        }
        if size == 0 {
            while let line = try connection.readLine(), !line.isEmpty {}
            return nil
        }
        let bytes = try connection.readExactly(size)
        _ = try connection.readLine()
        return bytes
    }
}
