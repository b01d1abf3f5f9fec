import LinearAlgebra

/// The values of every op of one forward pass over a batch of `count` samples (channels-last,
/// one sample per row), plus the max-pool selections.
public struct ForwardTape: Sendable {
    public let count: Int
    var values: [[Double]]
    /// For max-pool ops: the input element each output element copies (per sample).
    var argmax: [[Int32]]
    /// The logits, `count × C` row-major.
    public var output: [Double] { values[values.count - 1] }
}

/// What a reverse pass should produce besides the input cotangent.
public struct BackwardRequest: Sendable {
    /// `Σ_rows J_θᵀ ȳ_row` (only with one row per sample).
    public var parameterGradient = false
    /// Per sample, the `k × k` Gram `J_θ,i S_i (J_θ,i S_i)ᵀ` of the parameter gradients of its k rows.
    public var perSampleGram = false
    /// Every row's parameter gradient (`rows × P`, row-major): materialises `J_θ`.
    public var perRowParameterGradients = false
    /// The cotangent of the input (skipping it saves the first layer's largest product).
    public var inputCotangent = true
    public init(parameterGradient: Bool = false, perSampleGram: Bool = false, perRowParameterGradients: Bool = false,
                inputCotangent: Bool = true) {
        self.inputCotangent = inputCotangent
        self.parameterGradient = parameterGradient
        self.perSampleGram = perSampleGram
        self.perRowParameterGradients = perRowParameterGradients
    }
}

public struct BackwardResult: Sendable {
    /// `rows × d` cotangent of the (internal-layout) input (empty when not requested).
    public var inputCotangent: [Double]
    public var parameterGradient: [Double]?
    /// `count × k × k`.
    public var perSampleGram: [Double]?
    /// `rows × P`.
    public var perRowParameterGradients: [Double]?
}

// MARK: - small dense helpers

@inline(__always)
func matmul(_ a: [Double], _ m: Int, _ k: Int, _ b: [Double], _ n: Int) -> [Double] {
    if m == 0 || n == 0 { return [] }
    if k == 0 { return [Double](repeating: 0, count: m * n) }
    // The product of a validated m×k by k×n: `multiplied` cannot fail here.
    return (try? Matrix(rows: m, cols: k, storage: a).multiplied(by: Matrix(rows: k, cols: n, storage: b)).storage)
        ?? [Double](repeating: 0, count: m * n)
}

/// Aᵀ of a row-major `rows × cols` array (cache-blocked).
func transposed(_ a: [Double], _ rows: Int, _ cols: Int) -> [Double] {
    var t = [Double](repeating: 0, count: rows * cols)
    let bs = 32
    a.withUnsafeBufferPointer { ap in
        t.withUnsafeMutableBufferPointer { tp in
            var i0 = 0
            while i0 < rows {
                let i1 = Swift.min(rows, i0 + bs)
                var j0 = 0
                while j0 < cols {
                    let j1 = Swift.min(cols, j0 + bs)
                    for i in i0..<i1 { for j in j0..<j1 { tp[j * rows + i] = ap[i * cols + j] } }
                    j0 = j1
                }
                i0 = i1
            }
        }
    }
    return t
}

/// A parameter tangent θ̇ prepared for forward mode: the dense blocks' transposes are formed
/// once, not once per batch.
public struct ParameterTangent: Sendable {
    public let values: [Double]
    let denseTransposed: [Int: [Double]]
}

@inline(__always)
func addInPlace(_ y: inout [Double], _ x: [Double]) {
    precondition(y.count == x.count)
    y.withUnsafeMutableBufferPointer { yp in x.withUnsafeBufferPointer { xp in for i in 0..<xp.count { yp[i] += xp[i] } } }
}

extension ForwardModel {
    // MARK: forward

