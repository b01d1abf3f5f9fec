// Per-layer parts of the report contract (one row per layer or stray tensor): status, the row,
// its spectrum metrics and heavy-tail metrics. Split from AuditReportV1.swift by concern.

public enum LayerStatus: String, Codable, Sendable, Equatable, CaseIterable {
    /// Metrics computed.
    case analyzed
    /// Deliberately not analysed (1-D tensors, optimizer state, integer buffers, pass-through layers).
    case skipped
    /// A kind of layer the tool cannot treat as an operator (attention, recurrent cells, …).
    case unsupported
    /// The weights contain NaN or ±Inf.
    case nonFinite = "non_finite"
}

/// One row per layer of the model (and per stray tensor that belongs to no layer).
public struct LayerReport: Codable, Sendable, Equatable {
    public var name: String
    /// `dense`, `conv1d`, `conv2d`, `conv3d`, `depthwise_conv2d` (a separable conv is two rows,
    /// `NAME/depthwise` and `NAME/pointwise`),
    /// `batch_norm`, `embedding`, `activation`, `pooling`, `add`, `concatenate`, `flatten`,
    /// `dropout`, `input`, `tensor` (a weight outside any known layer), `optimizer_state`, …
    public var kind: String
    /// Source tensor names exactly as `inspect` prints them.
    public var tensors: [String]
    public var status: LayerStatus
    public var reason: String?
    /// The operator's `[out, in]` (for conv: the `reshaped` matrix).
    public var shape: [Int]?
    /// How the stored array was turned into `[out, in]`, e.g. `in_out→transpose`.
    public var orientation: String?
    /// How the singular values were obtained: `gram_syevd`, `gesdd`, `lanczos_top_k`, …
    public var method: String?
    /// Claimed relative accuracy when `method` is approximate.
    public var methodTolerance: Double?
    public var metrics: SpectrumMetricsV1?
    /// WeightWatcher-compatible heavy-tail metrics (with `--heavy-tail`).
    public var heavyTail: HeavyTailV1?
    /// Conv layers: σ_max of the convolution as a linear map on its input.
    public var operatorNorm: Double?
    /// `fft_exact` (circular padding at `--input-shape`) or `upper_bound` (any input size).
    public var operatorNormMethod: String?
    public var groups: Int?
    /// The BatchNorm layer folded into this operator (`diag(s) A`), if any.
    public var foldedBatchNorm: String?
    /// The activation that follows this layer and its Lipschitz constant (SPEC §3).
    public var activation: String?
    public var activationLipschitz: Double?
    /// `ln σ_1 / ln L` (SPEC §4), when the network bound is available and L > 1.
    public var layerShare: Double?
    /// The full singular-value spectrum (descending), omitted with `--omit-spectra`.
    public var singularValues: [Double]?
    /// Conv layers with an exact operator spectrum: its singular values (descending).
    public var operatorSingularValues: [Double]?
    /// `--svd fast`: estimated absolute errors of the estimated metrics (about two standard
    /// errors of the stochastic estimate plus the quadrature change), by metric name, and the
    /// estimator's size (`probes`, `lanczos_steps`).
    public var estimateErrors: [String: Double]?
    /// Why a metric in `metrics` (or `heavy_tail`) is null, by field name (schema 2.0.0).
    public var nullReasons: [String: String]?
    // Issue 16 (AuditReportV1+Structure.swift): the folded view, guesses, recurrent gates.
    /// The operator with its BatchNorm folded in (`diag(s)·A`); `metrics` stay those of the
    /// tensor as stored. Products and bounds use this view.
    public var folded: FoldedViewV1?
    /// What the structure builder guessed about this layer (pairing, activation, flatten, …).
    public var guessed: [String]?
    /// Rows of one gate of a stacked recurrent matrix: the gate's label (`i`, `f`, `g`, `o`…).
    public var gate: String?

    public init(name: String, kind: String, tensors: [String], status: LayerStatus, reason: String? = nil) {
        self.name = name
        self.kind = kind
        self.tensors = tensors
        self.status = status
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, tensors, status, reason, shape, orientation, method
        case methodTolerance = "method_tolerance", metrics, heavyTail = "heavy_tail"
        case operatorNorm = "operator_norm", operatorNormMethod = "operator_norm_method", groups
        case foldedBatchNorm = "folded_batch_norm", activation, activationLipschitz = "activation_lipschitz"
        case layerShare = "layer_share", singularValues = "singular_values"
        case operatorSingularValues = "operator_singular_values"
        case estimateErrors = "estimate_errors"
        case nullReasons = "null_reasons"
        case folded, guessed, gate
    }
}

