/// Element-wise product of two inputs of the same shape, `y = a ⊙ b` (the gate of a gated MLP,
/// Llama's `act(gate(x)) * up(x)`). Parameter-free and bilinear:
/// JVP `ȧ ⊙ b + a ⊙ ḃ`; VJP `ā = ȳ ⊙ b`, `b̄ = ȳ ⊙ a`; second order (R-operator of the VJP)
/// `R{ā} = R{ȳ} ⊙ b + ȳ ⊙ ḃ`, `R{b̄} = R{ȳ} ⊙ a + ȳ ⊙ ȧ` — all exact.
/// Lipschitz: none globally (`‖a ⊙ b‖` grows with both factors); the gated MLP it belongs to has
/// the local bound `LocalBounds.gatedMLP` on the domain of its input.
public struct MulOp: ParameterFreeOp, OpBuilder {
    public let name: String
    public let outputShape: [Int]

    public var lipschitz: LipschitzRule {
        .unbounded(reason: "a product of two signals has no global Lipschitz constant; bounded only on a domain of bounded inputs")
    }
    public var report: OpReport { OpReport(kind: "multiply") }

    /// `.parameterized("Multiply", [])` with two inputs of the same shape.
    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .parameterized("Multiply", _) = node.kind else { return nil }
        guard b.inputSlots.count == 2, b.inputShape(0) == b.inputShape(1) else {
            throw ForwardModelError("layer '\(node.name)': multiply needs two inputs of one shape")
        }
        return try b.emit(MulOp(name: node.name, outputShape: b.inputShape(0)), inputs: b.inputSlots)
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        let a = ctx.inputs[0], c = ctx.inputs[1]
        var y = [Double](repeating: 0, count: a.count)
        for e in 0..<y.count { y[e] = a[e] * c[e] }
        return (y, .none)
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        let size = ctx.outputSize
        for (i, other) in [(0, 1), (1, 0)] where !gx[i].isEmpty {
            let x = ctx.inputs[other]
            gx[i].withUnsafeMutableBufferPointer { gp in
                for r in 0..<rows {
                    let xb = (r / k) * size, rb = r * size
                    for e in 0..<size { gp[rb + e] += gy[rb + e] * x[xb + e] }
                }
            }
        }
    }

    public func jvp(_ dx: [[Double]?], dtheta: [Double]?, ctx: OpContext) -> [Double]? {
        guard dx[0] != nil || dx[1] != nil else { return nil }
        var y = [Double](repeating: 0, count: ctx.n * ctx.outputSize)
        if let d = dx[0] { let b = ctx.inputs[1]; for e in 0..<y.count { y[e] += d[e] * b[e] } }
        if let d = dx[1] { let a = ctx.inputs[0]; for e in 0..<y.count { y[e] += a[e] * d[e] } }
        return y
    }

    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {
        vjp(input.gy, rows: ctx.n, rowsPerSample: 1, ctx: ctx, into: &gx)
        vjp(input.rgy, rows: ctx.n, rowsPerSample: 1, ctx: ctx, into: &rgx)
        for (i, other) in [(0, 1), (1, 0)] where !rgx[i].isEmpty {
            guard let d = input.dx[other] else { continue }
            rgx[i].withUnsafeMutableBufferPointer { rp in for e in 0..<rp.count { rp[e] += input.gy[e] * d[e] } }
        }
    }
}

extension MulOp: NodeLipschitzSource {
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .parameterized("Multiply", _) = node.kind else { return nil }
        return NodeLipschitz(.unbounded(reason: "a product of two signals has no global Lipschitz constant"), chainKind: "product")
    }
}
