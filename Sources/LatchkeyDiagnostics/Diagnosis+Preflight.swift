import LatchkeyCore
import LatchkeyHTTP
import LatchkeyOAuth
import LatchkeyStore

extension Diagnosis {
    /// Checks that need no sign-in and consume nothing (issue 19): the provider's answer to the
    /// account's client id — a device authorization request (its code is left to expire), or for
    /// the browser flow the authorization endpoint's answer to a loopback redirect URI like the
    /// one sign-in uses. An unknown client id or tenant, or an unregistered redirect URI, is
    /// named here with the fix, before anyone tries to sign in.
    mutating func preflight(_ account: AccountConfig) async {
        guard let metadata else { return }
        let clientID = account.clientID ?? ""
        if account.flow == .browser, let endpoint = metadata.authorizationEndpoint {
            await authorizePreflight(endpoint, clientID: clientID, scopes: account.scopes)
        } else if let endpoint = metadata.deviceAuthorizationEndpoint {
            await devicePreflight(endpoint, clientID: clientID, scopes: account.scopes)
        }
    }

    mutating func devicePreflight(_ endpoint: String, clientID: String, scopes: [String]) async {
        do {
            _ = try await OAuthClient(http: http).startDeviceAuthorization(
                endpoint: endpoint, clientID: clientID, scopes: scopes, options: options)
            add(
                Finding(
                    "preflight", .pass,
                    "POST \(endpoint) with client_id '\(clientID)' was answered with a device code: the provider knows the app and allows the device flow."
                ))
        } catch {
            let tried =
                "POST \(Attempt(url: endpoint, status: error.httpStatus).described) with client_id '\(clientID)'"
            guard !error.isTransient else {
                add(
                    Finding(
                        "preflight", .fail, "\(tried) failed: \(error.description).",
                        remedy: "Check the network path to the provider (the checks above), then run diagnose again.",
                        area: .network))
                return
            }
            refused(
                tried, code: error.code ?? "", codes: error.errorCodes, text: error.providerDescription,
                clientID: clientID)
        }
    }

    mutating func authorizePreflight(_ endpoint: String, clientID: String, scopes: [String]) async {
        let redirect = "http://127.0.0.1:8400/"
        let request = AuthorizationRequest(
            authorizationEndpoint: endpoint, clientID: clientID, redirectURI: redirect, scopes: scopes)
        let tried = "GET \(endpoint) with client_id '\(clientID)' and redirect_uri \(redirect)"
        let response: HTTPResponse
        do {
            response = try await http.send(HTTPRequest(method: "GET", url: request.url), options: options)
        } catch {
            add(
                Finding(
                    "preflight", .fail, "\(tried) failed: \(OAuthClient.describe(error, url: endpoint)).",
                    remedy: "Check the network path to the provider (the checks above), then run diagnose again.",
                    area: .network))
            return
        }
        // The page (Entra ID answers 200 with an error page), a JSON error, or a redirect back
        // to the loopback URI with ?error=: whichever names a refusal.
        let body = String(decoding: response.body.prefix(256 * 1024), as: UTF8.self)
        let location = response.header("Location") ?? ""
        let json = try? JSONValue.parse(response.body)
        let query = location.split(separator: "?", maxSplits: 1).dropFirst().first ?? ""
        let redirected = location.hasPrefix(redirect) ? FormEncoding.pairs(query).first { $0.0 == "error" }?.1 : nil
        let code = ProviderErrors.aadstsCode(in: body) ?? ProviderErrors.aadstsCode(in: location)
        let error = json?["error"]?.stringValue ?? redirected
        guard code != nil || error != nil || response.status >= 400 else {
            add(
                Finding(
                    "preflight", .pass,
                    "\(tried) answered HTTP \(response.status) with the sign-in page: the app and this kind of redirect URI are registered."
                ))
            return
        }
        let text =
            code.flatMap { Self.sentence(around: "AADSTS\($0)", in: body) }
            ?? json?["error_description"]?.stringValue ?? (error == nil ? "HTTP \(response.status)" : nil)
        refused(
            "\(tried) (HTTP \(response.status))", code: error ?? "", codes: code.map { [$0] } ?? [], text: text,
            clientID: clientID)
    }

    /// A refusal of the client id or redirect URI, in plain words, with the fix.
    mutating func refused(_ tried: String, code: String, codes: [Int], text: String?, clientID: String) {
        let explained =
            code.isEmpty && codes.isEmpty
            ? "the provider refused it" : ProviderErrors.explain(code: code, errorCodes: codes)
        let said = text.map { " The provider says: \(RecordedError.clean($0, limit: 300))" } ?? ""
        let remedy: String
        if codes.contains(50011) {
            remedy =
                "Ask your administrator to register http://127.0.0.1 (any port) as a redirect URI of the app '\(clientID)' "
                + "(platform \"Mobile and desktop applications\"), or use the device flow: flow = \"device\" in [accounts.\(name)]."
        } else if codes.contains(700016) || (codes.isEmpty && ["invalid_client", "unauthorized_client"].contains(code))
        {
            remedy =
                "Ask your administrator to register the app '\(clientID)' in this tenant (or consent to it), "
                + "or use a client id registered for this tenant: client_id in [accounts.\(name)]."
        } else {
            remedy = ProviderErrors.remedy(code: code, errorCodes: codes, account: name)
        }
        add(
            Finding(
                "preflight", .fail, "\(tried) was refused: \(explained).\(said)", remedy: remedy, area: .configuration))
    }

    /// The sentence of a page that holds `marker`, tags and spacing removed (bounded input).
    static func sentence(around marker: String, in page: String) -> String? {
        guard let found = page.firstOccurrence(of: marker) else { return nil }
        let tail = page[found.lowerBound...].prefix(600)
        let stop = tail.firstIndex(of: "<") ?? tail.endIndex
        var text = String(tail[..<stop])
        for (entity, character) in [
            ("&#39;", "'"), ("&#x27;", "'"), ("&quot;", "\""), ("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"),
        ] {
            text = text.replacingEvery(entity, with: character)
        }
        return text
    }
}
