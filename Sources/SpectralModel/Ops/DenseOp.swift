import LinearAlgebra

/// `y = A x + b` with `A` (`out × in`, canonical `[out, in]` order, SPEC §1) and optional `b`,
/// applied to a flat input or, for a channels-last input whose last axis is `in` (Keras `Dense`
/// on a sequence or image), to every position (`positions` rows per sample).
/// θ blocks: `kernel` (A row-major), `bias`. Every batched product is one `dgemm` over all
/// `rows · positions` vectors: forward `Y = X Aᵀ`, VJP `Ḡx = Ḡy A`, parameter gradient `Ḡyᵀ X`; for
/// flat inputs the per-sample Gram of the parameter rows has the closed form
/// `(‖x_s‖² + [bias]) Ḡy_s Ḡy_sᵀ`. Float64 throughout (errors of a few ulps of the summed magnitudes).
public struct DenseOp: DifferentiableOp, OpBuilder {
    public let name: String
    public let inCount: Int
    public let outCount: Int
    public let hasBias: Bool
    /// Vectors per sample the map applies to (1: a flat input).
    public var positions: Int = 1
    /// Leading (spatial / sequence) shape when `positions > 1`.
    var leadingShape: [Int] = []

    public var outputShape: [Int] { leadingShape + [outCount] }
    public var parameterLayout: [ParameterBlock] {
        [ParameterBlock("kernel", outCount * inCount)] + (hasBias ? [ParameterBlock("bias", outCount)] : [])
    }
    public var lipschitz: LipschitzRule { .linearOperator }
    public var report: OpReport { OpReport(kind: "dense", isLinearOperator: true, detail: "\(inCount) → \(outCount)") }

    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .dense(let kernel, let bias) = node.kind else { return nil }
        let rule = kernel.orientation
        let a: Matrix
        do {
            a = try DenseOperator.matrix(data: try b.load(kernel), shape: kernel.shape, orientation: rule)
        } catch let e as OperatorError {
            throw ForwardModelError("layer '\(node.name)': \(e)")
        }
        var src = b.inputSlots[0]
        let s = b.inputShape()
        var op = DenseOp(name: node.name, inCount: a.cols, outCount: a.rows, hasBias: bias != nil)
        if s.count > 1 && !b.channelsFirst && s.last == a.cols {
            // Keras Dense on a sequence / image: the same map at every position.
            op.leadingShape = Array(s.dropLast())
            op.positions = op.leadingShape.reduce(1, *)
        } else if s.reduce(1, *) != a.cols {
            throw ForwardModelError("layer '\(node.name)': dense layer with \(a.cols) inputs receives a tensor of shape \(s)")
        }
        if s.count > 1 && op.positions == 1 {
            // Implicit flatten (a PyTorch Linear after a conv without a stated flatten).
            src = try b.emit(GatherOp(name: node.name + "/flatten", map: GatherOp.flattenMap(s, channelsFirst: b.channelsFirst),
                                      outputShape: [a.cols], kind: "flatten"), inputs: [src])
            b.note("layer '\(node.name)': its \(s) input is flattened \(b.channelsFirst ? "channels-first" : "channels-last") first")
        }
        var params = [a.storage]
        if let bias {
            let v = try b.load(bias)
            guard v.count == a.rows else { throw ForwardModelError("layer '\(node.name)': bias has \(v.count) entries for \(a.rows) outputs") }
            params.append(v)
        }
        return try b.emit(op, inputs: [src], parameters: params)
    }

    // MARK: passes

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        let m = ctx.n * positions
        var y = BLAS.product(ctx.inputs[0], ctx.theta, transB: true, m: m, n: outCount, k: inCount)
        if hasBias { Self.addRows(&y, rows: m, ctx.theta, offset: outCount * inCount, width: outCount) }
        return (y, .none)
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        guard !gx[0].isEmpty else { return }
        BLAS.productAdd(gy, ctx.theta, m: rows * positions, n: inCount, k: outCount, into: &gx[0])
    }

    public func jvp(_ dx: [[Double]?], dtheta: [Double]?, ctx: OpContext) -> [Double]? {
        let m = ctx.n * positions
        var y: [Double]? = dx[0].map { BLAS.product($0, ctx.theta, transB: true, m: m, n: outCount, k: inCount) }
        if let dt = dtheta {
            var t = y ?? [Double](repeating: 0, count: m * outCount)
            BLAS.productAdd(ctx.inputs[0], dt, transB: true, m: m, n: outCount, k: inCount, into: &t)
            if hasBias { Self.addRows(&t, rows: m, dt, offset: outCount * inCount, width: outCount) }
            y = t
        }
        return y
    }

    public func parameterRows(_ gy: UnsafePointer<Double>, sample s: Int, rows k: Int, ctx: OpContext,
                              into out: UnsafeMutablePointer<Double>) {
        let pc = parameterCount, w = outCount * inCount
        ctx.inputs[0].withUnsafeBufferPointer { xp in
            for pos in 0..<positions {
                let x = xp.baseAddress! + (s * positions + pos) * inCount
                for q in 0..<k {
                    let g = gy + (q * positions + pos) * outCount, row = out + q * pc
                    for o in 0..<outCount {
                        let v = g[o]
                        if v == 0 { continue }
                        let wb = row + o * inCount
                        for e in 0..<inCount { wb[e] += v * x[e] }
                        if hasBias { row[w + o] += v }
                    }
                }
            }
        }
    }

    public func accumulateParameterGradient(_ gy: [Double], ctx: OpContext, into out: UnsafeMutablePointer<Double>) {
        let m = ctx.n * positions
        // `out += Ḡyᵀ X` by dgemm with beta 1 straight into θ's block (no `out × in` temporary and
        // second pass; the same sums, so the same values).
        gy.withUnsafeBufferPointer { gp in
            ctx.inputs[0].withUnsafeBufferPointer { xp in
                BLAS.gemm(transA: true, m: outCount, n: inCount, k: m, gp.baseAddress!, lda: outCount, xp.baseAddress!, ldb: inCount,
                          beta: 1, out, ldc: inCount)
            }
        }
        if hasBias {
            let b = out + outCount * inCount
            for r in 0..<m { for o in 0..<outCount { b[o] += gy[r * outCount + o] } }
        }
    }

    public func accumulateParameterGram(_ gy: [Double], rowsPerSample k: Int, ctx: OpContext, into gram: UnsafeMutablePointer<Double>) {
        guard positions == 1 else { return accumulateGramFromRows(gy, rowsPerSample: k, ctx: ctx, into: gram) }
        let extra = hasBias ? 1.0 : 0.0
        let x = ctx.inputs[0]
        gy.withUnsafeBufferPointer { yp in
            for s in 0..<ctx.n {
                var hh = extra
                for e in 0..<inCount { let v = x[s * inCount + e]; hh += v * v }
                BLAS.gramAdd(yp.baseAddress! + s * k * outCount, rows: k, cols: outCount, lda: outCount, alpha: hh,
                             into: gram + s * k * k)
            }
        }
    }

    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {
        let n = ctx.n * positions
        if !gx[0].isEmpty {
            BLAS.productAdd(input.gy, ctx.theta, m: n, n: inCount, k: outCount, into: &gx[0])
        }
        if !rgx[0].isEmpty {
            BLAS.productAdd(input.rgy, ctx.theta, m: n, n: inCount, k: outCount, into: &rgx[0])
            if let dt = input.dtheta { BLAS.productAdd(input.gy, dt, m: n, n: inCount, k: outCount, into: &rgx[0]) }
        }
        var hw = BLAS.product(input.rgy, transA: true, ctx.inputs[0], m: outCount, n: inCount, k: n)
        if let dx = input.dx[0] { BLAS.productAdd(input.gy, transA: true, dx, m: outCount, n: inCount, k: n, into: &hw) }
        for e in 0..<hw.count { hv[e] += hw[e] }
        if hasBias {
            let b = hv + outCount * inCount
            for r in 0..<n { for o in 0..<outCount { b[o] += input.rgy[r * outCount + o] } }
        }
    }

    /// `y[r, j] += v[offset + j]` for every row.
    static func addRows(_ y: inout [Double], rows: Int, _ v: [Double], offset: Int, width: Int) {
        y.withUnsafeMutableBufferPointer { yp in
            v.withUnsafeBufferPointer { vp in
                let b = vp.baseAddress! + offset
                for r in 0..<rows { let base = r * width; for j in 0..<width { yp[base + j] += b[j] } }
            }
        }
    }
}

extension DenseOp: NodeLipschitzSource {
    /// Linear: its operator norm σ₁, measured by the weights-only analysis.
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        guard case .dense = node.kind else { return nil }
        return NodeLipschitz(.linearOperator, chainKind: "operator",
                             unmeasured: norms.operatorNorm == nil ? "layer '\(node.name)' was not analysed" : nil)
    }
}
