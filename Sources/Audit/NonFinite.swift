/// Where non-finite values (NaN, ±Inf) sit in a tensor. Any such weight fails the audit
/// (SPEC §6), so every reader of weights in this module scans with this one function.
enum NonFinite {
    /// How many values are not finite and the flat index of the first; nil when all are finite.
    static func scan(_ data: [Double]) -> (count: Int, first: Int)? {
        var count = 0, first = -1
        for (k, v) in data.enumerated() where !v.isFinite {
            if first < 0 { first = k }
            count += 1
        }
        return count > 0 ? (count, first) : nil
    }
}
