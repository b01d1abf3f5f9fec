import AuditReport

/// `--shard I/N` (1-based): which operator layers a partial audit analyses.
///
/// Selection: the names of the graph's analysed nodes (dense, conv, embedding, unfolded
/// BatchNorm, PReLU) are sorted by Unicode scalar order; the k-th name (0-based) belongs to shard
/// `k mod N + 1`. Every such layer is in exactly one shard, whatever the order of the file.
/// Rows without analysis (activations, pooling, folded BatchNorm, unreferenced tensors) are
/// written by shard 1 only. `spectral-audit merge` (`ReportMerge`) rebuilds the whole report.
public struct ShardSpec: Sendable, Equatable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init?(index: Int, count: Int) {
        guard count >= 1, index >= 1, index <= count else { return nil }
        self.index = index
        self.count = count
    }

    /// Parses `I/N` with `1 ≤ I ≤ N`.
    public init?(argument: String) {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else { return nil }
        self.init(index: i, count: n)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether this shard writes the rows that need no analysis.
    var ownsPassiveRows: Bool { index == 1 }

    /// The subset of `names` (analysed layers) owned by this shard.
    func owned(_ names: [String]) -> Set<String> {
        let sorted = names.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
        var out = Set<String>()
        for (k, name) in sorted.enumerated() where k % count + 1 == index { out.insert(name) }
        return out
    }
}
