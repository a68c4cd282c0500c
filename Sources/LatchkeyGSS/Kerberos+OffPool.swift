import LatchkeyBlocking

extension Kerberos {
    /// Runs GSSAPI and libkrb5 calls off the cooperative pool (`Blocking.run`): they block on
    /// the KDC, on the ticket cache's lock and on a prompter waiting for the person. Every
    /// caller of this module's calls from async code goes through here; the result (or the
    /// Kerberos error) comes back as a value.
    public static func offPool<T: Sendable>(
        _ body: @escaping @Sendable () throws(KerberosError) -> T
    ) async -> Result<T, KerberosError> {
        do throws(KerberosError) {
            return .success(try await Blocking.run(body))
        } catch {
            return .failure(error)
        }
    }
}
