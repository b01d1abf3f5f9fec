import LinearAlgebra

/// `y_t = x_t + P[r_t] + T` on a sequence `[n, d]`: position t of a sample gets row `r_t` of the
/// op's position table `P` (θ block `position`, `m × d`) and the token-type embedding of type 0 `T`
/// (θ block `token_type`, `d`), each when the model has it (BERT both, GPT-2 positions only).
/// Hugging Face adds them to `inputs_embeds` inside the model, so they belong to the audited
/// function, whose input is the word embeddings.
///
/// Rows: the table holds the rows of the model's position table the probes use (GPT-2 and BERT:
/// the first n, `r_t = t`; RoBERTa: the distinct position ids of all probes, each once, so a row
/// shared by several positions or probes is one parameter, as in the model). Each sample's
/// `r_t` come from the tape (`SampleChannels.positionRows`: its own position ids), else from the
/// op's `defaultRows`.
///
/// A translation: Jacobian I, Lipschitz constant 1. Parameter rows of sample s: `Σ_{t: r_t = j} ȳ_t`
/// into table row j, `Σ_t ȳ_t` into the token type; second order `R{ȳ}` into both (the map is
/// linear in θ, so its parameter Hessian is zero).
public struct PositionEmbeddingOp: DifferentiableOp, OpBuilder {
    public let name: String
    public let outputShape: [Int]
    public let hasPositions: Bool
    public let hasTokenType: Bool
    /// Rows in the position table (m).
    public let tableRows: Int
    /// `r_t` of a sample without a channel (n entries in `0..<m`).
    public let defaultRows: [Int]

    var n: Int { outputShape[0] }
    var d: Int { outputShape[1] }

    /// `tableRows` nil: the first n rows, `r_t = t`.
    public init(name: String, outputShape: [Int], hasPositions: Bool, hasTokenType: Bool, tableRows: Int? = nil,
                defaultRows: [Int]? = nil) {
        self.name = name
        self.outputShape = outputShape
        self.hasPositions = hasPositions
        self.hasTokenType = hasTokenType
        self.tableRows = tableRows ?? outputShape[0]
        self.defaultRows = defaultRows ?? Array(0..<outputShape[0])
    }

    public var parameterLayout: [ParameterBlock] {
        (hasPositions ? [ParameterBlock("position", tableRows * d)] : []) + (hasTokenType ? [ParameterBlock("token_type", d)] : [])
    }
    public var lipschitz: LipschitzRule { .constant(1, derivation: "a translation") }
    public var report: OpReport { OpReport(kind: "position_embedding") }

    /// `.parameterized("PositionEmbedding", tensors)`: a tensor whose name ends in `#positions`
    /// (the table, `[m, d]`) and one ending in `#token_type0` (`[d]`); attribute `position_rows`
    /// (comma-separated, n entries in `0..<m`): the rows of a sample without a channel, default
    /// `0 … n−1` (then m ≥ n).
    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .parameterized("PositionEmbedding", let tensors) = node.kind else { return nil }
        let s = b.inputShape()
        guard s.count == 2 else { throw ForwardModelError("layer '\(node.name)': position embedding of a \(s) input") }
        let pos = tensors.first { $0.name.hasSuffix("#positions") }, tt = tensors.first { $0.name.hasSuffix("#token_type0") }
        var params: [[Double]] = []
        var m = s[0]
        if let pos {
            let v = try b.load(pos)
            guard !v.isEmpty, v.count % s[1] == 0 else { throw ForwardModelError("layer '\(node.name)': \(v.count) position values for width \(s[1])") }
            m = v.count / s[1]
            params.append(v)
        }
        var rows = Array(0..<s[0])
        if let text = node.attributes["position_rows"] {
            rows = text.split(separator: ",").compactMap { Int($0) }
        }
        guard rows.count == s[0], rows.allSatisfy({ $0 >= 0 && $0 < m }) else {
            throw ForwardModelError("layer '\(node.name)': position rows \(node.attributes["position_rows"] ?? "0…\(s[0] - 1)") for \(s[0]) positions and a table of \(m) rows")
        }
        if let tt {
            let v = try b.load(tt)
            guard v.count == s[1] else { throw ForwardModelError("layer '\(node.name)': \(v.count) token-type values for width \(s[1])") }
            params.append(v)
        }
        return try b.emit(PositionEmbeddingOp(name: node.name, outputShape: s, hasPositions: pos != nil, hasTokenType: tt != nil,
                                              tableRows: m, defaultRows: rows),
                          inputs: [b.inputSlots[0]], parameters: params)
    }

    /// Sample s's table rows (its channel, else `defaultRows`).
    func rows(_ s: Int, _ ctx: OpContext) -> [Int] {
        guard let r = ctx.channels.positionRows?[s] else { return defaultRows }
        precondition(r.count == n && r.allSatisfy { $0 >= 0 && $0 < tableRows }, "\(name): position rows of sample \(s)")
        return r
    }

    func addParameters(_ theta: [Double], into y: inout [Double], rows count: Int, ctx: OpContext) {
        let size = n * d, tOff = hasPositions ? tableRows * d : 0
        for s in 0..<count {
            let r = rows(s, ctx)
            for t in 0..<n {
                for c in 0..<d {
                    if hasPositions { y[s * size + t * d + c] += theta[r[t] * d + c] }
                    if hasTokenType { y[s * size + t * d + c] += theta[tOff + c] }
                }
            }
        }
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        var y = ctx.inputs[0]
        addParameters(ctx.theta, into: &y, rows: ctx.n, ctx: ctx)
        return (y, .none)
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        if !gx[0].isEmpty { addInPlace(&gx[0], gy) }
    }

    public func jvp(_ dx: [[Double]?], dtheta: [Double]?, ctx: OpContext) -> [Double]? {
        guard dx[0] != nil || dtheta != nil else { return nil }
        var y = dx[0] ?? [Double](repeating: 0, count: ctx.n * n * d)
        if let dtheta { addParameters(dtheta, into: &y, rows: ctx.n, ctx: ctx) }
        return y
    }

    public func parameterRows(_ gy: UnsafePointer<Double>, sample s: Int, rows k: Int, ctx: OpContext,
                              into out: UnsafeMutablePointer<Double>) {
        let size = n * d, pc = parameterCount, tOff = hasPositions ? tableRows * d : 0
        let r = rows(s, ctx)
        for q in 0..<k {
            let g = gy + q * size, row = out + q * pc
            for t in 0..<n {
                for c in 0..<d {
                    if hasPositions { row[r[t] * d + c] += g[t * d + c] }
                    if hasTokenType { row[tOff + c] += g[t * d + c] }
                }
            }
        }
    }

    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {
        if !gx[0].isEmpty { addInPlace(&gx[0], input.gy) }
        if !rgx[0].isEmpty { addInPlace(&rgx[0], input.rgy) }
        input.rgy.withUnsafeBufferPointer { rp in
            for s in 0..<ctx.n { parameterRows(rp.baseAddress! + s * n * d, sample: s, rows: 1, ctx: ctx, into: hv) }
        }
    }
}
