import LatchkeyActiveSync
import LatchkeyCore
import LatchkeyHTTP
import Synchronization

/// An ActiveSync server in memory, in the HTTP provisioner's place: it answers provisioning
/// runs from what the test scripted, counts them, and can hold every answer at a `Gate` until
/// the test lets it go (a slow or hostile server, without time). No network.
final class MemoryActiveSyncServer: ActiveSyncProvisioning {
    struct Counts: Sendable {
        var provisions = 0
        /// The DeviceIds presented, in order.
        var deviceIDs: [String] = []
    }

    /// Holds every answer while closed.
    let answers = Gate()
    private let counts = Mutex(Counts())
    /// Scripted answers, used in order; when none is left, a new policy key is given.
    private let script = Mutex<[Result<ProvisionOutcome, ActiveSyncError>]>([])

    var seen: Counts { counts.withLock { $0 } }

    /// Answers the next provisioning runs with `answers`, in order.
    func script(_ answers: [Result<ProvisionOutcome, ActiveSyncError>]) {
        script.withLock { $0 += answers }
    }

    /// The scripted answers, then a provisioned device with the key `policy-N` (N counts the runs).
    func provision(
        endpoint: String, authorization: Secret<String>, device: ActiveSyncDevice, accept: Bool,
        options: HTTPOptions
    ) async throws(ActiveSyncError) -> ProvisionOutcome {
        let run = counts.withLock { counts -> Int in
            counts.provisions += 1
            counts.deviceIDs.append(device.deviceID)
            return counts.provisions
        }
        await answers.pass()
        switch script.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) {
        case .success(let answer): return answer
        case .failure(let error): throw error
        case nil:
            return .provisioned(
                key: "policy-\(run)", version: "16.1", settings: [], acknowledged: accept ? .applied : .notApplied)
        }
    }
}