    /// Forward pass of `count` inputs in the internal layout (`count × d`).
    public func forward(_ x: [Double], count n: Int) -> ForwardTape {
        precondition(x.count == n * inputDimension, "forward: \(x.count) values for \(n) × \(inputDimension)")
        var values = [[Double]](repeating: [], count: ops.count)
        var argmax = [[Int32]](repeating: [], count: ops.count)
        values[0] = x
        parameters.withUnsafeBufferPointer { theta in
            for (k, op) in ops.enumerated() where k > 0 {
                let xin = values[op.inputs[0]]
                let inSize = ops[op.inputs[0]].size
                var y: [Double]
                switch op.kind {
                case .input:
                    y = xin
                case .dense(let d):
                    y = matmul(xin, n, d.inCount, d.weightTransposed, d.outCount)
                    if let b = d.biasOffset { addBias(&y, n: n, theta.baseAddress! + b, d.outCount) }
                case .conv(let c):
                    y = [Double](repeating: 0, count: n * op.size)
                    let g = c.geometry
                    xin.withUnsafeBufferPointer { xp in
                        y.withUnsafeMutableBufferPointer { yp in
                            for s in 0..<n {
                                g.forward(xp.baseAddress! + s * inSize, theta.baseAddress! + c.weightOffset, yp.baseAddress! + s * op.size)
                            }
                        }
                    }
                    if let b = c.biasOffset { addBias(&y, n: n * g.outPositions, theta.baseAddress! + b, g.cout) }
                case .batchNorm(let bn):
                    y = xin
                    let ch = bn.channels
                    let gamma = bn.gammaOffset.map { Array(theta[$0..<($0 + ch)]) } ?? bn.constGamma
                    let beta = bn.betaOffset.map { Array(theta[$0..<($0 + ch)]) } ?? bn.constBeta
                    for e in 0..<y.count {
                        let c = e % ch
                        y[e] = gamma[c] * bn.invStd[c] * (y[e] - bn.mean[c]) + beta[c]
                    }
                case .activation(let a):
                    y = xin
                    if !a.isLinear { for e in 0..<y.count { y[e] = a.value(y[e]) } }
                case .prelu(let p):
                    y = xin
                    for e in 0..<y.count where y[e] <= 0 {
                        y[e] *= theta[p.alphaOffset + p.alphaIndex[e % op.size]]
                    }
                case .pool(let p):
                    (y, argmax[k]) = poolForward(p, xin, n: n, inSize: inSize, outSize: op.size)
                case .gather, .add, .concat:
                    y = linearApply(k, values, n: n, argmax: [])
                }
                values[k] = y
            }
        }
        return ForwardTape(count: n, values: values, argmax: argmax)
    }

    @inline(__always)
    func addBias(_ y: inout [Double], n rows: Int, _ b: UnsafePointer<Double>, _ width: Int) {
        y.withUnsafeMutableBufferPointer { yp in
            for r in 0..<rows { let base = r * width; for j in 0..<width { yp[base + j] += b[j] } }
        }
    }

    func poolForward(_ p: PoolSpec, _ x: [Double], n: Int, inSize: Int, outSize: Int) -> ([Double], [Int32]) {
        let g = p.geometry, c = g.channels, w = g.window
        var y = [Double](repeating: 0, count: n * outSize)
        var sel = [Int32](repeating: 0, count: p.isMax ? n * outSize : 0)
        let inv = 1 / Double(w)
        for s in 0..<n {
            let xb = s * inSize, yb = s * outSize
            for q in 0..<g.outPositions {
                for ch in 0..<c {
                    if p.isMax {
                        var best = -Double.infinity, arg = 0
                        for t in 0..<w {
                            let idx = g.src[q * w + t] * c + ch
                            let v = x[xb + idx]
                            if t == 0 || v > best { best = v; arg = idx }
                        }
                        y[yb + q * c + ch] = best
                        sel[yb + q * c + ch] = Int32(arg)
                    } else {
                        var acc = 0.0
                        for t in 0..<w { acc += x[xb + g.src[q * w + t] * c + ch] }
                        y[yb + q * c + ch] = acc * inv
                    }
                }
            }
        }
        return (y, sel)
    }

