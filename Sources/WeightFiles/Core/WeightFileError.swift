/// The one error type readers throw. Its description is the single line a user sees:
/// `FILE: PLACE: expected EXPECTED, found FOUND`.
public struct WeightFileError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        /// The path does not exist.
        case missing
        /// Exists but cannot be read (permissions, a directory, an I/O error).
        case unreadable
        /// The bytes do not follow the format.
        case malformed
        /// Well-formed but over a safety limit (sizes, counts, nesting).
        case limitExceeded = "limit_exceeded"
        /// Valid but a feature we do not read (e.g. pickled object arrays).
        case unsupported
    }

    public var kind: Kind
    public var path: String
    /// Where in the file: `header`, `member 'w.npy'`, `tensor 'dense/kernel'`, `offset 128`...
    public var place: String
    public var expected: String?
    public var found: String?
    public var detail: String?

    public init(_ kind: Kind, path: String, place: String, expected: String? = nil,
                found: String? = nil, detail: String? = nil) {
        self.kind = kind
        self.path = path
        self.place = place
        self.expected = expected
        self.found = found
        self.detail = detail
    }

    public var description: String {
        var parts = ["\(path): \(place)"]
        if let detail { parts.append(detail) }
        if let expected, let found {
            parts.append("expected \(expected), found \(found)")
        } else if let expected {
            parts.append("expected \(expected)")
        } else if let found {
            parts.append("found \(found)")
        }
        return String(parts.joined(separator: ": ").map { $0 == "\n" || $0 == "\r" ? " " : $0 })
    }
}
