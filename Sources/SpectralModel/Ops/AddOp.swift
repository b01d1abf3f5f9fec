/// Element-wise sum of the inputs (residual connections). Linear; Lipschitz: the sum of the
/// branches' constants.
public struct AddOp: LinearStructuralOp, OpBuilder {
    public let name: String
    public let outputShape: [Int]

    public var lipschitz: LipschitzRule { .merge(.sum) }
    public var report: OpReport { OpReport(kind: "add") }

    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .add = node.kind else { return nil }
        let s = b.inputShape()
        for k in 1..<b.inputSlots.count where b.inputShape(k) != s {
            throw ForwardModelError("layer '\(node.name)': add of shapes \(s) and \(b.inputShape(k))")
        }
        return try b.emit(AddOp(name: node.name, outputShape: s), inputs: b.inputSlots)
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        (apply(ctx.inputs, rows: ctx.n, rowsPerSample: 1, ctx: ctx), .none)
    }

    public func apply(_ v: [[Double]], rows: Int, rowsPerSample k: Int, ctx: OpContext) -> [Double] {
        var y = [Double](repeating: 0, count: rows * ctx.outputSize)
        for x in v { addInPlace(&y, x) }
        return y
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        for i in gx.indices where !gx[i].isEmpty { addInPlace(&gx[i], gy) }
    }
}

@inline(__always)
func addInPlace(_ y: inout [Double], _ x: [Double]) {
    precondition(y.count == x.count)
    y.withUnsafeMutableBufferPointer { yp in x.withUnsafeBufferPointer { xp in for i in 0..<xp.count { yp[i] += xp[i] } } }
}

extension AddOp: NodeLipschitzSource {
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .add = node.kind else { return nil }
        return NodeLipschitz(.merge(.sum), chainKind: "residual", listedWhenOne: true)
    }
}
