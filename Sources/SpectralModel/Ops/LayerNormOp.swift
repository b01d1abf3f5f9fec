/// Layer normalisation over the channel (last) axis of every position (Keras
/// `LayerNormalization(axis=-1)`, PyTorch `nn.LayerNorm(C)`):
/// `y = γ ⊙ x̂ + β`, `x̂ = (x − μ)/s`, `μ = mean(x)`, `s = sqrt(var(x) + ε)` (biased variance).
/// θ blocks: `gamma`, `beta` (those the file has).
///
/// Derivatives (per position, C channels, `m(v) = (1/C) Σ v`):
/// - `J_x = diag(γ) A`, `A = (1/s)(I − 11ᵀ/C − x̂x̂ᵀ/C)` symmetric: JVP `γ ⊙ A ẋ`, VJP `A (γ ⊙ ȳ)`,
///   `A v = (v − m(v) − x̂ m(x̂ ⊙ v))/s`;
/// - along ẋ: `ṡ = m(x̂ ⊙ ẋ)`, `x̂̇ = A ẋ`, and `Ȧ v = −(ṡ/s) A v − (x̂̇ m(x̂ ⊙ v) + x̂ m(x̂̇ ⊙ v))/s`,
///   which gives the second-order rule `R{A(γ⊙ȳ)} = Ȧ(γ⊙ȳ) + A(γ̇⊙ȳ + γ⊙R{ȳ})`;
/// - parameters: `∂/∂γ = ȳ ⊙ x̂`, `∂/∂β = ȳ`, with `R{ȳ ⊙ x̂} = R{ȳ} ⊙ x̂ + ȳ ⊙ x̂̇`.
///
/// Lipschitz rule: local. `I − 11ᵀ/C − x̂x̂ᵀ/C` is an orthogonal projector minus a PSD part of norm
/// ≤ 1 on 1's complement (x̂ ⊥ 1, ‖x̂‖² ≤ C), so `‖J_x‖₂ ≤ max|γ| / s`; on inputs whose per-position
/// standard deviation is at least δ, `‖J_x‖₂ ≤ max|γ| / sqrt(δ² + ε)` (δ = 0 gives the global
/// `max|γ|/√ε`, valid everywhere but large). This is the domain statement attention blocks need
/// (Castin, Ablin & Peyré 2024: normalisation is what bounds the domain).
///
/// RMSNorm (`rms`, Llama's `LlamaRMSNorm`, class `RMSNorm`): `y = γ ⊙ x/s`, `s = sqrt(mean(x²) + ε)`,
/// no centring and no β. Every formula above holds with the centring projection `I − 11ᵀ/C`
/// replaced by `I` (`A v = (v − x̂ m(x̂ ⊙ v))/s`, same `ṡ/s = m(x̂ ⊙ ẋ)/s`), and so does the bound,
/// with δ the per-position root mean square.
public struct LayerNormOp: DifferentiableOp, OpBuilder {
    public let name: String
    public let outputShape: [Int]
    public let epsilon: Double
    public let hasGamma: Bool
    public let hasBeta: Bool
    let maxAbsGamma: Double
    /// RMSNorm: no centring (see above).
    public var rms: Bool = false
    var channels: Int { outputShape.last! }

