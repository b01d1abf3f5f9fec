import LinearAlgebra

/// The values of every op of one forward pass over a batch of `count` samples (channels-last,
/// one sample per row), plus what each op saved (e.g. max-pool selections).
public struct ForwardTape: Sendable {
    public let count: Int
    var values: [[Double]]
    var saved: [OpSaved]
    /// Per sample, the key mask mask-aware ops read (the transformer's padding mask), so one
    /// compiled model serves probes with different masks; nil: none.
    public let keyMasks: [[Bool]]?
    /// Per sample, the position rows and read positions of position-aware ops (`SampleChannels`).
    public var channels: SampleChannels = .none
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

/// A parameter tangent θ̇ prepared for forward mode: split per op once, reused across batches.
public struct ParameterTangent: Sendable {
    /// Op j's block of θ̇ (nil for ops without parameters).
    var blocks: [[Double]?]
    /// θ̇ as one vector of length P (the blocks in op order, as `paramOffset` lays them out).
    public var values: [Double] { blocks.flatMap { $0 ?? [] } }
}

extension ForwardModel {
    func context(_ j: Int, _ tape: ForwardTape) -> OpContext {
        let op = ops[j]
        var ctx = OpContext(n: tape.count, inputs: op.inputs.map { tape.values[$0] }, inputSizes: op.inputs.map { ops[$0].size },
                         outputSize: op.size, theta: opTheta[j], saved: tape.saved[j], keyMasks: tape.keyMasks)
        ctx.channels = tape.channels
        return ctx
    }

    /// Per input of op j, a cotangent buffer (`rows × size`): the slot's accumulated cotangent
    /// moved out (first use) or zeros; empty where `wanted` is false.
    func takeCotangents(_ j: Int, _ cot: inout [[Double]], rows: Int, wanted: (Int) -> Bool) -> [[Double]] {
        var local: [[Double]] = []
        var seen = Set<Int>()
        for i in ops[j].inputs {
            guard wanted(i) else { local.append([]); continue }
            if !seen.contains(i) && !cot[i].isEmpty {
                local.append(cot[i])
                cot[i] = []
            } else {
                local.append([Double](repeating: 0, count: rows * ops[i].size))
            }
            seen.insert(i)
        }
        return local
    }

    /// Adds the buffers of `takeCotangents` back into the slots.
    func giveCotangents(_ j: Int, _ local: [[Double]], _ cot: inout [[Double]]) {
        for (ii, i) in ops[j].inputs.enumerated() where !local[ii].isEmpty {
            if cot[i].isEmpty { cot[i] = local[ii] } else { addInPlace(&cot[i], local[ii]) }
        }
    }

    // MARK: forward

