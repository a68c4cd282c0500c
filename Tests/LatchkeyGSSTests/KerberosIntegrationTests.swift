import LatchkeyCore
import LatchkeyGSS
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// LatchkeyGSS against the real test KDC (LATCHKEY.TEST) and Apache with mod_auth_gssapi.
/// Serialized: KRB5_CONFIG is process-wide, and two tests stop the KDC or change a password.
/// Each test uses its own FILE: cache. Skips without the test environment; fails instead under
/// LATCHKEY_INTEGRATION=1.
@Suite(.serialized) struct KerberosIntegrationTests {
    static let alicePassword = "alice-Kerberos-1"

    /// Signs alice in to `cache` through the prompter (no remembered password).
    func signInAlice(_ env: KerberosTestEnvironment, cache: String) throws {
        try Kerberos.signIn(
            principal: env.principal("alice"), password: nil, cache: cache,
            prompter: ScriptedPrompter([[Self.alicePassword]]))
    }

    @Test func signInRelaysThePasswordPromptAndApacheAcceptsEachTokenOnce() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            let prompter = ScriptedPrompter([[Self.alicePassword]])
            try Kerberos.signIn(principal: env.principal("alice"), password: nil, cache: cache, prompter: prompter)
            let prompts = prompter.calls.flatMap(\.prompts)
            #expect(prompts.count == 1)
            #expect(prompts.first?.kind == .password)
            #expect(prompts.first?.hidden == true)
            #expect(prompts.first?.text.contains("alice@LATCHKEY.TEST") == true)