/// The per-operator metrics of SPEC §2, by their SPEC names. Optional fields are `null` when they
/// cannot be computed from the spectrum available (e.g. entropies from a top-k spectrum).
public struct SpectrumMetricsV1: Codable, Sendable, Equatable {
    /// `σ_1 · max(m, n) · ε`, ε = `Double.ulpOfOne` (2.22e-16, the epsilon of the float64
    /// computation, whatever the stored dtype): numpy's `matrix_rank` default tolerance.
    public var tol: Double
    /// `r = #{σ_i > tol}`. Nil when the spectrum is incomplete.
    public var rank: Int?
    /// `σ_1`, the worst-case gain `sup ‖Ax‖/‖x‖`.
    public var spectralNorm: Double
    /// `σ_r`, the smallest singular value above `tol`. Nil when r = 0 or incomplete.
    public var sigmaMin: Double?
    /// `σ_1 / σ_r`. Nil when r = 0 or incomplete.
    public var condition: Double?
    /// `sqrt(Σ σ_i²) = ‖A‖_F`.
    public var frobenius: Double?
    /// `Σ σ_i` (nuclear / trace norm).
    public var nuclear: Double?
    /// `Σ σ_i² / σ_1² = ‖A‖_F² / ‖A‖_2²` (0 when r = 0).
    public var stableRank: Double?
    /// `H = −Σ_{i≤r} p_i ln p_i`, `p_i = σ_i² / Σ_{j≤r} σ_j²`, in nats.
    public var spectralEntropy: Double?
    /// `H / ln r`, 0 when r ≤ 1. (WeightWatcher's `entropy` is this quantity.)
    public var normalizedEntropy: Double?
    /// `e^H` (0 when r = 0).
    public var effectiveRank: Double?
    /// Roy–Vetterli (2007) effective rank `exp(−Σ_{i≤r} q_i ln q_i)`, `q_i = σ_i / Σ_{j≤r} σ_j`.
    public var erankRV: Double?
    /// `‖A‖_F / sqrt(n)`: the RMS gain `sqrt(E‖Aδ‖²)` over isotropic unit δ.
    public var typicalGain: Double?
    /// `σ_1 · sqrt(e^H / n)`: `typical_gain ≤ entropy_bound ≤ σ_1 · sqrt(r/n)`.
    public var entropyBound: Double?

    public init(tol: Double, rank: Int?, spectralNorm: Double, sigmaMin: Double? = nil, condition: Double? = nil,
                frobenius: Double? = nil, nuclear: Double? = nil, stableRank: Double? = nil,
                spectralEntropy: Double? = nil, normalizedEntropy: Double? = nil, effectiveRank: Double? = nil,
                erankRV: Double? = nil, typicalGain: Double? = nil, entropyBound: Double? = nil) {
        self.tol = tol
        self.rank = rank
        self.spectralNorm = spectralNorm
        self.sigmaMin = sigmaMin
        self.condition = condition
        self.frobenius = frobenius
        self.nuclear = nuclear
        self.stableRank = stableRank
        self.spectralEntropy = spectralEntropy
        self.normalizedEntropy = normalizedEntropy
        self.effectiveRank = effectiveRank
        self.erankRV = erankRV
        self.typicalGain = typicalGain
        self.entropyBound = entropyBound
    }

    enum CodingKeys: String, CodingKey {
        case tol, rank, spectralNorm = "spectral_norm", sigmaMin = "sigma_min", condition, frobenius, nuclear
        case stableRank = "stable_rank", spectralEntropy = "spectral_entropy"
        case normalizedEntropy = "normalized_entropy", effectiveRank = "effective_rank", erankRV = "erank_rv"
        case typicalGain = "typical_gain", entropyBound = "entropy_bound"
    }

    /// The metric named `name` (SPEC name), for policies and checks.
    public func value(named name: String) -> Double? {
        switch name {
        case "tol": return tol
        case "rank": return rank.map(Double.init)
        case "spectral_norm": return spectralNorm
        case "sigma_min": return sigmaMin
        case "condition": return condition
        case "frobenius": return frobenius
        case "nuclear": return nuclear
        case "stable_rank": return stableRank
        case "spectral_entropy": return spectralEntropy
        case "normalized_entropy": return normalizedEntropy
        case "effective_rank": return effectiveRank
        case "erank_rv": return erankRV
        case "typical_gain": return typicalGain
        case "entropy_bound": return entropyBound
        default: return nil
        }
    }

    public static let names = ["tol", "rank", "spectral_norm", "sigma_min", "condition", "frobenius", "nuclear",
                               "stable_rank", "spectral_entropy", "normalized_entropy", "effective_rank",
                               "erank_rv", "typical_gain", "entropy_bound"]
}

public struct HeavyTailV1: Codable, Sendable, Equatable {
    public var wwAlpha: Double?
    public var wwAlphaWeighted: Double?
    public var wwXmin: Double?
    public var wwKSDistance: Double?
    public var mpBulkEdge: Double?
    public var mpSpikes: Int?

    public init(wwAlpha: Double?, wwAlphaWeighted: Double?, wwXmin: Double?, wwKSDistance: Double?,
                mpBulkEdge: Double?, mpSpikes: Int?) {
        self.wwAlpha = wwAlpha
        self.wwAlphaWeighted = wwAlphaWeighted
        self.wwXmin = wwXmin
        self.wwKSDistance = wwKSDistance
        self.mpBulkEdge = mpBulkEdge
        self.mpSpikes = mpSpikes
    }

    enum CodingKeys: String, CodingKey {
        case wwAlpha = "ww_alpha", wwAlphaWeighted = "ww_alpha_weighted", wwXmin = "ww_xmin"
        case wwKSDistance = "ww_ks_distance", mpBulkEdge = "ww_mp_bulk_edge", mpSpikes = "ww_mp_spikes"
    }
}
