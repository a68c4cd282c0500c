import LatchkeyBlocking
import LatchkeyCore
import Synchronization

/// The one door to libcurl. Blocking transfers run off the cooperative thread pool
/// (`Blocking.run`); a cancelled Swift task aborts its transfer within about a second.
///
/// TLS verification is always on (peer and host name); `HTTPOptions.caFile` adds a CA. Proxies
/// come from the environment as libcurl reads them (`https_proxy`, `no_proxy`, …).
public final class HTTPClient: Sendable {
    /// libcurl itself is loaded, and initialised, by the first transfer (CCurl's `lk_curl_load`).
    public init() {}

    /// Sends the request and returns any HTTP answer (4xx and 5xx included); throws only when
    /// no answer came.
    public func send(_ request: HTTPRequest, options: HTTPOptions = HTTPOptions()) async throws(HTTPError)
        -> HTTPResponse
    {
        let cancelled = CancelFlag()
        let result: Result<HTTPResponse, HTTPError> = await withTaskCancellationHandler {
            await Blocking.run { Transfer.perform(request, options: options, cancelled: cancelled) }
        } onCancel: {
            cancelled.set()
        }
        if HTTPTrace.isEnabled { HTTPTrace.record(request, result) }
        return try result.get()
    }
}

final class CancelFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    func set() { flag.store(true, ordering: .relaxed) }
    var isSet: Bool { flag.load(ordering: .relaxed) }
}
