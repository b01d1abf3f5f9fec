/// An element-wise activation φ (SPEC.md §3, §5): `y = φ(x)`, `J = diag(φ'(x))`, second order
/// `R{J_xᵀ ȳ} = φ'(x) R{ȳ} + φ''(x) ẋ ȳ`. Kinks take the `x ≤ 0` branch (`relu'(0) = 0`).
/// Lipschitz: the global constant `sup |φ'|` of `Activation.lipschitz`. Softmax is only accepted
/// at the network's output, where it is dropped (the audited function is the logits).
public struct ActivationOp: ParameterFreeOp, OpBuilder {
    public let name: String
    public let activation: Activation
    let phi: ScalarActivation
    public let outputShape: [Int]

    public var lipschitz: LipschitzRule { .constant(activation.lipschitz, derivation: "sup |φ'| of \(activation.name)") }
    public var report: OpReport { OpReport(kind: "activation", detail: activation.name) }

    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .activation(let a) = node.kind else { return nil }
        if a == .softmaxOutput {
            guard b.isNetworkOutput else { throw ForwardModelError.unsupported(node, "softmax inside the network") }
            b.note("layer '\(node.name)': softmax at the output dropped (the audited function is the logits)")
            return b.inputSlots[0]
        }
        return try make(name: node.name, a, node: node, b)
    }

    /// The op for `a` applied to the node's first input (also used for activations built into a layer).
    static func make(name: String, _ a: Activation, node: Node, _ b: OpBuildContext) throws -> Int {
        guard let phi = ScalarActivation(a) else { throw ForwardModelError.unsupported(node, "activation \(a.name)") }
        return try b.emit(ActivationOp(name: name, activation: a, phi: phi, outputShape: b.inputShape()), inputs: [b.inputSlots[0]])
    }

    /// Smooth activations (GELU's erf, SiLU's exp…) save `φ'(x)` on the tape: every JVP and VJP
    /// over the tape reads it instead of re-evaluating it (the same values, so the same results;
    /// the transformer data mode runs hundreds of products per tape). Piecewise-linear ones
    /// (ReLU…) save nothing: their derivative is a comparison, and CNN tapes stay small.
    var savesDerivative: Bool { !phi.isLinear && !phi.isPiecewiseLinear }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        var y = ctx.inputs[0]
        if !phi.isLinear { y.withUnsafeMutableBufferPointer { yp in for e in 0..<yp.count { yp[e] = phi.value(yp[e]) } } }
        guard savesDerivative else { return (y, .none) }
        var d = ctx.inputs[0]
        d.withUnsafeMutableBufferPointer { dp in for e in 0..<dp.count { dp[e] = phi.d1(dp[e]) } }
        return (y, OpSaved(values: d))
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        guard !gx[0].isEmpty else { return }
        let size = ctx.inputSizes[0], x = ctx.inputs[0]
        gx[0].withUnsafeMutableBufferPointer { xp in
            if phi.isLinear {
                for e in 0..<gy.count { xp[e] += gy[e] }
                return
            }
            // Derivatives once per sample, reused by its k rows.
            var dphi = [Double](repeating: 0, count: size)
            let saved = ctx.saved.values
            for s in 0..<(rows / k) {
                if saved.isEmpty {
                    for e in 0..<size { dphi[e] = phi.d1(x[s * size + e]) }
                } else {
                    for e in 0..<size { dphi[e] = saved[s * size + e] }
                }
                for q in 0..<k {
                    let rb = (s * k + q) * size
                    for e in 0..<size { xp[rb + e] += dphi[e] * gy[rb + e] }
                }
            }
        }
    }

    public func jvp(_ dx: [[Double]?], dtheta: [Double]?, ctx: OpContext) -> [Double]? {
        guard var y = dx[0] else { return nil }
        if !phi.isLinear {
            let x = ctx.inputs[0], saved = ctx.saved.values
            if saved.isEmpty {
                y.withUnsafeMutableBufferPointer { yp in x.withUnsafeBufferPointer { xp in for e in 0..<yp.count { yp[e] *= phi.d1(xp[e]) } } }
            } else {
                y.withUnsafeMutableBufferPointer { yp in saved.withUnsafeBufferPointer { dp in for e in 0..<yp.count { yp[e] *= dp[e] } } }
            }
        }
        return y
    }

    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {
        let x = ctx.inputs[0], gy = input.gy, rgy = input.rgy
        let xt = input.dx[0]
        let curved = !phi.isPiecewiseLinear && xt != nil
        if !gx[0].isEmpty {
            gx[0].withUnsafeMutableBufferPointer { cp in for e in 0..<gy.count { cp[e] += phi.d1(x[e]) * gy[e] } }
        }
        if !rgx[0].isEmpty {
            rgx[0].withUnsafeMutableBufferPointer { rp in
                for e in 0..<gy.count {
                    let xv = x[e]
                    rp[e] += phi.d1(xv) * rgy[e] + (curved ? phi.d2(xv) * xt![e] * gy[e] : 0)
                }
            }
        }
    }
}

extension ActivationOp: NodeLipschitzSource {
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .activation(let a) = node.kind else { return nil }
        return lipschitz(of: a)
    }

    /// The global constant `sup |φ'|` (also for an activation built into a layer).
    public static func lipschitz(of a: Activation) -> NodeLipschitz {
        NodeLipschitz(.constant(a.lipschitz, derivation: "sup |φ'| of \(a.name)"), chainKind: "activation")
    }
}
