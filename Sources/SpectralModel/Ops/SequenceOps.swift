/// Builders for the sequence plumbing of a transformer compiled from a Hugging Face config
/// (`Sources/Audit/Transformer/TransformerGraph.swift`); each emits existing ops:
/// - `Reshape` (attribute `shape`, e.g. `"32,384"`): the identity on the flat values with a new
///   per-sample shape (a `GatherOp` of kind `reshape`; the flat network input becomes `[n, d]`,
///   the last hidden state `[n·d]` for the output).
/// - `PositionwiseDense` (tensors: weight `[out, in]` in the canonical `y = W x` order, optional
///   bias): the same linear map at every position of a `[n, in]` sequence (a `DenseOp` with
///   `positions = n`).
/// - `SelectToken` (attribute `position`, default 0): the row at that position of a `[n, d]`
///   sequence as a `[1, d]` sequence (a `GatherOp` of kind `select_token`; the `[CLS]` / `<s>`
///   token a sequence-classification head reads). A selection: Lipschitz constant 1.
public enum SequenceOps: OpBuilder {
    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .parameterized(let cls, let tensors) = node.kind else { return nil }
        switch cls {
        case "Reshape":
            let s = b.inputShape()
            guard let shape = node.attributes["shape"]?.split(separator: ",").compactMap({ Int($0) }), !shape.isEmpty,
                  shape.allSatisfy({ $0 > 0 }), shape.reduce(1, *) == s.reduce(1, *) else {
                throw ForwardModelError("layer '\(node.name)': reshape of \(s) to '\(node.attributes["shape"] ?? "")'")
            }
            let n = shape.reduce(1, *)
            return try b.emit(GatherOp(name: node.name, map: Array(0..<n), outputShape: shape, kind: "reshape"), inputs: [b.inputSlots[0]])
        case "SelectToken":
            let s = b.inputShape()
            let p = Int(node.attributes["position"] ?? "0") ?? -1
            guard s.count == 2, p >= 0, p < s[0] else {
                throw ForwardModelError("layer '\(node.name)': select token \(node.attributes["position"] ?? "0") of a \(s) input")
            }
            return try b.emit(GatherOp(name: node.name, map: Array((p * s[1])..<((p + 1) * s[1])), outputShape: [1, s[1]],
                                       kind: "select_token"), inputs: [b.inputSlots[0]])
        case "PositionwiseDense":
            guard let w = tensors.first, w.shape.count == 2 else {
                throw ForwardModelError("layer '\(node.name)': positionwise dense needs a [out, in] weight")
            }
            let s = b.inputShape()
            guard s.count == 2, s[1] == w.shape[1] else {
                throw ForwardModelError("layer '\(node.name)': weight \(w.shape) on a sequence of shape \(s)")
            }
            let kernel = try b.load(w)
            guard kernel.count == w.shape[0] * w.shape[1] else {
                throw ForwardModelError("layer '\(node.name)': '\(w.name)' has \(kernel.count) values for \(w.shape)")
            }
            var params = [kernel]
            if tensors.count > 1 {
                let bias = try b.load(tensors[1])
                guard bias.count == w.shape[0] else {
                    throw ForwardModelError("layer '\(node.name)': bias '\(tensors[1].name)' has \(bias.count) values for \(w.shape[0]) outputs")
                }
                params.append(bias)
            }
            let op = DenseOp(name: node.name, inCount: w.shape[1], outCount: w.shape[0], hasBias: tensors.count > 1,
                             positions: s[0], leadingShape: [s[0]])
            return try b.emit(op, inputs: [b.inputSlots[0]], parameters: params)
        default:
            return nil
        }
    }
}

/// `y = x + E` on a sequence `[n, d]`: the position embeddings of the first n positions (θ block
/// `position`, `n·d`) and the token-type embedding of type 0 at every position (θ block
/// `token_type`, `d`), each when the model has it (BERT both, GPT-2 positions only). Hugging
/// Face adds them to `inputs_embeds` inside the model, so they belong to the audited function,
/// whose input is the word embeddings. A translation: Jacobian I, Lipschitz constant 1, parameter
/// rows `ȳ` (positions) and `Σ_p ȳ_p` (token type), second order `R{ȳ}` into both.
public struct PositionEmbeddingOp: DifferentiableOp, OpBuilder {
    public let name: String
    public let outputShape: [Int]
    public let hasPositions: Bool
    public let hasTokenType: Bool

    var n: Int { outputShape[0] }
    var d: Int { outputShape[1] }
    public var parameterLayout: [ParameterBlock] {
        (hasPositions ? [ParameterBlock("position", n * d)] : []) + (hasTokenType ? [ParameterBlock("token_type", d)] : [])
    }
    public var lipschitz: LipschitzRule { .constant(1, derivation: "a translation") }
    public var report: OpReport { OpReport(kind: "position_embedding") }

    /// `.parameterized("PositionEmbedding", tensors)`: tensors whose names end in `#positions`
    /// (the first n rows, `[n, d]`) and `#token_type0` (`[d]`).
    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .parameterized("PositionEmbedding", let tensors) = node.kind else { return nil }
        let s = b.inputShape()
        guard s.count == 2 else { throw ForwardModelError("layer '\(node.name)': position embedding of a \(s) input") }
        let pos = tensors.first { $0.name.hasSuffix("#positions") }, tt = tensors.first { $0.name.hasSuffix("#token_type0") }
        var params: [[Double]] = []
        if let pos {
            let v = try b.load(pos)
            guard v.count == s[0] * s[1] else { throw ForwardModelError("layer '\(node.name)': \(v.count) position values for \(s)") }
            params.append(v)
        }
        if let tt {
            let v = try b.load(tt)
            guard v.count == s[1] else { throw ForwardModelError("layer '\(node.name)': \(v.count) token-type values for width \(s[1])") }
            params.append(v)
        }
        return try b.emit(PositionEmbeddingOp(name: node.name, outputShape: s, hasPositions: pos != nil, hasTokenType: tt != nil),
                          inputs: [b.inputSlots[0]], parameters: params)
    }

    func addParameters(_ theta: [Double], into y: inout [Double], rows: Int) {
        let size = n * d, tOff = hasPositions ? size : 0
        for r in 0..<rows {
            for e in 0..<size {
                if hasPositions { y[r * size + e] += theta[e] }
                if hasTokenType { y[r * size + e] += theta[tOff + e % d] }
            }
        }
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        var y = ctx.inputs[0]
        addParameters(ctx.theta, into: &y, rows: ctx.n)
        return (y, .none)
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        if !gx[0].isEmpty { addInPlace(&gx[0], gy) }
    }

    public func jvp(_ dx: [[Double]?], dtheta: [Double]?, ctx: OpContext) -> [Double]? {
        guard dx[0] != nil || dtheta != nil else { return nil }
        var y = dx[0] ?? [Double](repeating: 0, count: ctx.n * n * d)
        if let dtheta { addParameters(dtheta, into: &y, rows: ctx.n) }
        return y
    }

    public func parameterRows(_ gy: UnsafePointer<Double>, sample s: Int, rows k: Int, ctx: OpContext,
                              into out: UnsafeMutablePointer<Double>) {
        let size = n * d, pc = parameterCount, tOff = hasPositions ? size : 0
        for q in 0..<k {
            let g = gy + q * size, row = out + q * pc
            for e in 0..<size {
                if hasPositions { row[e] += g[e] }
                if hasTokenType { row[tOff + e % d] += g[e] }
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
