import Foundation

/// Structural comparison of two JSON documents for golden reports that must hold on any x86-64
/// CPU: OpenBLAS picks different kernels on Intel and AMD, so the same binary's floating-point
/// results differ in the last 1–3 ulps between machines (ENVIRONMENT.md, 2026-12-06).
///
/// Rules: object keys, array lengths, strings, booleans and nulls must be identical; two numbers
/// match when `|a − b| ≤ relativeTolerance · max(|a|, |b|)` or `|a − b| ≤ absoluteTolerance`.
/// The absolute floor only serves values that are rounding noise around zero (a residual of
/// 1e-17 on one machine and 3e-17 on another); keep it far below any value a report states.
/// Byte-identical output is still expected on one machine (`--jobs 1` vs `--jobs 2`): test that
/// separately.
public enum JSONApprox {
    /// A parsed JSON value; numbers as Double (exact for the integers reports carry, < 2^53).
    public indirect enum Value: Decodable, Equatable, Sendable {
        case null, bool(Bool), number(Double), string(String), array([Value]), object([String: Value])

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null }
            else if let b = try? c.decode(Bool.self) { self = .bool(b) }
            else if let d = try? c.decode(Double.self) { self = .number(d) }
            else if let s = try? c.decode(String.self) { self = .string(s) }
            else if let a = try? c.decode([Value].self) { self = .array(a) }
            else { self = .object(try c.decode([String: Value].self)) }
        }
    }

    /// The differences between `got` and `want` (empty when they match), each naming its JSON
    /// path; at most `limit` are listed.
    public static func differences(_ got: Data, _ want: Data, relativeTolerance: Double = 1e-12,
                                   absoluteTolerance: Double = 1e-14, limit: Int = 20) throws -> [String] {
        let g = try JSONDecoder().decode(Value.self, from: got)
        let w = try JSONDecoder().decode(Value.self, from: want)
        var out: [String] = []
        compare(g, w, path: "$", rtol: relativeTolerance, atol: absoluteTolerance, limit: limit, into: &out)
        return out
    }

    /// True when two numbers agree under the rule above.
    public static func close(_ a: Double, _ b: Double, rtol: Double, atol: Double) -> Bool {
        if a == b { return true }
        if !a.isFinite || !b.isFinite { return false }
        let d = abs(a - b)
        return d <= atol || d <= rtol * max(abs(a), abs(b))
    }

    private static func compare(_ g: Value, _ w: Value, path: String, rtol: Double, atol: Double,
                                limit: Int, into out: inout [String]) {
        guard out.count < limit else { return }
        switch (g, w) {
        case let (.number(a), .number(b)):
            if !close(a, b, rtol: rtol, atol: atol) {
                out.append("\(path): got \(a), want \(b) (relative difference \(abs(a - b) / max(abs(a), abs(b))))")
            }
        case let (.array(a), .array(b)):
            guard a.count == b.count else {
                out.append("\(path): array of \(a.count) elements, want \(b.count)")
                return
            }
            for (i, (x, y)) in zip(a, b).enumerated() {
                compare(x, y, path: "\(path)[\(i)]", rtol: rtol, atol: atol, limit: limit, into: &out)
            }
        case let (.object(a), .object(b)):
            let extra = Set(a.keys).subtracting(b.keys).sorted()
            let missing = Set(b.keys).subtracting(a.keys).sorted()
            if !extra.isEmpty { out.append("\(path): unexpected keys \(extra)") }
            if !missing.isEmpty { out.append("\(path): missing keys \(missing)") }
            for key in a.keys.sorted() where b[key] != nil {
                compare(a[key]!, b[key]!, path: "\(path).\(key)", rtol: rtol, atol: atol, limit: limit, into: &out)
            }
        default:
            if g != w { out.append("\(path): got \(describe(g)), want \(describe(w))") }
        }
    }

    private static func describe(_ v: Value) -> String {
        switch v {
        case .null: return "null"
        case let .bool(b): return String(b)
        case let .number(d): return String(d)
        case let .string(s): return "\"\(s)\""
        case let .array(a): return "an array of \(a.count)"
        case let .object(o): return "an object with keys \(o.keys.sorted())"
        }
    }
}
