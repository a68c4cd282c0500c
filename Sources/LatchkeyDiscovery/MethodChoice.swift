import LatchkeyCore

/// The method chosen for an account and why (SPEC.md §5 step 3): the first method in the
/// preference order that the service offers and that can work here.
public struct MethodChoice: Sendable, Equatable {
    public var method: AuthMethod
    /// What the service offered for the chosen method (its challenge read as a method).
    public var offer: OfferedMethod
    /// The other offered, usable methods after the chosen one, in preference order.
    public var alternatives: [AuthMethod]
    /// One line per method considered, in plain words, for the person and the config comments.
    public var reasons: [String]

    public static let defaultPreference: [AuthMethod] = [.oauth, .kerberos, .basic]

    /// `usable` says why a method the service offers cannot work here (nil: it can).
    public static func choose(
        offered: [OfferedMethod], preference: [AuthMethod], usable: (AuthMethod, OfferedMethod) -> String?
    ) throws(LatchkeyError) -> MethodChoice {
        var reasons: [String] = []
        var chosen: (AuthMethod, OfferedMethod)?
        var alternatives: [AuthMethod] = []
        for method in preference where method != .auto {
            guard let offer = offered.first(where: { $0.method == method }) else {
                reasons.append("\(method.rawValue): not offered by the service")
                continue
            }
            if let why = usable(method, offer) {
                reasons.append("\(method.rawValue): offered, but \(why)")
            } else if chosen == nil {
                chosen = (method, offer)
                reasons.append("\(method.rawValue): offered and usable: chosen")
            } else {
                alternatives.append(method)
                reasons.append(
                    "\(method.rawValue): offered and usable, after \(chosen!.0.rawValue) in the preference order")
            }
        }
        if offered.contains(.ntlm) {
            reasons.append("ntlm: offered, but Latchkey does not support NTLM (it is deprecated and cannot carry MFA)")
        }
        for case .other(let scheme) in offered {
            reasons.append("\(scheme): offered, but not a scheme Latchkey knows")
        }
        guard let (method, offer) = chosen else {
            let order = preference.map(\.rawValue).joined(separator: ", ")
            throw LatchkeyError(
                .configuration,
                "None of the methods in the preference order (\(order)) can be used with this service:\n"
                    + reasons.map { "  " + $0 }.joined(separator: "\n"),
                hint: "Fix the first reason above, or change the preference with --prefer.")
        }
        return MethodChoice(method: method, offer: offer, alternatives: alternatives, reasons: reasons)
    }
}

extension OfferedMethod {
    /// The Latchkey method this offer is for; nil for NTLM and unknown schemes.
    public var method: AuthMethod? {
        switch self {
        case .oauth: .oauth
        case .kerberos: .kerberos
        case .basic: .basic
        case .ntlm, .other: nil
        }
    }
}
