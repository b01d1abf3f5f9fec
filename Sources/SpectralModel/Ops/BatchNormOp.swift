/// Inference BatchNorm on the channel (last) axis: `y = γ_c (x − μ_c)/sqrt(σ²_c + ε) + β_c`.
/// θ blocks: `gamma` and `beta` when the file has them (the moving statistics are constants).
/// Linear in x with the diagonal `a_c = γ_c / sqrt(σ²_c + ε)`: Lipschitz `max_c |a_c|`, which the
/// weights-only audit folds into the preceding operator (SPEC §1).
public struct BatchNormOp: DifferentiableOp, OpBuilder {
    public let name: String
    public let outputShape: [Int]
    public let channels: Int
    public let mean: [Double]
    public let invStd: [Double]
    public let hasGamma: Bool
    public let hasBeta: Bool
    /// γ and β used when the file has none (1 and 0).
    let constGamma: [Double]
    let constBeta: [Double]

    public var parameterLayout: [ParameterBlock] {
        (hasGamma ? [ParameterBlock("gamma", channels)] : []) + (hasBeta ? [ParameterBlock("beta", channels)] : [])
    }
    public var lipschitz: LipschitzRule { .linearOperator }
    public var report: OpReport { OpReport(kind: "batch_norm", isLinearOperator: true, detail: "\(channels) channels") }

    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .batchNorm(let bn) = node.kind else { return nil }
        let s = b.inputShape()
        guard let ch = s.last else { throw ForwardModelError("layer '\(node.name)': BatchNorm of a scalar") }
        let mean = try b.load(bn.mean), variance = try b.load(bn.variance)
        guard mean.count == ch, variance.count == ch else {
            throw ForwardModelError("layer '\(node.name)': BatchNorm statistics have \(mean.count) entries for \(ch) channels")
        }
        let invStd = try (0..<ch).map { i -> Double in
            let d = variance[i] + bn.epsilon
            guard d > 0 else { throw ForwardModelError("layer '\(node.name)': variance + epsilon ≤ 0 in channel \(i)") }
            return 1 / d.squareRoot()
        }
        var params: [[Double]] = []
        var gamma = [Double](repeating: 1, count: ch), beta = [Double](repeating: 0, count: ch)
        if let g = bn.gamma {
            gamma = try b.load(g)
            guard gamma.count == ch else { throw ForwardModelError("layer '\(node.name)': gamma length") }
            params.append(gamma)
        }
        if let t = bn.beta {
            beta = try b.load(t)
            guard beta.count == ch else { throw ForwardModelError("layer '\(node.name)': beta length") }
            params.append(beta)
        }
        let op = BatchNormOp(name: node.name, outputShape: s, channels: ch, mean: mean, invStd: invStd, hasGamma: bn.gamma != nil,
                             hasBeta: bn.beta != nil, constGamma: gamma, constBeta: beta)
        return try b.emit(op, inputs: [b.inputSlots[0]], parameters: params)
    }

    func gamma(_ theta: [Double]) -> [Double] { hasGamma ? Array(theta[0..<channels]) : constGamma }
    var betaOffset: Int { hasGamma ? channels : 0 }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        var y = ctx.inputs[0]
        let ch = channels, g = gamma(ctx.theta)
        let beta = hasBeta ? Array(ctx.theta[betaOffset..<(betaOffset + ch)]) : constBeta
        for e in 0..<y.count {
            let c = e % ch
            y[e] = g[c] * invStd[c] * (y[e] - mean[c]) + beta[c]
        }
        return (y, .none)
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        guard !gx[0].isEmpty else { return }
        let ch = channels, g = gamma(ctx.theta)
        // Positions × channels (no division per element; k = C rows per probe in the Jacobian pass).
        gx[0].withUnsafeMutableBufferPointer { xp in
            gy.withUnsafeBufferPointer { yp in
                g.withUnsafeBufferPointer { gp in
                    invStd.withUnsafeBufferPointer { ip in
                        for b in stride(from: 0, to: yp.count, by: ch) {
                            for c in 0..<ch { xp[b + c] += gp[c] * ip[c] * yp[b + c] }
                        }
                    }
                }
            }
        }
    }

    public func jvp(_ dx: [[Double]?], dtheta dt: [Double]?, ctx: OpContext) -> [Double]? {
        if dx[0] == nil && (dt == nil || parameterCount == 0) { return nil }
        let ch = channels, g = gamma(ctx.theta), x = ctx.inputs[0]
        var y = [Double](repeating: 0, count: x.count)
        for e in 0..<y.count {
            let c = e % ch
            var v = g[c] * invStd[c] * (dx[0]?[e] ?? 0)
            if let dt {
                if hasGamma { v += dt[c] * invStd[c] * (x[e] - mean[c]) }
                if hasBeta { v += dt[betaOffset + c] }
            }
            y[e] = v
        }
        return y
    }

    public func parameterRows(_ gy: UnsafePointer<Double>, sample s: Int, rows k: Int, ctx: OpContext,
                              into out: UnsafeMutablePointer<Double>) {
        let ch = channels, size = ctx.outputSize, pc = parameterCount
        ctx.inputs[0].withUnsafeBufferPointer { xp in
            let x = xp.baseAddress! + s * size
            // Positions × channels without a division per element (k = C rows per sample).
            invStd.withUnsafeBufferPointer { ip in
                mean.withUnsafeBufferPointer { mp in
                    for q in 0..<k {
                        let g = gy + q * size, row = out + q * pc
                        for b in stride(from: 0, to: size, by: ch) {
                            if hasGamma { for c in 0..<ch { row[c] += g[b + c] * ip[c] * (x[b + c] - mp[c]) } }
                            if hasBeta { for c in 0..<ch { row[betaOffset + c] += g[b + c] } }
                        }
                    }
                }
            }
        }
    }

    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {
        let ch = channels, g = gamma(ctx.theta), x = ctx.inputs[0], gy = input.gy, rgy = input.rgy
        let xt = input.dx[0], dt = input.dtheta
        for e in 0..<gy.count {
            let c = e % ch, a = invStd[c]
            if !gx[0].isEmpty { gx[0][e] += g[c] * a * gy[e] }
            var r = g[c] * a * rgy[e]
            if hasGamma {
                if let dt { r += dt[c] * a * gy[e] }
                hv[c] += rgy[e] * a * (x[e] - mean[c]) + gy[e] * a * (xt?[e] ?? 0)
            }
            if hasBeta { hv[betaOffset + c] += rgy[e] }
            if !rgx[0].isEmpty { rgx[0][e] += r }
        }
    }
}

extension BatchNormOp: NodeLipschitzSource {
    /// Linear (inference mode): `max_c |a_c|`, measured by the weights-only analysis (1 when the
    /// analysis folded it into the operator before it, whose σ₁ then covers it).
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .batchNorm = node.kind else { return nil }
        return NodeLipschitz(.linearOperator, chainKind: "operator",
                             unmeasured: norms.operatorNorm == nil ? "BatchNorm '\(node.name)' was not analysed" : nil)
    }
}
