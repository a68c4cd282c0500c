import LatchkeyCore
import LatchkeyHTTP

/// One walk through the candidates, keeping the hop count, what was visited and the trail.
struct AutodiscoverWalk {
    let autodiscover: Autodiscover
    let configured: String?
    var trail: [String] = []
    var visited: [String] = []
    var hops = 0
    var sawHTML = false
    var reachedAny = false

    init(autodiscover: Autodiscover, configured: String?) {
        self.autodiscover = autodiscover
        self.configured = configured
    }

    mutating func run(email start: String) async throws(LatchkeyError) -> AutodiscoverResult {
        var email = start
        addresses: while true {
            try visit("address " + email.lowercased(), what: email)
            for base in Autodiscover.candidates(email: email, configured: configured) {
                for service in [AutodiscoverResult.Service.activeSync, .ews] {
                    let url =
                        base + "/autodiscover/autodiscover.json/v1.0/" + Autodiscover.pathSegment(email) + "?Protocol="
                        + service.rawValue
                    if let found = try await json(url, service: service) {
                        return AutodiscoverResult(service: service, url: found, email: email, trail: trail)
                    }
                }
                // Exchange Online's well-known host speaks only v2.
                guard base != Autodiscover.wellKnownHost else { continue }
                for schema in [Autodiscover.mobileSyncResponseSchema, Autodiscover.outlookResponseSchema] {
                    switch try await pox(base + "/autodiscover/autodiscover.xml", email: email, schema: schema) {
                    case .found(let service, let url):
                        return AutodiscoverResult(service: service, url: url, email: email, trail: trail)
                    case .newAddress(let address):
                        try countHop()
                        email = address
                        continue addresses
                    case .nothing:
                        continue
                    }
                }
            }
            break
        }
        let asked = trail.map { "  " + $0 }.joined(separator: "\n")
        if sawHTML {
            throw LatchkeyError(
                .configuration,
                "Autodiscover for \(start) got an HTML page instead of an Autodiscover answer:\n\(asked)",
                hint:
                    "The host serves a web page (a sign-in portal or a site without Autodiscover). Pass the right host with --autodiscover, or the service URL with --url."
            )
        }
        if !reachedAny {
            throw LatchkeyError(
                .providerUnavailable, "No Autodiscover host for \(start) could be reached:\n\(asked)",
                hint: "Check the network and DNS, or pass the host with --autodiscover, or the service URL with --url.")
        }
        throw LatchkeyError(
            .configuration, "Autodiscover found no ActiveSync or EWS service for \(start):\n\(asked)",
            hint: "Check the address, or pass the Autodiscover host with --autodiscover, or the service URL with --url."
        )
    }

    enum POXStep {
        case found(AutodiscoverResult.Service, String)
        case newAddress(String)
        case nothing
    }

    /// A v2 request, following 302s: the service URL, or nil when this host has none.
    mutating func json(_ start: String, service: AutodiscoverResult.Service) async throws(LatchkeyError) -> String? {
        var url = start
        while true {
            try visit("GET " + url, what: url)
            guard let response = await send(HTTPRequest(url: url, headers: [("Accept", "application/json")])) else {
                return nil
            }
            switch try redirectOrHTML(response, from: url, what: "GET \(url)") {
            case .redirect(let next):
                url = next
                continue
            case .html: return nil
            case .neither: break
            }
            let body = try? JSONValue.parse(response.body)
            if response.status == 200, let found = body?["Url"]?.stringValue, !found.isEmpty {
                trail.append("GET \(url) → \(service.rawValue) at \(found)")
                return found
            }
            let reason = body?["ErrorCode"]?.stringValue ?? (body == nil ? "not JSON" : "no Url")
            trail.append("GET \(url) → \(response.status) (\(reason))")
            return nil
        }
    }

