import Foundation

/// The loss whose Hessian the data audit analyses (SPEC.md §5).
/// - `crossEntropy`: `ℓ = −Σ_c y_c log softmax(f)_c` on the logits, with integer class labels
///   (one-hot) or rows of a label distribution; `∇_f ℓ = (Σy) p − y`, `∇²_f ℓ = (Σy)(diag p − p pᵀ)`.
/// - `mse`: `ℓ = ½ ‖f − y‖²` (so `∇²_f ℓ = I`), real targets `N × C` (or `N` when C = 1).
public enum LossKind: String, Sendable, Equatable {
    case crossEntropy = "cross_entropy"
    case mse
}

/// Settings of the data-dependent audit (`DataAudit.run`).
public struct DataAuditOptions: Sendable {
    /// `.npy` of probe inputs, `N × input shape` (Keras models channels-last, PyTorch models
    /// channels-first; the other order is accepted when unambiguous, and flat `N × d` rows too).
    public var probePath: String
    /// `.npy` of labels: integer classes `N`, one-hot / distributions `N × C`, or real targets.
    public var labelsPath: String?
    /// nil: cross-entropy for integer or one-hot labels, mse for other real targets.
    public var loss: LossKind?
    /// Use only the first `probeLimit` probes.
    public var probeLimit: Int?
    /// Seeds the attribution perturbations and the Lanczos start vectors.
    public var seed: UInt64
    /// Radius of the perturbations, relative to ‖x‖ (SPEC §5 default 0.01).
    public var attributionEpsilon: Double
    /// Perturbations per probe for `AI(x; ε)`; 0 skips attribution.
    public var attributionSamples: Int
    /// Lanczos stopping rule: error estimate of λ_max and λ_min ≤ tolerance · max(|λ_max|, |λ_min|).
    public var lanczosTolerance: Double
    public var lanczosMaxIterations: Int
    /// Matrix-free NTK: products spent on λ_min after λ_max has converged, before λ_min is given
    /// up (reported null, with a note). The bottom of a large NTK converges slowly. CLI:
    /// `--ntk-min-budget`.
    public var ntkLambdaMinBudget: Int
    /// Memory the parameter-space Lanczos basis (Hessian) may use; it caps the iterations at
    /// `lanczosBasisBytes / (8 P)`.
    public var lanczosBasisBytes: Int
    /// Largest `N·C·P` for which the parameter Jacobian of the whole probe set is materialised and
    /// the NTK / Gauss–Newton spectra computed densely (exact); above it they come from Lanczos.
    public var explicitJacobianLimit: Int
    /// Probes per batch (fixed, so results do not depend on `jobs`).
    public var chunkSize: Int
    /// Worker threads (batches run in parallel, reductions in batch order).
    public var jobs: Int
    /// Skip the Hessian (and its Lanczos) even when labels are given.
    public var skipHessian: Bool
    /// Transformer data mode: the input Jacobian's entropy and τ are exact (J formed, LAPACK) when
    /// its order n·d is at most this, else estimated by stochastic Lanczos quadrature.
    public var transformerExactSpectrumLimit = 1024
    /// Transformer data mode, SLQ: Rademacher probes and the cap on Lanczos steps per probe of the audit.
    public var transformerSLQProbes = 8
    public var transformerSLQSteps = 30
    /// Transformer data mode, SLQ stopping rule: a probe's Lanczos run ends once the quadrature
    /// half-width of its entropy (Gauss vs Gauss–Radau bracket) is at most this fraction of the
    /// two standard errors over the start vectors (`StochasticLanczos.EntropyEstimate.converged`);
    /// else at `transformerSLQSteps`. nil: always the cap.
    public var transformerSLQStopFraction: Double? = 0.5
    /// `--rnn-nonlinearity`: the φ of PyTorch `nn.RNN`/`nn.RNNCell` layers (not stored in a state
    /// dict); nil = tanh, PyTorch's default, stated in the report's assumptions (issue 19).
    public var rnnNonlinearity: RNNNonlinearity?

    public init(probePath: String, labelsPath: String? = nil, loss: LossKind? = nil, probeLimit: Int? = nil,
                seed: UInt64 = 0, attributionEpsilon: Double = 0.01, attributionSamples: Int = 8,
                lanczosTolerance: Double = 1e-6, lanczosMaxIterations: Int = 300, ntkLambdaMinBudget: Int = 50,
                lanczosBasisBytes: Int = 512 << 20,
                explicitJacobianLimit: Int = 1 << 23, chunkSize: Int = 256,
                jobs: Int = ProcessInfo.processInfo.activeProcessorCount, skipHessian: Bool = false) {
        self.probePath = probePath
        self.labelsPath = labelsPath
        self.loss = loss
        self.probeLimit = probeLimit
        self.seed = seed
        self.attributionEpsilon = attributionEpsilon
        self.attributionSamples = attributionSamples
        self.lanczosTolerance = lanczosTolerance
        self.lanczosMaxIterations = lanczosMaxIterations
        self.ntkLambdaMinBudget = ntkLambdaMinBudget
        self.lanczosBasisBytes = lanczosBasisBytes
        self.explicitJacobianLimit = explicitJacobianLimit
        self.chunkSize = chunkSize
        self.jobs = jobs
        self.skipHessian = skipHessian
    }
}
