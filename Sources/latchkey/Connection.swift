import ArgumentParser
import LatchkeyClient
import LatchkeyCore

#if canImport(Glibc)
    import Glibc
#endif

extension ClientOptions {
    var paths: Paths { Paths(environment: { getenv($0).map { String(cString: $0) } }, uid: getuid()) }

    var socketPath: String { socket ?? paths.socket }

    /// Runs `body` (one request, or a login stream) against the daemon. The request is sent
    /// first; only when nothing listens on the socket is a daemon started (unless
    /// --no-autostart) and `body` run once more — nothing was sent the first time.
    func withDaemon<T>(_ body: (DaemonClient) throws(ClientError) -> T) -> T {
        let client = DaemonClient(socketPath: socketPath)
        do {
            return try body(client)
        } catch  where error.kind == .unreachable {
            startDaemon()
        } catch {
            daemonUnanswered(error)
        }
        do {
            return try body(client)
        } catch {
            daemonUnanswered(error)
        }
    }

    /// Starts the daemon in the background; exits 69 when it cannot (or must not) be.
    private func startDaemon() {
        if noAutostart {
            fail(
                LatchkeyError(
                    .internalError, "No Latchkey daemon answers on \(socketPath).",
                    hint: "Start it with `latchkey serve` or `systemctl --user start latchkey`."),
                exit: ExitStatus.unreachable)
        }
        do {
            try Autostart.start(socketPath: socketPath, log: paths.runtimeDirectory + "/latchkeyd.log")
        } catch {
            if error.kind == .untrusted { refuseSocket(error) }
            fail(
                LatchkeyError(
                    .internalError, "The Latchkey daemon is not running and could not be started: \(error.message).",
                    hint: "Run `latchkey serve` in a terminal to see why."), exit: ExitStatus.unreachable)
        }
    }

    /// One request; a failure to reach the daemon exits 69 (75 when it hangs), an error
    /// envelope exits with its code.
    func call(_ method: String, _ target: String, body: JSONValue? = nil) throws -> JSONValue {
        let bytes = body.map { Array($0.encoded.utf8) } ?? []
        let response = withDaemon { client throws(ClientError) in try client.request(method, target, body: bytes) }
        if let error = response.error { fail(error) }
        guard let json = response.json else {
            fail(LatchkeyError(.internalError, "The daemon's answer is not JSON."), exit: ExitStatus.temporaryFailure)
        }
        return json
    }
}

/// The daemon could not be asked: a socket that is not the user's own exits 77, a daemon that
/// took the request and never answered 75 (retrying later can help), anything else 69.
func daemonUnanswered(_ error: ClientError) -> Never {
    switch error.kind {
    case .untrusted:
        refuseSocket(error)
    case .timedOut:
        fail(
            LatchkeyError(
                .internalError, "No answer from the Latchkey daemon: \(error.message).",
                hint:
                    "It may be hung: see its log (journalctl --user -u latchkey), or restart it (systemctl --user restart latchkey)."
            ),
            exit: ExitStatus.temporaryFailure)
    case .unreachable, .protocolError:
        fail(
            LatchkeyError(.internalError, "Cannot talk to the Latchkey daemon: \(error.message)."),
            exit: ExitStatus.unreachable)
    }
}

/// A socket that is not the user's own daemon (SocketTrust): exits 77 (EX_NOPERM, not 69:
/// retrying or starting a daemon cannot help), having sent it nothing.
func refuseSocket(_ error: ClientError) -> Never {
    fail(
        LatchkeyError(.forbidden, "Refusing the Latchkey socket: \(error.message)", hint: SocketTrust.remedy),
        exit: ExitStatus.notPermitted)
}

/// Prints the error (message, then hint) to standard error as one plain line, the form that
/// PassCmd-style tools (msmtp's passwordeval, mbsync's PassCmd) show as it is, and exits with
/// its status. Both may carry a provider's words: control characters are shown, not sent
/// (TerminalText), so the line stays one line.
func fail(_ error: LatchkeyError, exit status: Int32? = nil) -> Never {
    let hint = error.hint.isEmpty ? "" : " " + TerminalText.visible(error.hint)
    printError("latchkey: \(TerminalText.visible(error.message))\(hint)")
    exit(status ?? error.code.exitStatus)
}

/// Standard output carries only the requested data.
func printOut(_ text: String) {
    var line = text + "\n"
    line.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(1, buffer.baseAddress! + offset, buffer.count - offset)
            if n <= 0 { break }
            offset += n
        }
    }
}

/// Account names are checked here too, so a bad one is a usage error, not a 404.
func validateAccount(_ name: String) throws {
    guard Configuration.isValidAccountName(name) else {
        throw ValidationError("'\(name)' is not a valid account name (letters, digits, '.', '_' and '-').")
    }
}

func query(_ pairs: [(String, String?)]) -> String {
    let present = pairs.compactMap { pair in pair.1.map { "\(pair.0)=\(FormEncoding.escape($0))" } }
    return present.isEmpty ? "" : "?" + present.joined(separator: "&")
}
