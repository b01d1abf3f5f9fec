/// `y = x_p` for a sequence `x` of shape `[n, d]`: the row at position p as a `[1, d]` sequence —
/// the token a sequence-classification head reads (BERT's `[CLS]`, RoBERTa's `<s>`: p = 0; the
/// GPT-2 / Llama-family classifiers: the last non-padding token, which differs between probes).
/// Each sample's p comes from the tape (`SampleChannels.readPositions`), else from the op's own
/// `position`. A selection: linear, parameter-free, Jacobian the row selector `E_pᵀ ⊗ I_d`
/// (VJP: ȳ into row p, zero elsewhere), Lipschitz constant 1.
public struct SelectTokenOp: LinearStructuralOp, OpBuilder {
    public let name: String
    public let outputShape: [Int]
    /// Positions in the input sequence.
    public let length: Int
    /// p of a sample without a channel.
    public let position: Int

    var d: Int { outputShape[1] }
    public var lipschitz: LipschitzRule { .constant(1, derivation: "a selection of entries") }
    public var report: OpReport { OpReport(kind: "select_token") }

    public init(name: String, length: Int, width: Int, position: Int) {
        self.name = name
        self.length = length
        self.position = position
        outputShape = [1, width]
    }

    /// `.parameterized("SelectToken", [])` with attribute `position` (default 0).
    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .parameterized("SelectToken", _) = node.kind else { return nil }
        let s = b.inputShape()
        let p = Int(node.attributes["position"] ?? "0") ?? -1
        guard s.count == 2, p >= 0, p < s[0] else {
            throw ForwardModelError("layer '\(node.name)': select token \(node.attributes["position"] ?? "0") of a \(s) input")
        }
        return try b.emit(SelectTokenOp(name: node.name, length: s[0], width: s[1], position: p), inputs: [b.inputSlots[0]])
    }

    /// p of sample s.
    func position(_ s: Int, _ ctx: OpContext) -> Int {
        guard let p = ctx.channels.readPositions?[s] else { return position }
        precondition(p >= 0 && p < length, "\(name): read position \(p) of sample \(s) outside 0..<\(length)")
        return p
    }

    public func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved) {
        (apply(ctx.inputs, rows: ctx.n, rowsPerSample: 1, ctx: ctx), .none)
    }

    public func apply(_ v: [[Double]], rows: Int, rowsPerSample k: Int, ctx: OpContext) -> [Double] {
        let inSize = length * d
        var y = [Double](repeating: 0, count: rows * d)
        for r in 0..<rows {
            let base = r * inSize + position(r / k, ctx) * d
            for c in 0..<d { y[r * d + c] = v[0][base + c] }
        }
        return y
    }

    public func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]]) {
        guard !gx[0].isEmpty else { return }
        let inSize = length * d
        for r in 0..<rows {
            let base = r * inSize + position(r / k, ctx) * d
            for c in 0..<d { gx[0][base + c] += gy[r * d + c] }
        }
    }
}
