/// A typed metadata value stored in a weight file (GGUF key/values): reader-level data with no
/// meaning attached. Graph builders read architecture hyper-parameters through it
/// (`ModelMetadataProviding`); `inspect` prints `summary`.
public enum MetadataValue: Sendable, Hashable {
    /// The scalar types a file can declare.
    public enum Scalar: String, Sendable, Hashable, Codable {
        case u8, i8, u16, i16, u32, i32, u64, i64, f32, f64, bool, string, array
    }

    case unsigned(UInt64, Scalar)
    case signed(Int64, Scalar)
    case float(Double, Scalar)
    case bool(Bool)
    case string(String)
    /// Elements all of `elementType` (arrays may hold arrays).
    case array(elementType: Scalar, [MetadataValue])

    /// The declared type (`u32`, `string`, `array`…).
    public var type: Scalar {
        switch self {
        case .unsigned(_, let s), .signed(_, let s), .float(_, let s): return s
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        }
    }

    /// An integer value that fits `Int` (floats never convert).
    public var intValue: Int? {
        switch self {
        case .unsigned(let v, _): return v <= UInt64(Int.max) ? Int(v) : nil
        case .signed(let v, _): return Int(exactly: v)
        default: return nil
        }
    }

    /// Any number as Double (integers above 2^53 round).
    public var doubleValue: Double? {
        switch self {
        case .unsigned(let v, _): return Double(v)
        case .signed(let v, _): return Double(v)
        case .float(let v, _): return v
        default: return nil
        }
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }

    public var arrayValue: [MetadataValue]? {
        if case .array(_, let a) = self { return a }
        return nil
    }

    /// One line for listings: scalars as they are, strings quoted and cut at 80 characters,
    /// arrays as their type and length with their first few elements (never dumped whole).
    public var summary: String {
        switch self {
        case .unsigned(let v, _): return String(v)
        case .signed(let v, _): return String(v)
        case .float(let v, let t): return t == .f32 ? "\(Float(v))" : "\(v)"
        case .bool(let b): return b ? "true" : "false"
        case .string(let s):
            let cut = s.count > 80 ? String(s.prefix(80)) + "…" : s
            return "\"" + cut.map { $0 == "\n" ? "\\n" : $0 == "\r" ? "\\r" : String($0) }.joined() + "\""
        case .array(let t, let a):
            let shown = a.prefix(3).map { v -> String in
                if case .array = v { return "[…]" }
                let s = v.summary
                return s.count > 24 ? String(s.prefix(24)) + "…" : s
            }
            return "[\(t.rawValue) × \(a.count)]" + (shown.isEmpty ? "" : " " + shown.joined(separator: ", ") + (a.count > 3 ? ", …" : ""))
        }
    }
}

/// A store whose file carries typed key/value metadata (GGUF). Keys keep file order.
public protocol ModelMetadataProviding {
    var metadata: [String: MetadataValue] { get }
    var metadataKeys: [String] { get }
}
