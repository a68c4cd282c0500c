/// A value that must never be printed: access and refresh tokens, passwords, device codes,
/// client secrets, SPNEGO tokens.
///
/// Every textual form (`description`, `debugDescription`, `dump`, string interpolation) is
/// `<redacted>`. The only way to the value is `reveal()`, which keeps each use searchable.
public struct Secret<Value: Sendable>: Sendable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    private let value: Value

    public init(_ value: Value) {
        self.value = value
    }

    /// The secret itself. Call it only where the value leaves for its rightful destination
    /// (an HTTP body to the provider, an answer to an authorised client, the store).
    public func reveal() -> Value {
        value
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: []) }
}

extension Secret: Equatable where Value: Equatable {}
extension Secret: Hashable where Value: Hashable {}