    public var parameterLayout: [ParameterBlock] {
        (hasGamma ? [ParameterBlock("gamma", channels)] : []) + (hasBeta ? [ParameterBlock("beta", channels)] : [])
    }
    public var lipschitz: LipschitzRule {
        let g = maxAbsGamma, eps = epsilon
        return .local(LocalLipschitz(domain: [.inputScaleAtLeast("δ")],
                                     derivation: "‖J‖₂ ≤ max|γ| / sqrt(δ² + ε) for per-position std ≥ δ") { v in
            v["δ"].map { g / ($0 * $0 + eps).squareRoot() }
        })
    }
    public var report: OpReport { OpReport(kind: rms ? "rms_norm" : "layer_norm", detail: "\(channels) channels, ε = \(epsilon)") }

    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .parameterized(let cls, let tensors) = node.kind, cls == "LayerNormalization" || cls == "LayerNorm" || cls == "RMSNorm" else { return nil }
        let rms = cls == "RMSNorm"
        let s = b.inputShape()
        if let axis = node.attributes["axis"], axis != "-1", axis != "\(s.count)" {
            throw ForwardModelError.unsupported(node, "LayerNormalization over axis \(axis)")
        }
        guard let eps = node.attributes["epsilon"].flatMap(Double.init), eps > 0 else {
            throw ForwardModelError.unsupported(node, "LayerNormalization without a stated epsilon")
        }
        guard let c = s.last else { throw ForwardModelError("layer '\(node.name)': LayerNorm of a scalar") }
        func find(_ suffixes: [String]) -> TensorRef? {
            tensors.first { t in suffixes.contains { t.name.hasSuffix($0) } }
        }
        var params: [[Double]] = []
        var maxGamma = 1.0
        let g = find(["gamma", ".weight"]), bt = rms ? nil : find(["beta", ".bias"])
        for ref in [g, bt].compactMap({ $0 }) {
            let v = try b.load(ref)
            guard v.count == c else { throw ForwardModelError("layer '\(node.name)': '\(ref.name)' has \(v.count) entries for \(c) channels") }
            if ref == g { maxGamma = v.map { Swift.abs($0) }.max() ?? 0 }
            params.append(v)
        }
        let op = LayerNormOp(name: node.name, outputShape: s, epsilon: eps, hasGamma: g != nil, hasBeta: bt != nil && !rms,
                             maxAbsGamma: maxGamma, rms: rms)
        return try b.emit(op, inputs: [b.inputSlots[0]], parameters: params)
    }

    var betaOffset: Int { hasGamma ? channels : 0 }
    @inline(__always) func gamma(_ theta: [Double], _ k: Int) -> Double { hasGamma ? theta[k] : 1 }

    /// Per position p of sample rows: x̂ and 1/s.
    func normalize(_ x: [Double]) -> (xhat: [Double], invS: [Double]) {
        let c = channels, positions = x.count / c
        var xhat = [Double](repeating: 0, count: x.count), inv = [Double](repeating: 0, count: positions)
        for p in 0..<positions {
            let b = p * c
            var mu = 0.0
            if !rms {
                for k in 0..<c { mu += x[b + k] }
                mu /= Double(c)
            }
            var v = 0.0
            for k in 0..<c { let u = x[b + k] - mu; v += u * u }
            let invS = 1 / (v / Double(c) + epsilon).squareRoot()
            inv[p] = invS
            for k in 0..<c { xhat[b + k] = (x[b + k] - mu) * invS }
        }
        return (xhat, inv)
    }

    /// `A v` at position p (into `out`, added).
    @inline(__always) func applyA(_ v: UnsafePointer<Double>, _ xh: UnsafePointer<Double>, _ invS: Double, _ out: UnsafeMutablePointer<Double>) {
        let c = channels
        var mv = 0.0, mxv = 0.0
        for k in 0..<c { mv += v[k]; mxv += xh[k] * v[k] }
        mv = rms ? 0 : mv / Double(c)
        mxv /= Double(c)
        for k in 0..<c { out[k] += (v[k] - mv - xh[k] * mxv) * invS }
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        let (xh, _) = normalize(ctx.inputs[0])
        let c = channels
        var y = xh
        for e in 0..<y.count {
            let k = e % c
            y[e] = gamma(ctx.theta, k) * xh[e] + (hasBeta ? ctx.theta[betaOffset + k] : 0)
        }
        return (y, .none)
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        guard !gx[0].isEmpty else { return }
        let c = channels, size = ctx.outputSize, pps = size / c
        let (xh, inv) = normalize(ctx.inputs[0])
        var g = [Double](repeating: 0, count: c)
        xh.withUnsafeBufferPointer { xp in
            gx[0].withUnsafeMutableBufferPointer { op in
                for r in 0..<rows {
                    let s = r / k
                    for p in 0..<pps {
                        let yb = r * size + p * c, xb = s * size + p * c
                        for q in 0..<c { g[q] = gamma(ctx.theta, q) * gy[yb + q] }
                        g.withUnsafeBufferPointer { applyA($0.baseAddress!, xp.baseAddress! + xb, inv[s * pps + p], op.baseAddress! + yb) }
                    }
                }
            }
        }
    }

    public func jvp(_ dx: [[Double]?], dtheta dt: [Double]?, ctx: OpContext) -> [Double]? {
        if dx[0] == nil && (dt == nil || parameterCount == 0) { return nil }
        let c = channels, (xh, inv) = normalize(ctx.inputs[0])
        var y = [Double](repeating: 0, count: xh.count)
        if let t = dx[0] {
            var a = [Double](repeating: 0, count: c)
            t.withUnsafeBufferPointer { tp in
                xh.withUnsafeBufferPointer { xp in
                    for p in 0..<inv.count {
                        for q in 0..<c { a[q] = 0 }
                        a.withUnsafeMutableBufferPointer { applyA(tp.baseAddress! + p * c, xp.baseAddress! + p * c, inv[p], $0.baseAddress!) }
                        for q in 0..<c { y[p * c + q] = gamma(ctx.theta, q) * a[q] }
                    }
                }
            }
        }
        if let dt {
            for e in 0..<y.count {
                let q = e % c
                if hasGamma { y[e] += dt[q] * xh[e] }
                if hasBeta { y[e] += dt[betaOffset + q] }
            }
        }
        return y
    }

    public func parameterRows(_ gy: UnsafePointer<Double>, sample s: Int, rows k: Int, ctx: OpContext,
                              into out: UnsafeMutablePointer<Double>) {
        let c = channels, size = ctx.outputSize, pc = parameterCount
        let x = Array(ctx.inputs[0][(s * size)..<((s + 1) * size)])
        let (xh, _) = normalize(x)
        for q in 0..<k {
            let g = gy + q * size, row = out + q * pc
            for e in 0..<size {
                if hasGamma { row[e % c] += g[e] * xh[e] }
                if hasBeta { row[betaOffset + e % c] += g[e] }
            }
        }
    }

    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {
        let c = channels, (xh, inv) = normalize(ctx.inputs[0])
        let gy = input.gy, rgy = input.rgy, dx = input.dx[0], dt = input.dtheta
        var g = [Double](repeating: 0, count: c), rg = g, xhd = g, a = g
        for p in 0..<inv.count {
            let b = p * c, invS = inv[p]
            // x̂̇ = A ẋ and ṡ = m(x̂ ⊙ ẋ).
            var sdot = 0.0
            for q in 0..<c { xhd[q] = 0 }
            if let dx {
                for q in 0..<c { sdot += xh[b + q] * dx[b + q] }
                sdot = sdot / Double(c) * invS  // ṡ/s with ṡ = m(x̂ ⊙ ẋ)
                dx.withUnsafeBufferPointer { dp in
                    xh.withUnsafeBufferPointer { xp in
                        xhd.withUnsafeMutableBufferPointer { applyA(dp.baseAddress! + b, xp.baseAddress! + b, invS, $0.baseAddress!) }
                    }
                }
            }
            for q in 0..<c {
                g[q] = gamma(ctx.theta, q) * gy[b + q]
                rg[q] = gamma(ctx.theta, q) * rgy[b + q] + (hasGamma ? (dt?[q] ?? 0) * gy[b + q] : 0)
            }
            xh.withUnsafeBufferPointer { xp in
                let xb = xp.baseAddress! + b
                if !gx[0].isEmpty {
                    gx[0].withUnsafeMutableBufferPointer { op in g.withUnsafeBufferPointer { applyA($0.baseAddress!, xb, invS, op.baseAddress! + b) } }
                }
                if !rgx[0].isEmpty {
                    // A R{g}.
                    rgx[0].withUnsafeMutableBufferPointer { op in rg.withUnsafeBufferPointer { applyA($0.baseAddress!, xb, invS, op.baseAddress! + b) } }
                    if dx != nil {
                        // Ȧ g = −(ṡ/s) A g − (x̂̇ m(x̂ ⊙ g) + x̂ m(x̂̇ ⊙ g))/s.
                        for q in 0..<c { a[q] = 0 }
                        a.withUnsafeMutableBufferPointer { ap in g.withUnsafeBufferPointer { applyA($0.baseAddress!, xb, invS, ap.baseAddress!) } }
                        var mxg = 0.0, mdg = 0.0
                        for q in 0..<c { mxg += xb[q] * g[q]; mdg += xhd[q] * g[q] }
                        mxg /= Double(c)
                        mdg /= Double(c)
                        rgx[0].withUnsafeMutableBufferPointer { op in
                            for q in 0..<c { op[b + q] += -sdot * a[q] - (xhd[q] * mxg + xb[q] * mdg) * invS }
                        }
                    }
                }
            }
            for q in 0..<c {
                if hasGamma { hv[q] += rgy[b + q] * xh[b + q] + gy[b + q] * xhd[q] }
                if hasBeta { hv[betaOffset + q] += rgy[b + q] }
            }
        }
    }
}
