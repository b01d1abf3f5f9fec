/// `out[j] = in[map[j]]`: flatten (with the channels-first reordering PyTorch's `flatten` implies
/// for models whose tensors are channels-first), and the identity copy that makes the output the
/// last op. Linear, parameter-free, Lipschitz constant 1 (a permutation / selection of entries).
public struct GatherOp: LinearStructuralOp, OpBuilder {
    public let name: String
    public let map: [Int]
    public let outputShape: [Int]
    public let kind: String

    public var lipschitz: LipschitzRule { .constant(1, derivation: "a selection of entries") }
    public var report: OpReport { OpReport(kind: kind) }

    /// Flatten nodes (`passThrough("flatten")`).
    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .passThrough("flatten") = node.kind else { return nil }
        let s = b.inputShape()
        if s.count <= 1 { return b.inputSlots[0] }
        return try b.emit(GatherOp(name: node.name, map: flattenMap(s, channelsFirst: b.channelsFirst),
                                   outputShape: [s.reduce(1, *)], kind: "flatten"), inputs: [b.inputSlots[0]])
    }

    /// `out[j] = in[map[j]]` for flattening a channels-last tensor of `shape` in the model's order.
    public static func flattenMap(_ shape: [Int], channelsFirst: Bool) -> [Int] {
        let n = shape.reduce(1, *)
        guard channelsFirst, shape.count >= 2 else { return Array(0..<n) }
        let c = shape.last!, positions = n / c
        var map = [Int](repeating: 0, count: n)
        for ch in 0..<c { for p in 0..<positions { map[ch * positions + p] = p * c + ch } }
        return map
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        (apply(ctx.inputs, rows: ctx.n, rowsPerSample: 1, ctx: ctx), .none)
    }

    public func apply(_ v: [[Double]], rows: Int, rowsPerSample k: Int, ctx: OpContext) -> [Double] {
        let size = ctx.outputSize, inSize = ctx.inputSizes[0]
        var y = [Double](repeating: 0, count: rows * size)
        v[0].withUnsafeBufferPointer { xp in
            y.withUnsafeMutableBufferPointer { yp in
                for r in 0..<rows { let xb = r * inSize, yb = r * size; for j in 0..<size { yp[yb + j] = xp[xb + map[j]] } }
            }
        }
        return y
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        guard !gx[0].isEmpty else { return }
        let size = ctx.outputSize, inSize = ctx.inputSizes[0]
        gx[0].withUnsafeMutableBufferPointer { xp in
            for r in 0..<rows { let xb = r * inSize, yb = r * size; for j in 0..<size { xp[xb + map[j]] += gy[yb + j] } }
        }
    }
}

extension GatherOp: NodeLipschitzSource {
    /// Flatten: a permutation of entries, 1.
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .passThrough("flatten") = node.kind else { return nil }
        return NodeLipschitz(.constant(1, derivation: "a selection of entries"), chainKind: "shape")
    }
}
