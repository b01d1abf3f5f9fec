import LinearAlgebra

/// One primitive of the compiled network, carrying its own differentiation rules beside its
/// forward definition (in the manner of JAX's `lax` primitives with their JVP and transpose rules).
///
/// Every op works on batches: a tensor is `rows × size` float64, row-major, one sample (or one
/// cotangent row) per row, channels-last inside a row. Reverse-mode calls may carry `k` rows per
/// sample (`rowsPerSample`, the C rows of a Jacobian): row `r` belongs to sample `r / k`, whose
/// forward values are row `r / k` of the inputs.
///
/// An op states, beside each other:
/// - shape inference (`outputShape`, fixed when its builder creates it from its input shapes);
/// - `forward` on a batch (and what it saves for the other passes, e.g. max-pool selections);
/// - `vjp` (input cotangents `J_xᵀ ȳ`) and `jvp` (output tangent `J_x ẋ + J_θ θ̇`);
/// - `secondOrder`: the directional derivative of its reverse step (Pearlmutter's R-operator),
///   which gives exact Hessian–vector products;
/// - `parameterRows` (per-row parameter gradients `J_θᵀ ȳ_r`: the rows of the parameter
///   Jacobian the data audit needs), with summed-gradient and per-sample Gram forms that default
///   to the rows and that ops override with a cheaper closed form (dense layers);
/// - `lipschitz`: a global constant, or a local bound with the domain it needs stated;
/// - `report`: what its report row needs.
///
/// Adding an op is one file (a type conforming to `DifferentiableOp` and `OpBuilder`) and one
/// line in `OpRegistry.builders`.
public protocol DifferentiableOp: Sendable {
    var name: String { get }
    /// Channels-last shape of one output sample.
    var outputShape: [Int] { get }
    /// The op's parameter blocks, in θ order: name suffix (`kernel`, `bias`, …) and length. The
    /// engine stores them contiguously; `OpContext.theta` is their concatenation.
    var parameterLayout: [ParameterBlock] { get }
    var lipschitz: LipschitzRule { get }
    var report: OpReport { get }

    /// `y = f(x; θ)` for `ctx.n` samples (`n × outputSize`), and what the other passes need.
    func forward(_ ctx: OpContext) -> (output: [Double], saved: OpSaved)

    /// Adds `J_xᵀ ȳ` into `gx[i]` for every input `i` whose `gx[i]` is not empty (those are
    /// allocated `rows × inputSize[i]`, zero or holding other consumers' cotangents).
    func vjp(_ gy: [Double], rows: Int, rowsPerSample k: Int, ctx: OpContext, into gx: inout [[Double]])

    /// `J_x ẋ + J_θ θ̇` for `ctx.n` samples; `dx[i]` nil means a zero tangent, `dtheta` nil a zero
    /// parameter tangent (else this op's block of θ̇). Returns nil when the tangent is zero.
    func jvp(_ dx: [[Double]?], dtheta: [Double]?, ctx: OpContext) -> [Double]?

    /// For sample `s` and its `k` cotangent rows starting at `gy` (`k × outputSize`): writes the
    /// rows `∂⟨ȳ_q, f(x_s; θ)⟩/∂θ` (`k × parameterCount`) to `out` (zeroed by the caller).
    func parameterRows(_ gy: UnsafePointer<Double>, sample s: Int, rows k: Int, ctx: OpContext,
                       into out: UnsafeMutablePointer<Double>)

    /// `Σ_r ∂⟨ȳ_r, f(x_r; θ)⟩/∂θ` over one row per sample, added into `out` (`parameterCount`).
    func accumulateParameterGradient(_ gy: [Double], ctx: OpContext, into out: UnsafeMutablePointer<Double>)

    /// Per sample s, adds `R_s R_sᵀ` (`k × k`, R_s = its `k` parameter rows) into
    /// `gram[s·k·k …]`.
    func accumulateParameterGram(_ gy: [Double], rowsPerSample k: Int, ctx: OpContext, into gram: UnsafeMutablePointer<Double>)

    /// The R-operator of the reverse step (one row per sample): given ȳ, `R{ȳ}`, the input tangents
    /// ẋ and θ̇, adds `J_xᵀ ȳ` into `gx[i]`, `R{J_xᵀ ȳ}` into `rgx[i]` (for the non-empty entries) and
    /// `R{∂⟨ȳ, f⟩/∂θ}` into `hv` (this op's block).
    func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                     hv: UnsafeMutablePointer<Double>)
}

/// A named block of an op's parameters.
public struct ParameterBlock: Sendable, Equatable {
    public var name: String
    public var count: Int
    public init(_ name: String, _ count: Int) {
        self.name = name
        self.count = count
    }
}

/// What a pass hands an op: the forward values of its inputs, its parameters and what its
/// forward pass saved.
public struct OpContext: @unchecked Sendable {
    /// Samples in the batch.
    public let n: Int
    /// Forward values of the inputs, `n × inputSizes[i]` each.
    public let inputs: [[Double]]
    public let inputSizes: [Int]
    public let outputSize: Int
    /// This op's parameters (its blocks concatenated).
    public let theta: [Double]
    public let saved: OpSaved
    /// Per sample of the batch, a key mask for mask-aware ops (`AttentionOp`: false = key
    /// position masked out), from `ForwardModel.forward(_:count:keyMasks:)`; nil: none.
    public var keyMasks: [[Bool]]? = nil
    /// Per sample of the batch, the position rows and read positions of position-aware ops
    /// (`PositionEmbeddingOp`, `SelectTokenOp`), from the tape (`SampleChannels`); `.none`: the
    /// ops' own.
    public var channels: SampleChannels = .none

