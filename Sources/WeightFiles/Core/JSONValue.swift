import Foundation

/// A parsed JSON document. Architecture configs, manifests and headers are parsed into this
/// after a nesting-depth check, so hostile documents cannot exhaust the stack.
public indirect enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue], keys: [String])

    public subscript(key: String) -> JSONValue? {
        if case .object(let d, _) = self { return d[key] }
        return nil
    }

    public var string: String? { if case .string(let s) = self { return s }; return nil }
    public var number: Double? { if case .number(let n) = self { return n }; return nil }
    public var bool: Bool? { if case .bool(let b) = self { return b }; return nil }
    public var array: [JSONValue]? { if case .array(let a) = self { return a }; return nil }
    public var int: Int? {
        guard let n = number, n.rounded() == n, abs(n) < 9.0e15 else { return nil }
        return Int(n)
    }
    /// Object keys in document order.
    public var keys: [String] { if case .object(_, let k) = self { return k }; return [] }
    public var isNull: Bool { if case .null = self { return true }; return false }

    public struct ParseError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Parses UTF-8 JSON (RFC 8259), refusing documents nested deeper than `maxDepth`.
    /// Object keys keep document order; duplicate keys keep the last value.
    public static func parse(_ data: Data, maxDepth: Int) throws -> JSONValue {
        var p = JSONParser(bytes: [UInt8](data), maxDepth: maxDepth)
        return try p.parseDocument()
    }

    public static func parse(_ text: String, maxDepth: Int) throws -> JSONValue {
        try parse(Data(text.utf8), maxDepth: maxDepth)
    }
}

/// A strict recursive-descent JSON parser with an explicit depth limit.
private struct JSONParser {
    let bytes: [UInt8]
    let maxDepth: Int
    var i = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    mutating func parseDocument() throws -> JSONValue {
        // Skip a UTF-8 byte-order mark.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        let v = try value(depth: 0)
        skipSpace()
        guard i == bytes.count else { throw fail("end of document") }
        return v
    }

    func fail(_ expected: String) -> JSONValue.ParseError {
        let found = i < bytes.count ? "'\(Character(UnicodeScalar(bytes[i])))'" : "end of input"
        return JSONValue.ParseError(description: "JSON byte \(i): expected \(expected), found \(found)")
    }

    mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 { i += 1 }
    }

    mutating func value(depth: Int) throws -> JSONValue {
        skipSpace()
        guard i < bytes.count else { throw fail("a value") }
        switch bytes[i] {
        case UInt8(ascii: "{"):
            guard depth < maxDepth else {
                throw JSONValue.ParseError(description: "JSON nested more than \(maxDepth) deep")
            }
            i += 1
            var dict: [String: JSONValue] = [:]
            var keys: [String] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(dict, keys: keys) }
            while true {
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("a string key") }
                let k = try string()
                skipSpace()
                guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("':'") }
                i += 1
                let v = try value(depth: depth + 1)
                if dict.updateValue(v, forKey: k) == nil { keys.append(k) }
                skipSpace()
                guard i < bytes.count else { throw fail("',' or '}'") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(dict, keys: keys) }
                throw fail("',' or '}'")
            }
        case UInt8(ascii: "["):
            guard depth < maxDepth else {
                throw JSONValue.ParseError(description: "JSON nested more than \(maxDepth) deep")
            }
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < bytes.count else { throw fail("',' or ']'") }
                if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw fail("',' or ']'")
            }
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        // Python's json writes NaN/Infinity; accept them (Keras configs can contain them).
        case UInt8(ascii: "N"): return try literal("NaN", .number(.nan))
        case UInt8(ascii: "I"): return try literal("Infinity", .number(.infinity))
        default:
            if bytes[i] == UInt8(ascii: "-"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "I") {
                i += 1
                return try literal("Infinity", .number(-.infinity))
            }
            return try number()
        }
    }

    mutating func literal(_ word: String, _ v: JSONValue) throws -> JSONValue {
        let w = Array(word.utf8)
        guard i + w.count <= bytes.count, Array(bytes[i..<(i + w.count)]) == w else { throw fail("'\(word)'") }
        i += w.count
        if case .number(let n) = v, n == .infinity, i - w.count - 1 >= 0, bytes[i - w.count - 1] == UInt8(ascii: "-") {
            return .number(-.infinity)
        }
        return v
    }

    mutating func number() throws -> JSONValue {
        let start = i
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
        var digits = 0
        while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1; digits += 1 }
        guard digits > 0 else { i = start; throw fail("a value") }
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            var frac = 0
            while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1; frac += 1 }
            guard frac > 0 else { throw fail("a digit") }
        }
        if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
            i += 1
            if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
            var exp = 0
            while i < bytes.count, (0x30...0x39).contains(bytes[i]) { i += 1; exp += 1 }
            guard exp > 0 else { throw fail("a digit") }
        }
        let text = String(decoding: bytes[start..<i], as: UTF8.self)
        guard let d = Double(text) else { throw fail("a number") }
        return .number(d)
    }

    mutating func string() throws -> String {
        i += 1  // opening quote
        var out: [UInt8] = []
        while true {
            guard i < bytes.count else { throw fail("'\"'") }
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; break }
            if b < 0x20 { throw fail("no control characters in strings") }
            if b != UInt8(ascii: "\\") { out.append(b); i += 1; continue }
            i += 1
            guard i < bytes.count else { throw fail("an escape") }
            let e = bytes[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): out.append(0x22)
            case UInt8(ascii: "\\"): out.append(0x5C)
            case UInt8(ascii: "/"): out.append(0x2F)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var code = try hex4()
                if (0xD800...0xDBFF).contains(code), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") {
                    i += 2
                    let low = try hex4()
                    if (0xDC00...0xDFFF).contains(low) {
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                }
                let scalar = UnicodeScalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw fail("a valid escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    mutating func hex4() throws -> UInt32 {
        guard i + 4 <= bytes.count else { throw fail("four hex digits") }
        guard let v = UInt32(String(decoding: bytes[i..<(i + 4)], as: UTF8.self), radix: 16) else { throw fail("four hex digits") }
        i += 4
        return v
    }
}
