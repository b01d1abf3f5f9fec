import SpectralModel
/// Layer order for inferred structures: which sequences of operators chain shape-consistently.
enum InferredOrder {
    /// What the order check needs of an operator: fan-in (conv: input channels per group), fan-out
    /// (conv: output channels) and whether it is a convolution.
    struct Shape: Sendable, Equatable {
        var fanIn: Int
        var fanOut: Int
        var conv: Bool
    }

    /// `a` then `b` is shape-consistent: conv → conv and dense → dense/conv need equal sizes;
    /// conv → dense needs the dense fan-in to be a multiple of the conv's channels (a flatten
    /// over some positions, or global pooling when equal).
    static func links(_ a: Shape, _ b: Shape) -> Bool {
        if a.conv && !b.conv { return a.fanOut > 0 && b.fanIn % a.fanOut == 0 }
        return a.fanOut == b.fanIn
    }

    /// The first `k` where `seq[k-1] → seq[k]` does not chain, or nil when the whole sequence does.
    static func firstMismatch(_ seq: [Shape]) -> Int? {
        guard seq.count > 1 else { return nil }
        for k in 1..<seq.count where !links(seq[k - 1], seq[k]) { return k }
        return nil
    }

    /// Depth-first search for orders of all `shapes` that chain, trying candidates in index order
    /// (so the first order found is the one closest to the given order, lexicographically).
    /// Returns that order and how many were found (stopping at 2; `exhausted` when the step
    /// budget ran out before the search finished).
    static func search(_ shapes: [Shape], budget: Int = 200_000) -> (first: [Int]?, count: Int, exhausted: Bool) {
        let n = shapes.count
        guard n > 0 else { return ([], 1, false) }
        var used = [Bool](repeating: false, count: n)
        var path: [Int] = []
        var first: [Int]?
        var count = 0
        var steps = 0
        var exhausted = false

        func dfs() {
            if count >= 2 || exhausted { return }
            if path.count == n {
                count += 1
                if first == nil { first = path }
                return
            }
            for j in 0..<n where !used[j] {
                steps += 1
                if steps > budget {
                    exhausted = true
                    return
                }
                if let last = path.last, !links(shapes[last], shapes[j]) { continue }
                used[j] = true
                path.append(j)
                dfs()
                path.removeLast()
                used[j] = false
                if count >= 2 || exhausted { return }
            }
        }
        dfs()
        return (first, count, exhausted)
    }
}