    /// Applies the linear structural op `k` (gather, add, concat, pool with fixed selection) to
    /// the per-slot arrays `v` (values or tangents), `rows` rows (one per sample).
    func linearApply(_ k: Int, _ v: [[Double]], n rows: Int, argmax: [Int32], rowsPerSample: Int = 1) -> [Double] {
        let op = ops[k]
        var y = [Double](repeating: 0, count: rows * op.size)
        switch op.kind {
        case .gather(let map):
            let x = v[op.inputs[0]], inSize = ops[op.inputs[0]].size
            for r in 0..<rows { let xb = r * inSize, yb = r * op.size; for j in 0..<op.size { y[yb + j] = x[xb + map[j]] } }
        case .add:
            for i in op.inputs { addInPlace(&y, v[i]) }
        case .concat(let chans):
            let total = chans.reduce(0, +), positions = op.size / total
            var off = 0
            for (ii, i) in op.inputs.enumerated() {
                let x = v[i], c = chans[ii], inSize = ops[i].size
                for r in 0..<rows {
                    for p in 0..<positions {
                        for ch in 0..<c { y[r * op.size + p * total + off + ch] = x[r * inSize + p * c + ch] }
                    }
                }
                off += c
            }
        case .pool(let p):
            let x = v[op.inputs[0]], inSize = ops[op.inputs[0]].size
            let g = p.geometry, c = g.channels, w = g.window, inv = 1 / Double(w)
            for r in 0..<rows {
                let s = r / rowsPerSample
                let xb = r * inSize, yb = r * op.size
                for q in 0..<g.outPositions {
                    for ch in 0..<c {
                        if p.isMax {
                            y[yb + q * c + ch] = x[xb + Int(argmax[s * op.size + q * c + ch])]
                        } else {
                            var acc = 0.0
                            for t in 0..<w { acc += x[xb + g.src[q * w + t] * c + ch] }
                            y[yb + q * c + ch] = acc * inv
                        }
                    }
                }
            }
        default:
            preconditionFailure("linearApply on a non-structural op")
        }
        return y
    }

    /// Adds the transpose of structural op `k` applied to `gy` (`rows × size`) into the input
    /// cotangents `cot`.
    func linearTranspose(_ k: Int, _ gy: [Double], rows: Int, rowsPerSample: Int, argmax: [Int32], into cot: inout [[Double]]) {
        let op = ops[k]
        func ensure(_ i: Int) { if cot[i].isEmpty { cot[i] = [Double](repeating: 0, count: rows * ops[i].size) } }
        switch op.kind {
        case .gather(let map):
            let i = op.inputs[0], inSize = ops[i].size
            ensure(i)
            cot[i].withUnsafeMutableBufferPointer { xp in
                for r in 0..<rows { let xb = r * inSize, yb = r * op.size; for j in 0..<op.size { xp[xb + map[j]] += gy[yb + j] } }
            }
        case .add:
            for i in op.inputs { ensure(i); addInPlace(&cot[i], gy) }
        case .concat(let chans):
            let total = chans.reduce(0, +), positions = op.size / total
            var off = 0
            for (ii, i) in op.inputs.enumerated() {
                ensure(i)
                let c = chans[ii], inSize = ops[i].size
                cot[i].withUnsafeMutableBufferPointer { xp in
                    for r in 0..<rows {
                        for p in 0..<positions {
                            for ch in 0..<c { xp[r * inSize + p * c + ch] += gy[r * op.size + p * total + off + ch] }
                        }
                    }
                }
                off += c
            }
        case .pool(let p):
            let i = op.inputs[0], inSize = ops[i].size
            ensure(i)
            let g = p.geometry, c = g.channels, w = g.window, inv = 1 / Double(w)
            cot[i].withUnsafeMutableBufferPointer { xp in
                for r in 0..<rows {
                    let s = r / rowsPerSample
                    let xb = r * inSize, yb = r * op.size
                    for q in 0..<g.outPositions {
                        for ch in 0..<c {
                            let v = gy[yb + q * c + ch]
                            if p.isMax {
                                xp[xb + Int(argmax[s * op.size + q * c + ch])] += v
                            } else {
                                for t in 0..<w { xp[xb + g.src[q * w + t] * c + ch] += v * inv }
                            }
                        }
                    }
                }
            }
        default:
            preconditionFailure("linearTranspose on a non-structural op")
        }
    }

    // MARK: reverse mode

