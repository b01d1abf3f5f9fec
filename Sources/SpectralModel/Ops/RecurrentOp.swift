import LinearAlgebra

/// One stacked layer of an LSTM / GRU / plain RNN unrolled over the T steps of its input
/// sequence (issue 19): per sample the input is `[T, F]` (time-major rows of T·F values), the
/// output every step's hidden state `[T, D·Hp]` or the final state(s) `[D·Hp]`
/// (`RecurrentLayerSpec`, which states the cells' equations). θ: per direction the blocks
/// `w_ih, w_hh, b_ih, b_hh, w_hr` the file has, in canonical PyTorch gate order.
///
/// Every pass runs the same generic text (`RecurrentKernel`): forward and BPTT on `Double`
/// (forward, VJP, parameter rows), the forward pass on dual numbers (JVP: input and parameter
/// tangents), BPTT on dual numbers with ȳ + ε R{ȳ}, x + ε ẋ, θ + ε θ̇ (the R-operator of BPTT:
/// exact Hessian–vector products). Multi-layer networks are one op per stacked layer.
///
/// Lipschitz rule: none global (a recurrence over an unbounded horizon has none); the weights-only
/// horizon bound (`RecurrentHorizonBound`, report `network.recurrent`) bounds it for T ≤ horizon.
public struct RecurrentOp: DifferentiableOp, OpBuilder {
    public let name: String
    public let spec: RecurrentLayerSpec
    public let steps: Int
    public let outputShape: [Int]

    public init(name: String, spec: RecurrentLayerSpec, steps: Int, flatOutput: Bool) {
        self.name = name
        self.spec = spec
        self.steps = steps
        let w = spec.directions * spec.out
        outputShape = spec.finalState ? [w] : (flatOutput ? [steps * w] : [steps, w])
    }

    var kernel: RecurrentKernel { RecurrentKernel(spec: spec, steps: steps) }
    var inputSize: Int { steps * spec.features }

    public var parameterLayout: [ParameterBlock] {
        let o = spec.offsets, gh = spec.gates * spec.hidden
        var blocks: [ParameterBlock] = []
        for d in 0..<spec.directions {
            let p = spec.directions == 2 ? (d == 0 ? "" : "reverse/") : ""
            blocks.append(ParameterBlock(p + "weight_ih", gh * spec.features))
            blocks.append(ParameterBlock(p + "weight_hh", gh * spec.out))
            if o.bih != nil { blocks.append(ParameterBlock(p + "bias_ih", gh)) }
            if o.bhh != nil { blocks.append(ParameterBlock(p + "bias_hh", gh)) }
            if o.whr != nil { blocks.append(ParameterBlock(p + "weight_hr", spec.out * spec.hidden)) }
        }
        return blocks
    }

    public var lipschitz: LipschitzRule {
        .unbounded(reason: "a recurrent cell has no global Lipschitz constant over an unbounded horizon; the weights-only horizon bound (network.recurrent) bounds it for sequences of length ≤ T")
    }

    public var report: OpReport {
        var detail = "\(steps) steps, \(spec.features) → \(spec.hidden) hidden"
        if let p = spec.projection { detail += ", projection \(p)" }
        if spec.directions == 2 { detail += ", bidirectional" }
        if spec.cell == .gru { detail += spec.resetAfter ? ", reset after" : ", reset before" }
        detail += spec.finalState ? ", final state" : ", every step"
        return OpReport(kind: spec.cell.rawValue, detail: detail)
    }

    // MARK: passes

    /// Runs every direction on sample s of `x` (S-valued input rows of `inputSize`).
    func forwardSample<S: RecurrentScalar>(_ x: [S], _ s: Int, _ theta: [S], _ y: inout [S], _ yb: Int) -> [RecurrentTape<S>] {
        (0..<spec.directions).map { d in
            kernel.forward(direction: d, x: x, xb: s * inputSize, theta: theta, tb: d * spec.perDirection, y: &y, yb: yb)
        }
    }

