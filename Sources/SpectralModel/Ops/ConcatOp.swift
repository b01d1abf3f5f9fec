/// Concatenation of the inputs along the channel (last) axis. Linear; Lipschitz: the root of
/// the sum of the squared branch constants.
public struct ConcatOp: LinearStructuralOp, OpBuilder {
    public let name: String
    /// Channel counts of the inputs.
    public let channels: [Int]
    public let outputShape: [Int]

    public var lipschitz: LipschitzRule { .merge(.rootSumOfSquares) }
    public var report: OpReport { OpReport(kind: "concatenate") }

    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .concatenate = node.kind else { return nil }
        let shapes = b.inputSlots.map { b.shape($0) }
        let spatial = Array(shapes[0].dropLast())
        guard shapes.allSatisfy({ !$0.isEmpty && Array($0.dropLast()) == spatial }) else {
            throw ForwardModelError("layer '\(node.name)': concatenate of shapes \(shapes) (the forward engine joins along the channel axis)",
                                    kind: .unsupported)
        }
        let chans = shapes.map { $0.last! }
        return try b.emit(ConcatOp(name: node.name, channels: chans, outputShape: spatial + [chans.reduce(0, +)]),
                          inputs: b.inputSlots)
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        (apply(ctx.inputs, rows: ctx.n, rowsPerSample: 1, ctx: ctx), .none)
    }

    public func apply(_ v: [[Double]], rows: Int, rowsPerSample k: Int, ctx: OpContext) -> [Double] {
        let size = ctx.outputSize, total = channels.reduce(0, +), positions = size / total
        var y = [Double](repeating: 0, count: rows * size)
        var off = 0
        for (ii, x) in v.enumerated() {
            let c = channels[ii], inSize = ctx.inputSizes[ii]
            for r in 0..<rows {
                for p in 0..<positions { for ch in 0..<c { y[r * size + p * total + off + ch] = x[r * inSize + p * c + ch] } }
            }
            off += c
        }
        return y
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        let size = ctx.outputSize, total = channels.reduce(0, +), positions = size / total
        var off = 0
        for ii in gx.indices {
            let c = channels[ii], inSize = ctx.inputSizes[ii]
            if !gx[ii].isEmpty {
                gx[ii].withUnsafeMutableBufferPointer { xp in
                    for r in 0..<rows {
                        for p in 0..<positions { for ch in 0..<c { xp[r * inSize + p * c + ch] += gy[r * size + p * total + off + ch] } }
                    }
                }
            }
            off += c
        }
    }
}

extension ConcatOp: NodeLipschitzSource {
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .concatenate = node.kind else { return nil }
        return NodeLipschitz(.merge(.rootSumOfSquares), chainKind: "concatenate", listedWhenOne: true)
    }
}