    /// Forward pass of `count` inputs in the internal layout (`count × d`); `keyMasks` and
    /// `channels` (one entry per sample) are kept on the tape for every later pass over it.
    public func forward(_ x: [Double], count n: Int, keyMasks: [[Bool]]? = nil, channels: SampleChannels = .none) -> ForwardTape {
        precondition(x.count == n * inputDimension, "forward: \(x.count) values for \(n) × \(inputDimension)")
        precondition(keyMasks == nil || keyMasks!.count == n, "forward: one key mask per sample")
        precondition(channels.fits(n), "forward: one entry per sample in each channel")
        var tape = ForwardTape(count: n, values: [[Double]](repeating: [], count: ops.count),
                               saved: [OpSaved](repeating: .none, count: ops.count), keyMasks: keyMasks)
        tape.channels = channels
        tape.values[0] = x
        for j in 1..<ops.count {
            let (y, saved) = ops[j].op.forward(context(j, tape))
            tape.values[j] = y
            tape.saved[j] = saved
        }
        return tape
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
        for j in stride(from: ops.count - 1, through: 1, by: -1) {
            let gy = cot[j]
            if gy.isEmpty { continue }
            cot[j] = []
            let c = ops[j], op = c.op, ctx = context(j, tape)
            var gx = takeCotangents(j, &cot, rows: rows) { $0 != 0 || request.inputCotangent }
            op.vjp(gy, rows: rows, rowsPerSample: k, ctx: ctx, into: &gx)
            giveCotangents(j, gx, &cot)
            let pc = c.paramCount
            guard pc > 0 else { continue }
            if request.parameterGradient {
                pgrad!.withUnsafeMutableBufferPointer { op.accumulateParameterGradient(gy, ctx: ctx, into: $0.baseAddress! + c.paramOffset) }
            }
            if request.perSampleGram {
                gram!.withUnsafeMutableBufferPointer { op.accumulateParameterGram(gy, rowsPerSample: k, ctx: ctx, into: $0.baseAddress!) }
            }
            if request.perRowParameterGradients {
                var buf = [Double](repeating: 0, count: k * pc)
                gy.withUnsafeBufferPointer { yp in
                    for s in 0..<n {
                        buf.withUnsafeMutableBufferPointer { bp in
                            for e in 0..<bp.count { bp[e] = 0 }
                            op.parameterRows(yp.baseAddress! + s * k * c.size, sample: s, rows: k, ctx: ctx, into: bp.baseAddress!)
                        }
                        perRow!.withUnsafeMutableBufferPointer { pr in
                            for q in 0..<k {
                                let dst = (s * k + q) * P + c.paramOffset
                                for e in 0..<pc { pr[dst + e] = buf[q * pc + e] }
                            }
                        }
                    }
                }
            }
        }
        let gx = !request.inputCotangent ? [] : (cot[0].isEmpty ? [Double](repeating: 0, count: rows * inputDimension) : cot[0])
        return BackwardResult(inputCotangent: gx, parameterGradient: pgrad, perSampleGram: gram, perRowParameterGradients: perRow)
    }

    // MARK: forward mode

    /// θ̇ split per op (for `jvp`, reused across batches).
    public func prepareTangent(_ v: [Double]) -> ParameterTangent {
        precondition(v.count == parameterCount)
        let blocks: [[Double]?] = ops.map { $0.paramCount == 0 ? nil : Array(v[$0.paramOffset..<($0.paramOffset + $0.paramCount)]) }
        return ParameterTangent(blocks: blocks)
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
        for j in 1..<ops.count {
            let c = ops[j]
            let dxs = c.inputs.map { tan[$0].isEmpty ? nil : tan[$0] }
            tan[j] = c.op.jvp(dxs, dtheta: pt?.blocks[j], ctx: context(j, tape)) ?? []
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
        let n = tape.count
        var cot = [[Double]](repeating: [], count: ops.count)
        var rcot = [[Double]](repeating: [], count: ops.count)
        cot[ops.count - 1] = gy0
        rcot[ops.count - 1] = rgy0
        var hv = [Double](repeating: 0, count: parameterCount)
        for j in stride(from: ops.count - 1, through: 1, by: -1) {
            let gy = cot[j]
            if gy.isEmpty { continue }
            let rgy = rcot[j].isEmpty ? [Double](repeating: 0, count: gy.count) : rcot[j]
            cot[j] = []
            rcot[j] = []
            let c = ops[j]
            // The network input's cotangents are never needed here.
            var gx = takeCotangents(j, &cot, rows: n) { $0 != 0 }
            var rgx = takeCotangents(j, &rcot, rows: n) { $0 != 0 }
            let input = SecondOrderInput(gy: gy, rgy: rgy, dx: c.inputs.map { tan[$0].isEmpty ? nil : tan[$0] }, dtheta: v.blocks[j])
            hv.withUnsafeMutableBufferPointer { hp in
                c.op.secondOrder(input, ctx: context(j, tape), gx: &gx, rgx: &rgx, hv: hp.baseAddress! + c.paramOffset)
            }
            giveCotangents(j, gx, &cot)
            giveCotangents(j, rgx, &rcot)
        }
        return hv
    }
}