    func backwardSample<S: RecurrentScalar>(_ tapes: [RecurrentTape<S>], _ x: [S], _ s: Int, _ theta: [S], gy: [S], gyb: Int,
                                            gx: inout [S], gxb: Int, gtheta: inout [S]) {
        for d in 0..<spec.directions {
            kernel.backward(direction: d, tape: tapes[d], x: x, xb: s * inputSize, theta: theta, tb: d * spec.perDirection,
                            gy: gy, gyb: gyb, gx: &gx, gxb: gxb, gtheta: &gtheta)
        }
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        var y = [Double](repeating: 0, count: ctx.n * ctx.outputSize)
        for s in 0..<ctx.n { _ = forwardSample(ctx.inputs[0], s, ctx.theta, &y, s * ctx.outputSize) }
        return (y, .none)
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        guard !gx[0].isEmpty else { return }
        var scratch = [Double](repeating: 0, count: ctx.outputSize), none: [Double] = []
        for s in 0..<(rows / k) {
            let tapes = forwardSample(ctx.inputs[0], s, ctx.theta, &scratch, 0)
            for r in (s * k)..<((s + 1) * k) {
                backwardSample(tapes, ctx.inputs[0], s, ctx.theta, gy: gy, gyb: r * ctx.outputSize, gx: &gx[0], gxb: r * inputSize, gtheta: &none)
            }
        }
    }

    public func jvp(_ dx: [[Double]?], dtheta: [Double]?, ctx: OpContext) -> [Double]? {
        guard dx[0] != nil || dtheta != nil else { return nil }
        let x = Self.dual(ctx.inputs[0], dx[0]), theta = Self.dual(ctx.theta, dtheta)
        var y = [DualNumber](repeating: DualNumber(0), count: ctx.n * ctx.outputSize)
        for s in 0..<ctx.n { _ = forwardSample(x, s, theta, &y, s * ctx.outputSize) }
        return y.map(\.d)
    }

    public func parameterRows(_ gy: UnsafePointer<Double>, sample s: Int, rows k: Int, ctx: OpContext,
                              into out: UnsafeMutablePointer<Double>) {
        let pc = parameterCount, size = ctx.outputSize
        var scratch = [Double](repeating: 0, count: size), none: [Double] = []
        let tapes = forwardSample(ctx.inputs[0], s, ctx.theta, &scratch, 0)
        var g = [Double](repeating: 0, count: pc)
        for q in 0..<k {
            let row = Array(UnsafeBufferPointer(start: gy + q * size, count: size))
            for e in 0..<pc { g[e] = 0 }
            backwardSample(tapes, ctx.inputs[0], s, ctx.theta, gy: row, gyb: 0, gx: &none, gxb: 0, gtheta: &g)
            for e in 0..<pc { out[q * pc + e] += g[e] }
        }
    }

    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {
        let x = Self.dual(ctx.inputs[0], input.dx[0]), theta = Self.dual(ctx.theta, input.dtheta)
        let gy = Self.dual(input.gy, input.rgy), pc = parameterCount, wantX = !gx[0].isEmpty || !rgx[0].isEmpty
        var scratch = [DualNumber](repeating: DualNumber(0), count: ctx.outputSize)
        var g = [DualNumber](repeating: DualNumber(0), count: pc)
        var gxd = [DualNumber](repeating: DualNumber(0), count: wantX ? inputSize : 0)
        for s in 0..<ctx.n {
            let tapes = forwardSample(x, s, theta, &scratch, 0)
            for e in 0..<pc { g[e] = DualNumber(0) }
            for e in 0..<gxd.count { gxd[e] = DualNumber(0) }
            backwardSample(tapes, x, s, theta, gy: gy, gyb: s * ctx.outputSize, gx: &gxd, gxb: 0, gtheta: &g)
            for e in 0..<pc { hv[e] += g[e].d }
            let b = s * inputSize
            if !gx[0].isEmpty { for e in 0..<inputSize { gx[0][b + e] += gxd[e].v } }
            if !rgx[0].isEmpty { for e in 0..<inputSize { rgx[0][b + e] += gxd[e].d } }
        }
    }

    static func dual(_ v: [Double], _ t: [Double]?) -> [DualNumber] {
        guard let t else { return v.map { DualNumber($0) } }
        return zip(v, t).map { DualNumber($0, $1) }
    }
}
