/// Per-sample data that rides on a forward tape beside the key masks (`ForwardTape.keyMasks`), so
/// that one compiled model serves samples that differ in more than their input values: the
/// transformer's per-probe position ids and the per-probe token a sequence-classification head
/// reads. Every later pass over a tape (JVP, VJP, parameter gradients, Gram, second order) hands
/// the same channels to the ops through `OpContext.channels`.
public struct SampleChannels: Sendable, Equatable {
    /// Per sample, per position: the row of a position-embedding table the position uses
    /// (`PositionEmbeddingOp`; an index into the op's own table, not a position id); nil: the
    /// op's own rows.
    public var positionRows: [[Int]]?
    /// Per sample: the position a token-selecting op reads (`SelectTokenOp`); nil: the op's own.
    public var readPositions: [Int]?

    public init(positionRows: [[Int]]? = nil, readPositions: [Int]? = nil) {
        self.positionRows = positionRows
        self.readPositions = readPositions
    }

    public static let none = SampleChannels()

    /// The channels of samples `range` (a batch of a larger set).
    public func slice(_ range: Range<Int>) -> SampleChannels {
        SampleChannels(positionRows: positionRows.map { Array($0[range]) }, readPositions: readPositions.map { Array($0[range]) })
    }

    /// Sample `s`'s channels repeated `count` times (copies of one probe: SLQ, attribution draws).
    public func replicating(sample s: Int, count: Int) -> SampleChannels {
        SampleChannels(positionRows: positionRows.map { [[Int]](repeating: $0[s], count: count) },
                       readPositions: readPositions.map { [Int](repeating: $0[s], count: count) })
    }

    /// True when every channel present has one entry per sample of a batch of `n`.
    func fits(_ n: Int) -> Bool {
        (positionRows == nil || positionRows!.count == n) && (readPositions == nil || readPositions!.count == n)
    }
}

extension ForwardModel {
    /// Forward pass of `count` copies of sample `s` of `tape` (values `x`, `count × d`) with that
    /// sample's key mask and channels: the replicated tapes of SLQ and attribution.
    public func forward(_ x: [Double], count n: Int, replicating tape: ForwardTape, sample s: Int = 0) -> ForwardTape {
        forward(x, count: n, keyMasks: tape.keyMasks.map { [[Bool]](repeating: $0[s], count: n) },
                channels: tape.channels.replicating(sample: s, count: n))
    }
}