    /// A POX request, following `redirectUrl`s.
    mutating func pox(_ start: String, email: String, schema: String) async throws(LatchkeyError) -> POXStep {
        var url = start
        let shortSchema = schema == Autodiscover.mobileSyncResponseSchema ? "mobilesync" : "outlook"
        while true {
            try visit("POST \(url) \(email.lowercased()) \(shortSchema)", what: url)
            let body = Array(Autodiscover.poxRequest(email: email, schema: schema).utf8)
            let request = HTTPRequest(
                method: "POST", url: url, headers: [("Content-Type", "text/xml; charset=utf-8")], body: Secret(body))
            guard let response = await send(request) else { return .nothing }
            let what = "POST \(url) (\(shortSchema))"
            switch try redirectOrHTML(response, from: url, what: what) {
            case .redirect(let next):
                url = next
                continue
            case .html: return .nothing
            case .neither: break
            }
            guard response.status == 200 else {
                trail.append("\(what) → \(response.status), not an Autodiscover answer")
                return .nothing
            }
            let answer: POXAnswer
            do {
                answer = try POXAnswer.read(response.body)
            } catch {
                trail.append("\(what) → 200, an answer Latchkey cannot read: \(error)")
                return .nothing
            }
            switch answer {
            case .settings(let service, let found):
                trail.append("\(what) → \(service.rawValue) at \(found)")
                return .found(service, found)
            case .redirectAddress(let address):
                trail.append("\(what) → redirect to the address \(address)")
                return .newAddress(address)
            case .redirectURL(let next):
                trail.append("\(what) → redirect to \(next)")
                try requireHTTPS(next, from: url)
                try countHop()
                url = next
            case .error(let message):
                trail.append("\(what) → \(message)")
                return .nothing
            }
        }
    }

    enum Turn {
        case redirect(String)
        case html
        case neither
    }

    /// An HTTP redirect (followed only to https, counted as a hop) or an HTML page, noted in the trail.
    mutating func redirectOrHTML(_ response: HTTPResponse, from url: String, what: String) throws(LatchkeyError) -> Turn
    {
        if [301, 302, 303, 307, 308].contains(response.status), let location = response.header("Location") {
            let next = Autodiscover.resolve(location, against: url)
            trail.append("\(what) → \(response.status) redirect to \(next)")
            try requireHTTPS(next, from: url)
            try countHop()
            return .redirect(next)
        }
        if isHTML(response) {
            trail.append("\(what) → \(response.status), an HTML page")
            return .html
        }
        return .neither
    }

    mutating func send(_ request: HTTPRequest) async -> HTTPResponse? {
        do {
            let response = try await autodiscover.http.send(request, options: autodiscover.options)
            reachedAny = true
            return response
        } catch {
            trail.append("\(request.method) \(request.url) → \(error.message)")
            return nil
        }
    }

    mutating func isHTML(_ response: HTTPResponse) -> Bool {
        let html =
            response.contentType.hasPrefix("text/html")
            || POXAnswer.isHTMLPage(response.body)
        if html { sawHTML = true }
        return html
    }

    mutating func visit(_ key: String, what: String) throws(LatchkeyError) {
        if visited.contains(key) {
            let chain = trail.map { "  " + $0 }.joined(separator: "\n")
            throw LatchkeyError(
                .configuration, "Autodiscover redirects in a loop, back to \(what):\n\(chain)",
                hint:
                    "The Autodiscover service is misconfigured; ask its administrator, or pass the service URL with --url."
            )
        }
        visited.append(key)
    }

    mutating func countHop() throws(LatchkeyError) {
        hops += 1
        guard hops <= autodiscover.maximumHops else {
            throw LatchkeyError(
                .configuration,
                "Autodiscover redirected more than \(autodiscover.maximumHops) times:\n"
                    + trail.map { "  " + $0 }.joined(separator: "\n"),
                hint:
                    "The Autodiscover service is misconfigured; ask its administrator, or pass the service URL with --url."
            )
        }
    }

    func requireHTTPS(_ next: String, from url: String) throws(LatchkeyError) {
        guard next.lowercased().hasPrefix("https://") else {
            throw LatchkeyError(
                .configuration,
                "Autodiscover at \(url) redirects to \(next), which is not https; Latchkey does not follow it.",
                hint:
                    "An Autodiscover answer over plain http could be forged. Ask the administrator to serve Autodiscover over https, or pass the service URL with --url."
            )
        }
    }
}
