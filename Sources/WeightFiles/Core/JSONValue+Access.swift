import Foundation

/// Convenience accessors over `JSONValue` for configs, manifests and policies (headers use the
/// exact-integer accessors of `StrictJSON.swift`).
extension JSONValue {
    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    public var string: String? { stringValue }

    /// The number as a Double (nearest; fine for configs and limits, never for sizes).
    public var number: Double? {
        if case .number(let t) = self { return Double(t) }
        return nil
    }

    /// The number as an Int when it is integral (sign allowed) and fits.
    public var int: Int? {
        guard case .number(let t) = self else { return nil }
        if let i = Int(t) { return i }
        if let d = Double(t), d.rounded() == d, abs(d) < 9.0e15 { return Int(d) }
        return nil
    }

    public var bool: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    /// Object keys in document order (empty for non-objects).
    public var keys: [String] {
        if case .object(let o) = self { return o.keys }
        return []
    }

    public var isObject: Bool {
        if case .object = self { return true }
        return false
    }

    /// Parses UTF-8 text with the nesting limit (clamped to `absoluteMaxDepth`).
    public static func parse(_ data: Data, maxDepth: Int) throws(JSONParseError) -> JSONValue {
        try parse([UInt8](data), maxDepth: maxDepth)
    }

    public static func parse(_ text: String, maxDepth: Int) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth)
    }
}

extension JSONParseError: CustomStringConvertible {
    public var description: String {
        depthExceeded ? "JSON nested too deeply (byte \(offset)): \(message)" : "JSON byte \(offset): \(message)"
    }
}