    public init(n: Int, inputs: [[Double]], inputSizes: [Int], outputSize: Int, theta: [Double], saved: OpSaved,
                keyMasks: [[Bool]]? = nil) {
        self.n = n
        self.inputs = inputs
        self.inputSizes = inputSizes
        self.outputSize = outputSize
        self.theta = theta
        self.saved = saved
        self.keyMasks = keyMasks
    }
}

/// What a forward pass keeps for the other passes (empty for most ops).
public struct OpSaved: Sendable {
    /// E.g. the input element each max-pool output copies, per sample.
    public var indices: [Int32]
    /// E.g. derivatives or normalisation statistics of the forward pass.
    public var values: [Double]
    public init(indices: [Int32] = [], values: [Double] = []) {
        self.indices = indices
        self.values = values
    }
    public static let none = OpSaved()
}

/// Inputs of the second-order reverse step.
public struct SecondOrderInput {
    /// ȳ and `R{ȳ}`, `n × outputSize`.
    public let gy: [Double]
    public let rgy: [Double]
    /// Forward-mode tangents of the inputs (nil: zero).
    public let dx: [[Double]?]
    /// This op's block of θ̇ (nil: zero).
    public let dtheta: [Double]?
}

/// What an op's report row needs.
public struct OpReport: Sendable, Equatable {
    /// Short kind, as in reports (`dense`, `conv2d`, `max_pool`, …).
    public var kind: String
    /// True for linear operators whose spectra the weights-only audit analyses.
    public var isLinearOperator: Bool
    /// Settings worth printing (`pool 3×3, strides 2, same`).
    public var detail: String
    public init(kind: String, isLinearOperator: Bool = false, detail: String = "") {
        self.kind = kind
        self.isLinearOperator = isLinearOperator
        self.detail = detail
    }
}

// MARK: - defaults

extension DifferentiableOp {
    public var parameterCount: Int { parameterLayout.reduce(0) { $0 + $1.count } }

    /// Default: the rows of `parameterRows`, summed (one row per sample).
    public func accumulateParameterGradient(_ gy: [Double], ctx: OpContext, into out: UnsafeMutablePointer<Double>) {
        let pc = parameterCount
        guard pc > 0 else { return }
        var buf = [Double](repeating: 0, count: pc)
        gy.withUnsafeBufferPointer { yp in
            buf.withUnsafeMutableBufferPointer { bp in
                for s in 0..<ctx.n {
                    for e in 0..<pc { bp[e] = 0 }
                    parameterRows(yp.baseAddress! + s * ctx.outputSize, sample: s, rows: 1, ctx: ctx, into: bp.baseAddress!)
                    for e in 0..<pc { out[e] += bp[e] }
                }
            }
        }
    }

    /// Default: per sample, its `k` parameter rows and their Gram by one GEMM.
    public func accumulateParameterGram(_ gy: [Double], rowsPerSample k: Int, ctx: OpContext, into gram: UnsafeMutablePointer<Double>) {
        accumulateGramFromRows(gy, rowsPerSample: k, ctx: ctx, into: gram)
    }

    /// Per sample, its `k` parameter rows (`parameterRows`) and their Gram by one GEMM.
    public func accumulateGramFromRows(_ gy: [Double], rowsPerSample k: Int, ctx: OpContext, into gram: UnsafeMutablePointer<Double>) {
        let pc = parameterCount
        guard pc > 0 else { return }
        var buf = [Double](repeating: 0, count: k * pc)
        gy.withUnsafeBufferPointer { yp in
            buf.withUnsafeMutableBufferPointer { bp in
                for s in 0..<ctx.n {
                    for e in 0..<bp.count { bp[e] = 0 }
                    parameterRows(yp.baseAddress! + s * k * ctx.outputSize, sample: s, rows: k, ctx: ctx, into: bp.baseAddress!)
                    BLAS.gramAdd(UnsafePointer(bp.baseAddress!), rows: k, cols: pc, lda: pc, into: gram + s * k * k)
                }
            }
        }
    }
}

/// Ops without parameters: the parameter forms are empty.
public protocol ParameterFreeOp: DifferentiableOp {}

extension ParameterFreeOp {
    public var parameterLayout: [ParameterBlock] { [] }
    public func parameterRows(_ gy: UnsafePointer<Double>, sample s: Int, rows k: Int, ctx: OpContext,
                              into out: UnsafeMutablePointer<Double>) {}
}

/// Ops that are linear in their inputs and have no parameters (flatten, add, concatenate, pooling
/// with a fixed selection): JVP is the forward map on tangents, the second-order step is the VJP
/// applied to ȳ and to `R{ȳ}`.
public protocol LinearStructuralOp: ParameterFreeOp {
    /// The map applied to `rows` rows of `v` (one array per input, zero-filled where the tangent is zero).
    func apply(_ v: [[Double]], rows: Int, rowsPerSample k: Int, ctx: OpContext) -> [Double]
}

extension LinearStructuralOp {
    public func jvp(_ dx: [[Double]?], dtheta: [Double]?, ctx: OpContext) -> [Double]? {
        guard dx.contains(where: { $0 != nil }) else { return nil }
        let filled = dx.enumerated().map { $0.element ?? [Double](repeating: 0, count: ctx.n * ctx.inputSizes[$0.offset]) }
        return apply(filled, rows: ctx.n, rowsPerSample: 1, ctx: ctx)
    }

    public func secondOrder(_ input: SecondOrderInput, ctx: OpContext, gx: inout [[Double]], rgx: inout [[Double]],
                            hv: UnsafeMutablePointer<Double>) {
        vjp(input.gy, rows: ctx.n, rowsPerSample: 1, ctx: ctx, into: &gx)
        vjp(input.rgy, rows: ctx.n, rowsPerSample: 1, ctx: ctx, into: &rgx)
    }
}
