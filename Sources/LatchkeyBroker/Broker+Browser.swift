import LatchkeyCore
import LatchkeyOAuth
import Logging

extension Broker {
    /// Authorization code with PKCE S256 and a loopback redirect (RFC 8252): the person opens
    /// the listener's start page (the client runs xdg-open, or prints it), which redirects to
    /// the provider; they sign in with MFA, and the browser comes back to 127.0.0.1:PORT with
    /// the code, which is traded with the verifier.
    func runBrowserLogin(_ name: String, sessionID: String) async {
        guard let config = accounts[name]?.config, let session = sessions[sessionID] else { return }
        let options = httpOptions(config)
        errorMemory.attempt(name, flow: "browser")
        do {
            let metadata = try await mapOAuth(name) { () async throws(OAuthError) in try await self.metadata(for: name) }
            guard let endpoint = metadata.authorizationEndpoint else {
                throw LatchkeyError(
                    .configuration, "The provider of '\(name)' offers no authorization endpoint, so the browser sign-in cannot work.",
                    hint: "Set authorization_endpoint for the account, or use the device flow.")
            }
            let logger = self.logger
            let listener = try await mapOAuth(name) { () async throws(OAuthError) in
                try LoopbackRedirect { uid in
                    logger.warning("browser sign-in: refused a connection of another user", metadata: ["account": "\(name)", "uid": "\(uid.map(String.init) ?? "unknown")"])
                }
            }
            let request = AuthorizationRequest(
                authorizationEndpoint: endpoint, clientID: config.clientID ?? "", redirectURI: listener.redirectURI,
                scopes: config.scopes, claims: accounts[name]?.pendingClaims)
            let timeout = 600
            // Only the start page leaves the daemon: `state` and the PKCE challenge reach the
            // browser through its redirect, never through an argv other users can read.
            emit(.browserPrompt(.init(startURL: listener.startURL, redirectURI: listener.redirectURI, expiresIn: timeout)), session)
            logger.info("waiting for the browser", metadata: ["account": "\(name)", "redirect_uri": "\(listener.redirectURI)"])
            let code = try await mapOAuth(name) { () async throws(OAuthError) in
                try await listener.waitForCode(authorizationURL: request.url, state: request.state, timeout: Double(timeout))
            }
            try Task.checkCancellation()
            let response = try await mapOAuth(name) { () async throws(OAuthError) in
                try await oauth.exchangeCode(
                    tokenEndpoint: metadata.tokenEndpoint, clientID: config.clientID ?? "", code: code, request: request,
                    options: options)
            }
            await completeSignIn(name, session, response, flow: "browser")
        } catch let error as LatchkeyError {
            logger.warning("sign-in failed", metadata: ["account": "\(name)", "flow": "browser", "error": "\(error.message)"])
            endLogin(name, session, .error(error))
        } catch {
            logger.info("sign-in cancelled", metadata: ["account": "\(name)"])
            endLogin(name, session, .error(LatchkeyError(.signinRequired, "The sign-in for '\(name)' was cancelled.", hint: "Run `latchkey login \(name)` to try again.")))
        }
    }
}
