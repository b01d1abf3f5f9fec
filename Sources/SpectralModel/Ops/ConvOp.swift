import LinearAlgebra

/// A 1-D or 2-D convolution (grouped, depthwise; separable convolutions arrive as a depthwise and
/// a pointwise node) on channels-last data: `y = conv(x, W) + b`, batched as im2col + GEMM
/// (`ConvGeometry`). θ blocks: `kernel` in canonical `[out, in/groups, k…]` order, `bias`.
/// Linear in x (VJP: the transposed convolution; JVP: the convolution of ẋ plus that of x with
/// Ẇ); its Lipschitz constant is its operator norm, which the weights-only audit bounds.
public struct ConvOp: DifferentiableOp, OpBuilder {
    public let name: String
    let geometry: ConvGeometry
    let kernelSize: [Int]
    let strides: [Int]
    let dilation: [Int]
    let padding: String
    let depthwise: Bool
    public let hasBias: Bool

    public var outputShape: [Int] { geometry.outSpatial + [geometry.cout] }
    var weightCount: Int { geometry.cout * geometry.cig * geometry.taps }
    public var parameterLayout: [ParameterBlock] {
        [ParameterBlock("kernel", weightCount)] + (hasBias ? [ParameterBlock("bias", geometry.cout)] : [])
    }
    public var lipschitz: LipschitzRule { .linearOperator }
    public var report: OpReport {
        OpReport(kind: (depthwise ? "depthwise_conv" : "conv") + "\(kernelSize.count)d", isLinearOperator: true,
                 detail: "kernel \(kernelSize), strides \(strides), dilation \(dilation), \(padding), groups \(geometry.groups)")
    }

    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .conv(let c) = node.kind else { return nil }
        let rule = c.kernel.orientation
        let k: ConvKernel
        do {
            k = try ConvKernel(data: try b.load(c.kernel), shape: c.kernel.shape, orientation: rule,
                               groups: c.depthwise && rule == .depthwiseHWIM ? 1 : c.groups)
        } catch let e as OperatorError {
            throw ForwardModelError("layer '\(node.name)': \(e)")
        }
        let s = b.inputShape()
        guard c.spatialRank <= 2 else { throw ForwardModelError.unsupported(node, "conv\(c.spatialRank)d") }
        guard s.count == c.spatialRank + 1, c.spatialRank == k.kernelSize.count else {
            throw ForwardModelError("layer '\(node.name)': conv\(c.spatialRank)d receives a tensor of shape \(s) (the forward engine runs 1-D and 2-D convolutions on [spatial…, channels])")
        }
        guard s.last == k.inChannels else {
            throw ForwardModelError("layer '\(node.name)': conv expects \(k.inChannels) input channels, receives \(s.last!)")
        }
        let rank = c.spatialRank
        func perAxis(_ v: [Int], _ what: String) throws -> [Int] {
            if v.isEmpty { return [Int](repeating: 1, count: rank) }
            if v.count == 1 { return [Int](repeating: v[0], count: rank) }
            guard v.count == rank, v.allSatisfy({ $0 >= 1 }) else {
                throw ForwardModelError("layer '\(node.name)': \(what) \(v) do not fit a \(rank)-D conv")
            }
            return v
        }
        let strides = try perAxis(c.strides, "strides")
        let dilation = try perAxis(c.dilation, "dilation")
        let pads = node.attributes["pads"].map { $0.split(separator: ",").compactMap { Int($0) } }
        let geo = try ConvGeometry(inSpatial: Array(s.dropLast()), kernel: k.kernelSize, strides: strides, dilation: dilation,
                                   padding: c.padding, pads: pads, cin: k.inChannels, cout: k.outChannels, groups: k.groups,
                                   layer: node.name)
        var params = [k.weights]
        if let bias = c.bias {
            let v = try b.load(bias)
            guard v.count == k.outChannels else { throw ForwardModelError("layer '\(node.name)': bias has \(v.count) entries for \(k.outChannels) channels") }
            params.append(v)
        }
        let op = ConvOp(name: node.name, geometry: geo, kernelSize: k.kernelSize, strides: strides, dilation: dilation,
                        padding: c.padding, depthwise: c.depthwise, hasBias: c.bias != nil)
        return try b.emit(op, inputs: [b.inputSlots[0]], parameters: params)
    }

    // MARK: passes

    /// `y[r, p, o] += v[offset + o]`.
    func addBias(_ y: inout [Double], rows: Int, _ v: [Double]) {
        DenseOp.addRows(&y, rows: rows * geometry.outPositions, v, offset: weightCount, width: geometry.cout)
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        var y = [Double](repeating: 0, count: ctx.n * ctx.outputSize)
        var saved = OpSaved.none
        if geometry.keepsColumns(rows: ctx.n) {
            saved.values = geometry.columns(ctx.inputs[0], rows: ctx.n)
            ctx.theta.withUnsafeBufferPointer { geometry.forward(columns: saved.values, rows: ctx.n, weights: $0.baseAddress!, into: &y) }
        } else {
            ctx.theta.withUnsafeBufferPointer { geometry.forward(ctx.inputs[0], rows: ctx.n, weights: $0.baseAddress!, into: &y) }
        }
        if hasBias { addBias(&y, rows: ctx.n, ctx.theta) }
        return (y, saved)
    }

    /// Cotangent rows per sample from which the per-sample masked products
    /// (`ConvGeometry+Masked.swift`) are used: building a sample's matrix rows costs 1/k of its
    /// product.
    static let maskedRowsMinimum = 16

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        guard !gx[0].isEmpty else { return }
        let g = geometry, n = rows / Swift.max(1, k)
        if k >= Self.maskedRowsMinimum && n * k == rows {
            let active: [[Int]] = gy.withUnsafeBufferPointer { yp in
                (0..<n).map { g.activeOutputs(yp.baseAddress! + $0 * k * g.outSize, rows: k) }
            }
            if active.allSatisfy({ g.maskedTransposeRatio(active: $0.count) < 1 }) {
                ctx.theta.withUnsafeBufferPointer { wp in
                    gy.withUnsafeBufferPointer { yp in
                        gx[0].withUnsafeMutableBufferPointer { xp in
                            for s in 0..<n {
                                g.maskedTranspose(yp.baseAddress! + s * k * g.outSize, rows: k, active: active[s],
                                                  weights: wp.baseAddress!, into: xp.baseAddress! + s * k * g.inSize)
                            }
                        }
                    }
                }
                return
            }
        }
        ctx.theta.withUnsafeBufferPointer { g.transpose(gy, rows: rows, weights: $0.baseAddress!, into: &gx[0]) }
    }

    public func jvp(_ dx: [[Double]?], dtheta: [Double]?, ctx: OpContext) -> [Double]? {
        if dx[0] == nil && dtheta == nil { return nil }
        var y = [Double](repeating: 0, count: ctx.n * ctx.outputSize)
        if let t = dx[0] {
            ctx.theta.withUnsafeBufferPointer { geometry.forward(t, rows: ctx.n, weights: $0.baseAddress!, into: &y) }
        }
        if let dt = dtheta {
            dt.withUnsafeBufferPointer { wp in
                if ctx.saved.values.isEmpty {
                    geometry.forward(ctx.inputs[0], rows: ctx.n, weights: wp.baseAddress!, into: &y)
                } else {
                    geometry.forward(columns: ctx.saved.values, rows: ctx.n, weights: wp.baseAddress!, into: &y)
                }
            }
            if hasBias { addBias(&y, rows: ctx.n, dt) }
        }
        return y
    }

    public func parameterRows(_ gy: UnsafePointer<Double>, sample s: Int, rows k: Int, ctx: OpContext,
                              into out: UnsafeMutablePointer<Double>) {
        let g = geometry, pc = parameterCount
        var cols = ConvGeometry.scratch(g.outPositions * g.colWidth)
        cols.withUnsafeMutableBufferPointer { cp in
            g.sampleColumns(s, kept: ctx.saved.values, x: ctx.inputs[0], into: cp.baseAddress!)
            g.weightRows(gy, rows: k, cols: UnsafePointer(cp.baseAddress!), into: out, rowStride: pc)
        }
        if hasBias {
            for q in 0..<k {
                let row = out + q * pc + weightCount, yq = gy + q * ctx.outputSize
                for p in 0..<g.outPositions { for o in 0..<g.cout { row[o] += yq[p * g.cout + o] } }
            }
        }
    }

    /// Per sample, the Gram of its k parameter rows without forming them when that is cheaper:
    /// row a is `R_a = Ȳ_aᵀ C` per group (C the sample's im2col, `P × K`), so
    /// `⟨R_a, R_b⟩ = Σ_g ⟨Ȳ_a,g, (C_g C_gᵀ) Ȳ_b,g⟩ + [bias] ⟨1ᵀȲ_a, 1ᵀȲ_b⟩`: one `P × P` Gram of the
    /// positions per group and GEMMs, `O(P²K + kP²c + k²Pc)` instead of `O(kcKP + k²cK)` for the
    /// rows (NTK blocks by GEMM; equal up to rounding).
    public func accumulateParameterGram(_ gy: [Double], rowsPerSample k: Int, ctx: OpContext, into gram: UnsafeMutablePointer<Double>) {
        let g = geometry, P = g.outPositions, kw = g.cig * g.taps, size = ctx.outputSize
        let viaRows = Double(k) * Double(g.cout * kw) * Double(P + k)
        let viaPositions = Double(P) * Double(P) * Double(g.groups * kw + k * g.cog) + Double(k * k) * Double(size)
        guard viaPositions < viaRows else { return accumulateGramFromRows(gy, rowsPerSample: k, ctx: ctx, into: gram) }
        // Ungrouped with many rows: per output channel over its active positions (see
        // `ConvGeometry.maskedWeightGram`), no `k × size` intermediate.
        let masked = g.groups == 1 && k >= Self.maskedRowsMinimum
        var cols = ConvGeometry.scratch(P * g.colWidth)
        var m = [Double](repeating: 0, count: P * P)
        var z = [Double](repeating: 0, count: masked ? 0 : k * size)
        var gk = [Double](repeating: 0, count: k * k)
        var sums = [Double](repeating: 0, count: hasBias ? k * g.cout : 0)
        gy.withUnsafeBufferPointer { yp in
            cols.withUnsafeMutableBufferPointer { cp in
                m.withUnsafeMutableBufferPointer { mp in
                    z.withUnsafeMutableBufferPointer { zp in
                        for s in 0..<ctx.n {
                            let ys = yp.baseAddress! + s * k * size
                            g.sampleColumns(s, kept: ctx.saved.values, x: ctx.inputs[0], into: cp.baseAddress!)
                            if masked {
                                BLAS.gemm(transB: true, m: P, n: P, k: kw, cp.baseAddress!, lda: g.colWidth,
                                          cp.baseAddress!, ldb: g.colWidth, beta: 0, mp.baseAddress!, ldc: P)
                                gk.withUnsafeMutableBufferPointer { gp in
                                    for e in 0..<gp.count { gp[e] = 0 }
                                    g.maskedWeightGram(ys, rows: k, active: g.activeOutputs(ys, rows: k),
                                                       positions: UnsafePointer(mp.baseAddress!), into: gp.baseAddress!)
                                }
                            }
                            for grp in 0..<g.groups where !masked {
                                BLAS.gemm(transB: true, m: P, n: P, k: kw, cp.baseAddress! + grp * kw, lda: g.colWidth,
                                          cp.baseAddress! + grp * kw, ldb: g.colWidth, beta: 0, mp.baseAddress!, ldc: P)
                                for q in 0..<k {
                                    BLAS.gemm(m: P, n: g.cog, k: P, mp.baseAddress!, lda: P, ys + q * size + grp * g.cog, ldb: g.cout,
                                              beta: 0, zp.baseAddress! + q * size + grp * g.cog, ldc: g.cout)
                                }
                            }
                            if !masked {
                                gk.withUnsafeMutableBufferPointer { gp in
                                    BLAS.gemm(transB: true, m: k, n: k, k: size, ys, lda: size, UnsafePointer(zp.baseAddress!), ldb: size,
                                              beta: 0, gp.baseAddress!, ldc: k)
                                }
                            }
                            if hasBias {
                                for e in 0..<sums.count { sums[e] = 0 }
                                for q in 0..<k {
                                    for p in 0..<P { for o in 0..<g.cout { sums[q * g.cout + o] += ys[q * size + p * g.cout + o] } }
                                }
                                sums.withUnsafeBufferPointer { BLAS.gramAdd($0.baseAddress!, rows: k, cols: g.cout, lda: g.cout, into: gram + s * k * k) }
                            }
                            for a in 0..<k {
                                for b in a..<k {
                                    let v = 0.5 * (gk[a * k + b] + gk[b * k + a])
                                    gram[s * k * k + a * k + b] += v
                                    if a != b { gram[s * k * k + b * k + a] += v }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    public func accumulateParameterGradient(_ gy: [Double], ctx: OpContext, into out: UnsafeMutablePointer<Double>) {
        weightGradient(gy, ctx: ctx, into: out)
        if hasBias { Self.sumBias(gy, rows: ctx.n * geometry.outPositions, width: geometry.cout, into: out + weightCount) }
    }

    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {
        let g = geometry, n = ctx.n
        ctx.theta.withUnsafeBufferPointer { wp in
            if !gx[0].isEmpty { g.transpose(input.gy, rows: n, weights: wp.baseAddress!, into: &gx[0]) }
            if !rgx[0].isEmpty {
                g.transpose(input.rgy, rows: n, weights: wp.baseAddress!, into: &rgx[0])
                input.dtheta?.withUnsafeBufferPointer { g.transpose(input.gy, rows: n, weights: $0.baseAddress!, into: &rgx[0]) }
            }
        }
        weightGradient(input.rgy, ctx: ctx, into: hv)
        if let dx = input.dx[0] { g.weightGradient(input.gy, dx, rows: n, into: hv) }
        if hasBias { Self.sumBias(input.rgy, rows: n * g.outPositions, width: g.cout, into: hv + weightCount) }
    }

    /// `W̄ += Σ_rows ∂⟨gy_r, conv(x_r, W)⟩/∂W`, from the kept columns when the forward pass kept them.
    func weightGradient(_ gy: [Double], ctx: OpContext, into out: UnsafeMutablePointer<Double>) {
        if ctx.saved.values.isEmpty {
            geometry.weightGradient(gy, ctx.inputs[0], rows: ctx.n, into: out)
        } else {
            geometry.weightGradient(gy, columns: ctx.saved.values, rows: ctx.n, into: out)
        }
    }

    /// `out[o] += Σ_r y[r, o]`.
    static func sumBias(_ y: [Double], rows: Int, width: Int, into out: UnsafeMutablePointer<Double>) {
        y.withUnsafeBufferPointer { yp in for r in 0..<rows { let b = r * width; for o in 0..<width { out[o] += yp[b + o] } } }
    }
}

extension ConvOp: NodeLipschitzSource {
    /// Linear: its operator norm (exact or a certified upper bound), measured by the weights-only analysis.
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .conv = node.kind else { return nil }
        return NodeLipschitz(.linearOperator, chainKind: "operator",
                             unmeasured: norms.operatorNorm == nil ? "layer '\(node.name)' was not analysed" : nil)
    }
}