    /// Reverse pass. `seed` is `count·k × C` (k rows per sample, `rowsPerSample`), the
    /// cotangents of the logits. Returns the input cotangents (`count·k × d`, internal layout)
    /// and what `request` asks for.
    public func backward(_ tape: ForwardTape, seed: [Double], rowsPerSample k: Int = 1,
                         request: BackwardRequest = BackwardRequest()) -> BackwardResult {
        let n = tape.count, rows = n * k, P = parameterCount
        precondition(seed.count == rows * outputCount)
        precondition(!request.parameterGradient || k == 1, "summed parameter gradients need one row per sample")
        var cot = [[Double]](repeating: [], count: ops.count)
        cot[ops.count - 1] = seed
        var pgrad = request.parameterGradient ? [Double](repeating: 0, count: P) : nil
        var gram = request.perSampleGram ? [Double](repeating: 0, count: n * k * k) : nil
        var perRow = request.perRowParameterGradients ? [Double](repeating: 0, count: rows * P) : nil
        func ensure(_ i: Int) { if cot[i].isEmpty { cot[i] = [Double](repeating: 0, count: rows * ops[i].size) } }

        parameters.withUnsafeBufferPointer { theta in
            for j in stride(from: ops.count - 1, through: 1, by: -1) {
                let op = ops[j]
                let gy = cot[j]
                if gy.isEmpty { continue }
                cot[j] = []
                let i0 = op.inputs[0]
                let x = tape.values[i0]
                let inSize = ops[i0].size
                switch op.kind {
                case .input:
                    break
                case .dense(let d):
                    if i0 != 0 || request.inputCotangent {
                        let gx = matmul(gy, rows, d.outCount, d.weight, d.inCount)
                        if cot[i0].isEmpty { cot[i0] = gx } else { addInPlace(&cot[i0], gx) }
                    }
                    if request.parameterGradient {
                        let gw = matmul(transposed(gy, rows, d.outCount), d.outCount, rows, x, d.inCount)
                        pgrad!.withUnsafeMutableBufferPointer { pp in
                            for e in 0..<gw.count { pp[d.weightOffset + e] += gw[e] }
                            if let b = d.biasOffset {
                                for r in 0..<rows { for o in 0..<d.outCount { pp[b + o] += gy[r * d.outCount + o] } }
                            }
                        }
                    }
                    if request.perSampleGram {
                        let extra = d.biasOffset == nil ? 0.0 : 1.0
                        gram!.withUnsafeMutableBufferPointer { gp in
                            gy.withUnsafeBufferPointer { yp in
                                x.withUnsafeBufferPointer { xp in
                                    let m = d.outCount
                                    for s in 0..<n {
                                        var hh = extra
                                        for e in 0..<inSize { hh += xp[s * inSize + e] * xp[s * inSize + e] }
                                        for a in 0..<k {
                                            let ra = yp.baseAddress! + (s * k + a) * m
                                            for b in a..<k {
                                                let rb = yp.baseAddress! + (s * k + b) * m
                                                var acc = 0.0
                                                for o in 0..<m { acc += ra[o] * rb[o] }
                                                gp[(s * k + a) * k + b] += hh * acc
                                                if b != a { gp[(s * k + b) * k + a] += hh * acc }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    if request.perRowParameterGradients {
                        perRow!.withUnsafeMutableBufferPointer { pr in
                            for r in 0..<rows {
                                let s = r / k
                                let base = r * P
                                for o in 0..<d.outCount {
                                    let v = gy[r * d.outCount + o]
                                    if v == 0 { continue }
                                    let wb = base + d.weightOffset + o * d.inCount
                                    for e in 0..<d.inCount { pr[wb + e] = v * x[s * inSize + e] }
                                    if let b = d.biasOffset { pr[base + b + o] = v }
                                }
                            }
                        }
                    }
                case .conv(let c):
                    let g = c.geometry
                    ensure(i0)
                    cot[i0].withUnsafeMutableBufferPointer { xp in
                        gy.withUnsafeBufferPointer { yp in
                            for r in 0..<rows {
                                g.transpose(yp.baseAddress! + r * op.size, theta.baseAddress! + c.weightOffset, xp.baseAddress! + r * inSize)
                            }
                        }
                    }
                    paramRows(j, gy: gy, tape: tape, rows: rows, k: k, request: request, pgrad: &pgrad, gram: &gram, perRow: &perRow)
                case .batchNorm(let bn):
                    let ch = bn.channels
                    let gamma = bn.gammaOffset.map { Array(theta[$0..<($0 + ch)]) } ?? bn.constGamma
                    ensure(i0)
                    cot[i0].withUnsafeMutableBufferPointer { xp in
                        for e in 0..<gy.count { let c = e % ch; xp[e] += gamma[c] * bn.invStd[c] * gy[e] }
                    }
                    if op.paramCount > 0 {
                        paramRows(j, gy: gy, tape: tape, rows: rows, k: k, request: request, pgrad: &pgrad, gram: &gram, perRow: &perRow)
                    }
                case .activation(let a):
                    ensure(i0)
                    cot[i0].withUnsafeMutableBufferPointer { xp in
                        if a.isLinear {
                            for e in 0..<gy.count { xp[e] += gy[e] }
                        } else {
                            // Derivatives once per sample, reused by its k rows.
                            var dphi = [Double](repeating: 0, count: inSize)
                            for s in 0..<n {
                                for e in 0..<inSize { dphi[e] = a.d1(x[s * inSize + e]) }
                                for q in 0..<k {
                                    let rb = (s * k + q) * inSize
                                    for e in 0..<inSize { xp[rb + e] += dphi[e] * gy[rb + e] }
                                }
                            }
                        }
                    }
                case .prelu(let p):
                    ensure(i0)
                    cot[i0].withUnsafeMutableBufferPointer { xp in
                        for r in 0..<rows {
                            let s = r / k
                            for e in 0..<inSize {
                                let xv = x[s * inSize + e]
                                let slope = xv > 0 ? 1 : theta[p.alphaOffset + p.alphaIndex[e]]
                                xp[r * inSize + e] += slope * gy[r * inSize + e]
                            }
                        }
                    }
                    paramRows(j, gy: gy, tape: tape, rows: rows, k: k, request: request, pgrad: &pgrad, gram: &gram, perRow: &perRow)
                case .pool, .gather, .add, .concat:
                    linearTranspose(j, gy, rows: rows, rowsPerSample: k, argmax: tape.argmax[j], into: &cot)
                }
            }
        }
        let gx = !request.inputCotangent ? [] : (cot[0].isEmpty ? [Double](repeating: 0, count: rows * inputDimension) : cot[0])
        return BackwardResult(inputCotangent: gx, parameterGradient: pgrad, perSampleGram: gram, perRowParameterGradients: perRow)
    }

    /// Parameter gradient of op `j` for one row: `out += ∂⟨ȳ_row, op(x_s)⟩/∂θ_op` (length `paramCount`).
    func rowParameterGradient(_ j: Int, gy: UnsafePointer<Double>, x: UnsafePointer<Double>, out: UnsafeMutablePointer<Double>) {
        let op = ops[j]
        parameters.withUnsafeBufferPointer { theta in
            switch op.kind {
            case .dense(let d):
                for o in 0..<d.outCount {
                    let v = gy[o]
                    for e in 0..<d.inCount { out[o * d.inCount + e] += v * x[e] }
                    if d.biasOffset != nil { out[d.outCount * d.inCount + o] += v }
                }
            case .conv(let c):
                let g = c.geometry
                g.weightGradient(gy, x, out)
                if let b = c.biasOffset {
                    let bo = b - c.weightOffset
                    for p in 0..<g.outPositions { for o in 0..<g.cout { out[bo + o] += gy[p * g.cout + o] } }
                }
            case .batchNorm(let bn):
                let ch = bn.channels
                var off = 0
                if bn.gammaOffset != nil {
                    for e in 0..<op.size { let c = e % ch; out[c] += gy[e] * bn.invStd[c] * (x[e] - bn.mean[c]) }
                    off = ch
                }
                if bn.betaOffset != nil { for e in 0..<op.size { out[off + e % ch] += gy[e] } }
            case .prelu(let p):
                for e in 0..<op.size where x[e] <= 0 { out[p.alphaIndex[e]] += x[e] * gy[e] }
            default:
                break
            }
            _ = theta
        }
    }

    /// Parameter gradients of a non-dense op from its output cotangents, in the forms requested.
    func paramRows(_ j: Int, gy: [Double], tape: ForwardTape, rows: Int, k: Int, request: BackwardRequest,
                   pgrad: inout [Double]?, gram: inout [Double]?, perRow: inout [Double]?) {
        let op = ops[j]
        let pc = op.paramCount
        guard pc > 0, request.parameterGradient || request.perSampleGram || request.perRowParameterGradients else { return }
        let x = tape.values[op.inputs[0]]
        let inSize = ops[op.inputs[0]].size
        let P = parameterCount
        var buf = [Double](repeating: 0, count: k * pc)
        gy.withUnsafeBufferPointer { yp in
            x.withUnsafeBufferPointer { xp in
                for s in 0..<(rows / k) {
                    for e in 0..<buf.count { buf[e] = 0 }
                    buf.withUnsafeMutableBufferPointer { bp in
                        for q in 0..<k {
                            rowParameterGradient(j, gy: yp.baseAddress! + (s * k + q) * op.size, x: xp.baseAddress! + s * inSize,
                                                 out: bp.baseAddress! + q * pc)
                        }
                    }
                    if request.parameterGradient {
                        for e in 0..<pc { pgrad![op.paramOffset + e] += buf[e] }
                    }
                    if request.perRowParameterGradients {
                        for q in 0..<k { for e in 0..<pc { perRow![(s * k + q) * P + op.paramOffset + e] = buf[q * pc + e] } }
                    }
                    if request.perSampleGram {
                        for a in 0..<k {
                            for b in a..<k {
                                var acc = 0.0
                                for e in 0..<pc { acc += buf[a * pc + e] * buf[b * pc + e] }
                                gram![(s * k + a) * k + b] += acc
                                if a != b { gram![(s * k + b) * k + a] += acc }
                            }
                        }
                    }
                }
            }
        }
    }

    // MARK: forward mode

    /// θ̇ with the transposes of its dense blocks (for `jvp`, reused across batches).
    public func prepareTangent(_ v: [Double]) -> ParameterTangent {
        precondition(v.count == parameterCount)
        var t: [Int: [Double]] = [:]
        for (j, op) in ops.enumerated() {
            if case .dense(let d) = op.kind {
                t[j] = transposed(Array(v[d.weightOffset..<(d.weightOffset + d.outCount * d.inCount)]), d.outCount, d.inCount)
            }
        }
        return ParameterTangent(values: v, denseTransposed: t)
    }

    /// Tangents of every op for input tangent `dx` (`count × d`, internal layout; nil = 0) and
    /// parameter tangent `dtheta` (length P; nil = 0). The last entry is the logits' tangent.
    /// (An entry is empty where the tangent is identically zero.)
    public func jvp(_ tape: ForwardTape, inputTangent dx: [Double]?, parameterTangent dtheta: [Double]?) -> [[Double]] {
        jvp(tape, inputTangent: dx, parameterTangent: dtheta.map(prepareTangent))
    }

    public func jvp(_ tape: ForwardTape, inputTangent dx: [Double]?, parameterTangent pt: ParameterTangent?) -> [[Double]] {
        let n = tape.count
        var tan = [[Double]](repeating: [], count: ops.count)
        tan[0] = dx ?? []
        let zeroTheta = pt == nil
        let dth = pt?.values ?? []
        parameters.withUnsafeBufferPointer { theta in
            dth.withUnsafeBufferPointer { dt in
                for (j, op) in ops.enumerated() where j > 0 {
                    let i0 = op.inputs[0]
                    let x = tape.values[i0]
                    let inSize = ops[i0].size
                    let zeroIn = tan[i0].isEmpty
                    if case .dense(let d) = op.kind {
                        var y: [Double] = zeroIn ? [] : matmul(tan[i0], n, d.inCount, d.weightTransposed, d.outCount)
                        if !zeroTheta {
                            let t = matmul(x, n, d.inCount, pt!.denseTransposed[j]!, d.outCount)
                            if y.isEmpty { y = t } else { addInPlace(&y, t) }
                            if let b = d.biasOffset { addBias(&y, n: n, dt.baseAddress! + b, d.outCount) }
                        }
                        tan[j] = y
                        continue
                    }
                    let hasParams = op.paramCount > 0 && !zeroTheta
                    if zeroIn && !hasParams {
                        if case .add = op.kind, op.inputs.contains(where: { !tan[$0].isEmpty }) {
                        } else if case .concat = op.kind, op.inputs.contains(where: { !tan[$0].isEmpty }) {
                        } else {
                            tan[j] = []
                            continue
                        }
                    }
                    let xt = zeroIn ? [Double](repeating: 0, count: n * inSize) : tan[i0]
                    var y: [Double]
                    switch op.kind {
                    case .input, .dense:
                        y = xt
                    case .conv(let c):
                        let g = c.geometry
                        y = [Double](repeating: 0, count: n * op.size)
                        y.withUnsafeMutableBufferPointer { yp in
                            xt.withUnsafeBufferPointer { tp in
                                x.withUnsafeBufferPointer { xp in
                                    for s in 0..<n {
                                        if !zeroIn {
                                            g.forward(tp.baseAddress! + s * inSize, theta.baseAddress! + c.weightOffset, yp.baseAddress! + s * op.size)
                                        }
                                        if !zeroTheta {
                                            g.forward(xp.baseAddress! + s * inSize, dt.baseAddress! + c.weightOffset, yp.baseAddress! + s * op.size)
                                        }
                                    }
                                }
                            }
                        }
                        if !zeroTheta, let b = c.biasOffset { addBias(&y, n: n * g.outPositions, dt.baseAddress! + b, g.cout) }
                    case .batchNorm(let bn):
                        let ch = bn.channels
                        let gamma = bn.gammaOffset.map { Array(theta[$0..<($0 + ch)]) } ?? bn.constGamma
                        y = xt
                        for e in 0..<y.count {
                            let c = e % ch
                            var v = gamma[c] * bn.invStd[c] * xt[e]
                            if !zeroTheta {
                                if let go = bn.gammaOffset { v += dt[go + c] * bn.invStd[c] * (x[e] - bn.mean[c]) }
                                if let bo = bn.betaOffset { v += dt[bo + c] }
                            }
                            y[e] = v
                        }
                    case .activation(let a):
                        y = xt
                        if !a.isLinear {
                            y.withUnsafeMutableBufferPointer { yp in x.withUnsafeBufferPointer { xp in for e in 0..<yp.count { yp[e] *= a.d1(xp[e]) } } }
                        }
                    case .prelu(let p):
                        y = xt
                        for e in 0..<y.count {
                            let xv = x[e]
                            if xv <= 0 {
                                let ai = p.alphaOffset + p.alphaIndex[e % op.size]
                                y[e] = theta[ai] * xt[e] + (zeroTheta ? 0 : dt[ai] * xv)
                            }
                        }
                    case .pool, .gather, .add, .concat:
                        var filled = tan
                        for i in op.inputs where filled[i].isEmpty { filled[i] = [Double](repeating: 0, count: n * ops[i].size) }
                        y = linearApply(j, filled, n: n, argmax: tape.argmax[j])
                    }
                    tan[j] = y
                }
            }
        }
        if tan[ops.count - 1].isEmpty { tan[ops.count - 1] = [Double](repeating: 0, count: n * outputCount) }
        return tan
    }

    // MARK: second order

    /// Pearlmutter's R-operator through the reverse pass (one row per sample). Given the tangents
    /// `tangents` of a `jvp` with parameter tangent `v`, the logits' cotangent `gy` (`∇_f ℓ`) and its
    /// directional derivative `rgy` (`∇²_f ℓ · ḟ`), returns `R{∇_θ Σ ℓ} = (∇²_θ Σ ℓ) v`.
    public func secondOrderBackward(_ tape: ForwardTape, tangents tan: [[Double]], parameterTangent v: ParameterTangent,
                                    seed gy0: [Double], seedTangent rgy0: [Double]) -> [Double] {
        let n = tape.count, P = parameterCount
        var cot = [[Double]](repeating: [], count: ops.count)
        var rcot = [[Double]](repeating: [], count: ops.count)
        cot[ops.count - 1] = gy0
        rcot[ops.count - 1] = rgy0
        var hv = [Double](repeating: 0, count: P)
        func ensure(_ i: Int) {
            if cot[i].isEmpty { cot[i] = [Double](repeating: 0, count: n * ops[i].size) }
            if rcot[i].isEmpty { rcot[i] = [Double](repeating: 0, count: n * ops[i].size) }
        }
        parameters.withUnsafeBufferPointer { theta in
            v.values.withUnsafeBufferPointer { dt in
                for j in stride(from: ops.count - 1, through: 1, by: -1) {
                    let op = ops[j]
                    let gy = cot[j], rgy = rcot[j]
                    if gy.isEmpty { continue }
                    cot[j] = []
                    rcot[j] = []
                    let i0 = op.inputs[0]
                    let x = tape.values[i0]
                    let zeroIn = tan[i0].isEmpty
                    let inSize = ops[i0].size
                    let propagate = i0 != 0  // the input's cotangents are never needed here
                    if case .dense(let d) = op.kind {
                        let wc = d.outCount * d.inCount
                        if propagate {
                            let wdot = Array(dt[d.weightOffset..<(d.weightOffset + wc)])
                            let gx = matmul(gy, n, d.outCount, d.weight, d.inCount)
                            var rgx = matmul(rgy, n, d.outCount, d.weight, d.inCount)
                            addInPlace(&rgx, matmul(gy, n, d.outCount, wdot, d.inCount))
                            if cot[i0].isEmpty { cot[i0] = gx } else { addInPlace(&cot[i0], gx) }
                            if rcot[i0].isEmpty { rcot[i0] = rgx } else { addInPlace(&rcot[i0], rgx) }
                        }
                        var hw = matmul(transposed(rgy, n, d.outCount), d.outCount, n, x, d.inCount)
                        if !zeroIn { addInPlace(&hw, matmul(transposed(gy, n, d.outCount), d.outCount, n, tan[i0], d.inCount)) }
                        hv.withUnsafeMutableBufferPointer { hp in
                            for e in 0..<wc { hp[d.weightOffset + e] += hw[e] }
                            if let b = d.biasOffset {
                                for r in 0..<n { for o in 0..<d.outCount { hp[b + o] += rgy[r * d.outCount + o] } }
                            }
                        }
                        continue
                    }
                    let xt = zeroIn ? [Double](repeating: 0, count: n * inSize) : tan[i0]
                    switch op.kind {
                    case .input, .dense:
                        break
                    case .conv(let c):
                        let g = c.geometry
                        ensure(i0)
                        let wp = theta.baseAddress! + c.weightOffset, wdp = dt.baseAddress! + c.weightOffset
                        cot[i0].withUnsafeMutableBufferPointer { xp in
                            rcot[i0].withUnsafeMutableBufferPointer { rxp in
                                gy.withUnsafeBufferPointer { yp in
                                    rgy.withUnsafeBufferPointer { ryp in
                                        x.withUnsafeBufferPointer { xv in
                                            xt.withUnsafeBufferPointer { xtv in
                                                hv.withUnsafeMutableBufferPointer { hp in
                                                    for s in 0..<n {
                                                        let yo = s * op.size, xo = s * inSize
                                                        if propagate {
                                                            g.transpose(yp.baseAddress! + yo, wp, xp.baseAddress! + xo)
                                                            g.transpose(ryp.baseAddress! + yo, wp, rxp.baseAddress! + xo)
                                                            g.transpose(yp.baseAddress! + yo, wdp, rxp.baseAddress! + xo)
                                                        }
                                                        g.weightGradient(ryp.baseAddress! + yo, xv.baseAddress! + xo, hp.baseAddress! + c.weightOffset)
                                                        if !zeroIn {
                                                            g.weightGradient(yp.baseAddress! + yo, xtv.baseAddress! + xo, hp.baseAddress! + c.weightOffset)
                                                        }
                                                        if let b = c.biasOffset {
                                                            for p in 0..<g.outPositions {
                                                                for o in 0..<g.cout { hp[b + o] += ryp[yo + p * g.cout + o] }
                                                            }
                                                        }
                                                    }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    case .batchNorm(let bn):
                        let ch = bn.channels
                        let gamma = bn.gammaOffset.map { Array(theta[$0..<($0 + ch)]) } ?? bn.constGamma
                        ensure(i0)
                        for e in 0..<gy.count {
                            let c = e % ch, a = bn.invStd[c]
                            cot[i0][e] += gamma[c] * a * gy[e]
                            var r = gamma[c] * a * rgy[e]
                            if let go = bn.gammaOffset {
                                r += dt[go + c] * a * gy[e]
                                hv[go + c] += rgy[e] * a * (x[e] - bn.mean[c]) + gy[e] * a * xt[e]
                            }
                            if let bo = bn.betaOffset { hv[bo + c] += rgy[e] }
                            rcot[i0][e] += r
                        }
                    case .activation(let a):
                        ensure(i0)
                        let curved = !a.isPiecewiseLinear && !zeroIn
                        cot[i0].withUnsafeMutableBufferPointer { cp in
                            rcot[i0].withUnsafeMutableBufferPointer { rp in
                                for e in 0..<gy.count {
                                    let xv = x[e]
                                    let d1 = a.d1(xv)
                                    cp[e] += d1 * gy[e]
                                    rp[e] += d1 * rgy[e] + (curved ? a.d2(xv) * xt[e] * gy[e] : 0)
                                }
                            }
                        }
                    case .prelu(let p):
                        ensure(i0)
                        for e in 0..<gy.count {
                            let xv = x[e]
                            if xv > 0 {
                                cot[i0][e] += gy[e]
                                rcot[i0][e] += rgy[e]
                            } else {
                                let ai = p.alphaOffset + p.alphaIndex[e % op.size]
                                cot[i0][e] += theta[ai] * gy[e]
                                rcot[i0][e] += theta[ai] * rgy[e] + dt[ai] * gy[e]
                                hv[ai] += xt[e] * gy[e] + xv * rgy[e]
                            }
                        }
                    case .pool, .gather, .add, .concat:
                        linearTranspose(j, gy, rows: n, rowsPerSample: 1, argmax: tape.argmax[j], into: &cot)
                        linearTranspose(j, rgy, rows: n, rowsPerSample: 1, argmax: tape.argmax[j], into: &rcot)
                    }
                }
            }
        }
        return hv
    }
}
