/// Where non-finite values (NaN, ±Inf) sit in a tensor. Any such weight fails the audit
/// (SPEC §6), so every reader of weights in this module scans with this one function.
enum NonFinite {
    /// How many values are not finite and the flat index of the first; nil when all are finite.
    static func scan(_ data: [Double]) -> (count: Int, first: Int)? {
        // Fast path (issue 20): one branch-free pass that the compiler vectorises; the counting
        // loop below runs only for the rare tensor that has a non-finite value.
        if allFinite(data) { return nil }
        var count = 0, first = -1
        for (k, v) in data.enumerated() where !v.isFinite {
            if first < 0 { first = k }
            count += 1
        }
        return count > 0 ? (count, first) : nil
    }

    /// Whether every value is finite: `Σ x·0` is ±0 for finite x and NaN as soon as one x is NaN
    /// or ±Inf (four independent lanes, no branch per element).
    static func allFinite(_ data: [Double]) -> Bool {
        data.withUnsafeBufferPointer { p in
            var z0 = 0.0, z1 = 0.0, z2 = 0.0, z3 = 0.0
            var i = 0
            let n = p.count
            while i + 4 <= n {
                z0 += p[i] * 0; z1 += p[i + 1] * 0; z2 += p[i + 2] * 0; z3 += p[i + 3] * 0
                i += 4
            }
            while i < n { z0 += p[i] * 0; i += 1 }
            return (z0 + z1) + (z2 + z3) == 0
        }
    }
}