            let first = try Kerberos.negotiateToken(service: env.spn, principal: nil, cache: cache)
            let second = try Kerberos.negotiateToken(service: env.spn, principal: env.principal("alice"), cache: cache)
            #expect(first.reveal() != second.reveal())
            #expect(first.reveal().first == 0x60)  // GSS initial context token (RFC 2743 §3.1)
            #expect("\(first)" == "<redacted>")
            #expect(try env.apacheStatus(token: first) == "200")
            #expect(try env.apacheStatus(token: second) == "200")
            // Replay: mod_auth_gssapi's replay cache refuses a token seen before.
            #expect(try env.apacheStatus(token: first) == "401")
        }
    }

    @Test func aRememberedPasswordAnswersWithoutAsking() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            let prompter = ScriptedPrompter([])
            try Kerberos.signIn(
                principal: env.principal("alice"), password: Secret(Self.alicePassword), cache: cache,
                prompter: prompter)
            #expect(prompter.calls.flatMap(\.prompts).isEmpty)
            #expect(try Kerberos.ticketStatus(principal: nil, cache: cache).principal == env.principal("alice"))
        }
    }

    @Test func ticketStatusAndRenewal() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            try signInAlice(env, cache: cache)
            let status = try Kerberos.ticketStatus(principal: nil, cache: cache)
            #expect(status.principal == "alice@LATCHKEY.TEST")
            #expect(status.secondsLeft > 0 && status.secondsLeft <= 10 * 3600)
            #expect(status.renewableSecondsLeft > status.secondsLeft)

            try Kerberos.renew(principal: env.principal("alice"), cache: cache)
            let renewed = try Kerberos.ticketStatus(principal: env.principal("alice"), cache: cache)
            #expect(renewed.principal == "alice@LATCHKEY.TEST")
            #expect(renewed.secondsLeft >= status.secondsLeft - 5)
            // The renewed TGT still works for a service ticket.
            let token = try Kerberos.negotiateToken(service: env.spn, principal: nil, cache: cache)
            #expect(try env.apacheStatus(token: token) == "200")

            // A cache holding alice's tickets has none for carol.
            let other = kerberosError { () throws(KerberosError) in
                _ = try Kerberos.ticketStatus(principal: env.principal("carol"), cache: cache)
            }
            #expect(other?.kind == .noCredentials)
        }
    }

    @Test func shortyTicketLastsAtMostTwoMinutes() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            try Kerberos.signIn(
                principal: env.principal("shorty"), password: Secret("shorty-Kerberos-1"), cache: cache,
                prompter: ScriptedPrompter([]))
            let status = try Kerberos.ticketStatus(principal: nil, cache: cache)
            #expect(status.principal == "shorty@LATCHKEY.TEST")
            #expect(status.secondsLeft > 0 && status.secondsLeft <= 120)
        }
    }

    @Test func anExpiredTicketIsExpired() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            // A TGT of 2 seconds, from MIT's kinit (the API asks the KDC for the default life).
            let kinit = try shell(
                "echo '\(Self.alicePassword)' | kinit -l 2s -c '\(cache)' '\(env.principal("alice"))' 2>&1")
            try #require(kinit.status == 0, "kinit failed: \(kinit.output)")
            #expect(try Kerberos.ticketStatus(principal: nil, cache: cache).secondsLeft <= 2)
            // Wait for the end time by polling the status, at most 10 s.
            var status: KerberosError?
            for _ in 0..<100 {
                status = kerberosError { () throws(KerberosError) in
                    _ = try Kerberos.ticketStatus(principal: nil, cache: cache)
                }
                if status != nil { break }
                usleep(100_000)
            }
            #expect(status?.kind == .expired)
            // Just after expiry GSSAPI still hands out the credential with a lifetime of 0, and a
            // moment later refuses it: both are `.expired`.
            for _ in 0..<2 {
                let token = kerberosError { () throws(KerberosError) in
                    _ = try Kerberos.negotiateToken(service: env.spn, principal: nil, cache: cache)
                }
                #expect(token?.kind == .expired)
                usleep(1_500_000)
            }
            let renewal = kerberosError { () throws(KerberosError) in try Kerberos.renew(principal: nil, cache: cache) }
            #expect(renewal?.kind == .expired)
        }
    }

    @Test func noCacheIsNoCredentials() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            let token = kerberosError { () throws(KerberosError) in
                _ = try Kerberos.negotiateToken(service: env.spn, principal: nil, cache: cache)
            }
            #expect(token?.kind == .noCredentials)
            #expect(token?.message.contains("no Kerberos credentials") == true)
            let status = kerberosError { () throws(KerberosError) in
                _ = try Kerberos.ticketStatus(principal: nil, cache: cache)
            }
            #expect(status?.kind == .noCredentials)
            let renewal = kerberosError { () throws(KerberosError) in try Kerberos.renew(principal: nil, cache: cache) }
            #expect(renewal?.kind == .noCredentials)
        }
    }

    @Test func wrongPasswordIsReportedWithoutThePassword() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            let error = kerberosError { () throws(KerberosError) in
                try Kerberos.signIn(
                    principal: env.principal("alice"), password: Secret("not-Alices-password-9"), cache: cache,
                    prompter: ScriptedPrompter([]))
            }
            #expect(error?.kind == .wrongPassword)
            #expect(error?.message.contains("not-Alices-password-9") == false)
            #expect(error?.description.contains("alice@LATCHKEY.TEST") == true)
        }
    }

    @Test func aCancelledPromptIsCancelled() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            let error = kerberosError { () throws(KerberosError) in
                try Kerberos.signIn(
                    principal: env.principal("alice"), password: nil, cache: cache, prompter: ScriptedPrompter([nil]))
            }
            #expect(error?.kind == .cancelled)
        }
    }

    @Test func unknownServiceIsUnknownServer() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            try signInAlice(env, cache: cache)
            let error = kerberosError { () throws(KerberosError) in
                _ = try Kerberos.negotiateToken(service: "HTTP@nohost.invalid", principal: nil, cache: cache)
            }
            #expect(error?.kind == .unknownServer)
            #expect(error?.message.contains("HTTP@nohost.invalid") == true)
        }
    }

    @Test func stoppedKDCIsUnreachable() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            try signInAlice(env, cache: cache)
            try env.kerberosScript("kdc-stop")
            defer { #expect(throws: Never.self) { try env.kerberosScript("kdc-start") } }
            // A fresh cache holds no service ticket yet: the token needs the KDC.
            let token = kerberosError { () throws(KerberosError) in
                _ = try Kerberos.negotiateToken(service: env.spn, principal: nil, cache: cache)
            }
            #expect(token?.kind == .kdcUnreachable)
            #expect(token?.message.contains("LATCHKEY.TEST") == true)
            let signIn = kerberosError { () throws(KerberosError) in
                try Kerberos.signIn(
                    principal: env.principal("alice"), password: Secret(Self.alicePassword), cache: cache,
                    prompter: ScriptedPrompter([]))
            }
            #expect(signIn?.kind == .kdcUnreachable)
            let renewal = kerberosError { () throws(KerberosError) in try Kerberos.renew(principal: nil, cache: cache) }
            #expect(renewal?.kind == .kdcUnreachable)
            // The failed sign-in left alice's ticket in place.
            #expect(try Kerberos.ticketStatus(principal: nil, cache: cache).principal == "alice@LATCHKEY.TEST")
        }
    }

    @Test func expiredPasswordChangeRelaysEveryPromptAndTheKDCsReason() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        defer { #expect(throws: Never.self) { try env.kerberosScript("reset") } }
        try withPrivateCache { cache in
            let newPassword = "carol-New-pass-2024"
            let prompter = ScriptedPrompter([
                ["carol-Old-pass-1"], ["short-1", "short-1"], [newPassword, newPassword],
            ])
            try Kerberos.signIn(principal: env.principal("carol"), password: nil, cache: cache, prompter: prompter)

            let calls = prompter.calls.filter { !$0.prompts.isEmpty }
            #expect(calls.count == 3)
            #expect(calls.first?.prompts.map(\.kind) == [.password])
            #expect(calls.dropFirst().first?.prompts.map(\.kind) == [.newPassword, .newPasswordAgain])
            #expect(calls.dropFirst().first?.banner?.contains("Password expired") == true)
            // The KDC's reason for refusing "short-1" reaches the person before the second try.
            let reason = calls.last?.banner ?? ""
            #expect(reason.lowercased().contains("too short"), "banner was: \(reason)")
            #expect(!prompter.texts.contains { $0.contains("short-1") || $0.contains(newPassword) })

            let status = try Kerberos.ticketStatus(principal: nil, cache: cache)
            #expect(status.principal == "carol@LATCHKEY.TEST")
            #expect(status.secondsLeft > 0)
        }
    }

    @Test func mismatchedNewPasswordsAreRejected() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        // No reset: the password never reaches kpasswd (and kerberos.sh reset fails when carol
        // still has her old password: "Cannot reuse password").
        try withPrivateCache { cache in
            let mismatch = ["carol-New-pass-2024", "carol-New-pass-2025"]
            let prompter = ScriptedPrompter([["carol-Old-pass-1"], mismatch, mismatch, mismatch])
            let error = kerberosError { () throws(KerberosError) in
                try Kerberos.signIn(principal: env.principal("carol"), password: nil, cache: cache, prompter: prompter)
            }
            #expect(error?.kind == .passwordRejected)
            #expect(error?.message.contains("carol-New-pass") == false)
        }
    }

    @Test func threeRejectedNewPasswordsCarryTheKDCsReason() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            let short = ["short-1", "short-1"]
            let prompter = ScriptedPrompter([["carol-Old-pass-1"], short, short, short])
            let error = kerberosError { () throws(KerberosError) in
                try Kerberos.signIn(principal: env.principal("carol"), password: nil, cache: cache, prompter: prompter)
            }
            #expect(error?.kind == .passwordRejected)
            #expect(error?.message.lowercased().contains("too short") == true)
            #expect(error?.message.contains("short-1") == false)
        }
    }

    @Test func anUnknownPrincipalIsNamed() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            let error = kerberosError { () throws(KerberosError) in
                try Kerberos.signIn(
                    principal: env.principal("nobody"), password: Secret("whatever-1234"), cache: cache,
                    prompter: ScriptedPrompter([]))
            }
            #expect(error?.kind == .other)
            #expect(error?.message.contains("does not know the principal nobody@LATCHKEY.TEST") == true)
        }
    }

    @Test func aCacheOfAnotherPrincipalHasNoCredentials() throws {
        guard let env = KerberosTestEnvironment.current() else { return }
        try withPrivateCache { cache in
            try signInAlice(env, cache: cache)
            let error = kerberosError { () throws(KerberosError) in
                _ = try Kerberos.negotiateToken(service: env.spn, principal: env.principal("carol"), cache: cache)
            }
            #expect(error?.kind == .noCredentials)
        }
    }

    // Without the test environment too: a missing cache needs no KDC and no krb5.conf realm.
    @Test func aMissingCacheIsNoCredentialsAnywhere() throws {
        _ = KerberosTestEnvironment.current()
        try withPrivateCache { cache in
            let token = kerberosError { () throws(KerberosError) in
                _ = try Kerberos.negotiateToken(service: "HTTP@localhost", principal: nil, cache: cache)
            }
            #expect(token?.kind == .noCredentials)
            #expect(token?.description.contains(cache) == true)
            let status = kerberosError { () throws(KerberosError) in
                _ = try Kerberos.ticketStatus(principal: nil, cache: cache)
            }
            #expect(status?.kind == .noCredentials)
        }
    }
}
