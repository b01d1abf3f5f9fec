/// The audit report, version 1: the one type every output (text, JSON, JUnit, Markdown, GitHub
/// annotations, HTML, annotated HDF5) is rendered from. JSON field names are the SPEC.md names;
/// `schemas/audit-report.schema.json` is its JSON Schema and changes in the same commit.
///
/// Numbers that are not finite are never written: they are `null`, and the object that holds
/// them says why (`reason`).
public struct AuditReportV1: Codable, Sendable, Equatable {
    public var schemaVersion: String = ReportVersion.schemaVersion
    public var definitions: String = ReportVersion.definitions
    public var tool: ToolInfo = ToolInfo()
    /// ISO 8601 UTC time of the run; omitted with `--no-timestamps`.
    public var created: String?
    public var input: InputInfo
    public var settings: Settings
    public var layers: [LayerReport]
    public var network: NetworkReport
    /// The Global Matrix Stability Index (SPEC §4, §5); `null` when unavailable (`gmsi_reason`).
    public var gmsi: Double?
    /// `weights` (from weights alone) or `data` (measured on probe inputs).
    public var gmsiMode: String
    public var gmsiComponents: [String: Double?]
    public var gmsiReason: String?
    /// Data-dependent measurements (SPEC §5), present with `--probe`.
    public var data: DataReport?
    public var checks: [Check]
    public var verdict: Verdict
    /// Things the tool assumed because the file did not say (e.g. activations).
    public var assumptions: [String]
    /// Partial audits (`--shard I/N`) say which part they hold.
    public var shard: ShardInfo?
    /// Transformers whose structure came from a Hugging Face `config.json`: per-head spectra and
    /// local bounds on a stated domain.
    public var transformer: TransformerReportV1?

    // MARK: Added in schema 2.0.0 (issue 15: one meaning per gate, no silent gates)
    /// The data-mode aggregate of SPEC §5 (`--probe`), judged by `--data-threshold` (check
    /// `data_gmsi.threshold`); never replaces `gmsi`. Absent without probes; `null` when no
    /// component could be measured (`data_gmsi_reason`).
    public var dataGmsi: Double?
    /// The components that went into `data_gmsi` (`g_J`, `g_theta`, `sqrt_g_K`, `sqrt_g_H`).
    public var dataGmsiComponents: [String: Double?]?
    /// Why a component of `data_gmsi` is null, by component name.
    public var dataGmsiNullReasons: [String: String]?
    public var dataGmsiReason: String?
    /// `max` (default) or `sum` (`--gmsi-aggregate`).
    public var dataGmsiAggregate: String?
    /// Things the reader must know to trust the verdict: baselines that cannot be compared,
    /// optional policy rules that matched no layer. Omitted when empty.
    public var warnings: [String]?
    /// `--base BASE` / LoRA adapters: what changed against the base (DeltaReportV1.swift).
    public var delta: DeltaReport?

    public init(created: String? = nil, input: InputInfo, settings: Settings, layers: [LayerReport],
                network: NetworkReport, gmsi: Double?, gmsiMode: String, gmsiComponents: [String: Double?],
                gmsiReason: String?, data: DataReport? = nil, checks: [Check], verdict: Verdict,
                assumptions: [String], shard: ShardInfo? = nil) {
        self.created = created
        self.input = input
        self.settings = settings
        self.layers = layers
        self.network = network
        self.gmsi = gmsi
        self.gmsiMode = gmsiMode
        self.gmsiComponents = gmsiComponents
        self.gmsiReason = gmsiReason
        self.data = data
        self.checks = checks
        self.verdict = verdict
        self.assumptions = assumptions
        self.shard = shard
    }

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version", definitions, tool, created, input, settings, layers, network, gmsi
        case gmsiMode = "gmsi_mode", gmsiComponents = "gmsi_components", gmsiReason = "gmsi_reason"
        case data, checks, verdict, assumptions, shard
        case transformer
        case dataGmsi = "data_gmsi", dataGmsiComponents = "data_gmsi_components"
        case dataGmsiNullReasons = "data_gmsi_null_reasons", dataGmsiReason = "data_gmsi_reason"
        case dataGmsiAggregate = "data_gmsi_aggregate", warnings
        case delta
    }

    /// Failed checks, in report order.
    public var failedChecks: [Check] { checks.filter { !$0.passed } }
}

public struct ToolInfo: Codable, Sendable, Equatable {
    public var name: String = ReportVersion.toolName
    public var version: String = ReportVersion.toolVersion
    public init() {}
}

public struct InputInfo: Codable, Sendable, Equatable {
    public var path: String
    /// `npy`, `npz`, `safetensors`, `safetensors_sharded`, `hdf5`, `keras_h5`, `keras_weights_h5`, `keras_zip`.
    public var format: String
    public var sha256: String
    public var bytes: Int
    /// Where the network structure came from: `keras_config`, `manifest`, `inferred`, `hf_config`,
    /// `onnx_graph`, `gguf_tensors`.
    public var architectureSource: String

    public init(path: String, format: String, sha256: String, bytes: Int, architectureSource: String) {
        self.path = path
        self.format = format
        self.sha256 = sha256
        self.bytes = bytes
        self.architectureSource = architectureSource
    }

    enum CodingKeys: String, CodingKey {
        case path, format, sha256, bytes, architectureSource = "architecture_source"
    }
}

/// The options that change numbers, recorded so a report explains itself.
public struct Settings: Codable, Sendable, Equatable {
    /// `gram` (default), `exact` (gesdd), `topk:K`.
    public var svd: String
    public var threshold: Double?
    public var policy: String?
    public var baseline: String?
    public var maxIncreasePercent: Double?
    /// Input size used for exact convolution spectra (`--input-shape`), if given.
    public var inputShape: [Int]?
    public var heavyTail: Bool
    public var seed: UInt64
    /// `--data-threshold` (schema 2.0.0).
    public var dataThreshold: Double?

    public init(svd: String = "gram", threshold: Double? = nil, policy: String? = nil, baseline: String? = nil,
                maxIncreasePercent: Double? = nil, inputShape: [Int]? = nil, heavyTail: Bool = false, seed: UInt64 = 0) {
        self.svd = svd
        self.threshold = threshold
        self.policy = policy
        self.baseline = baseline
        self.maxIncreasePercent = maxIncreasePercent
        self.inputShape = inputShape
        self.heavyTail = heavyTail
        self.seed = seed
    }

    enum CodingKeys: String, CodingKey {
        case svd, threshold, policy, baseline, maxIncreasePercent = "max_increase_percent"
        case inputShape = "input_shape", heavyTail = "heavy_tail", seed
        case dataThreshold = "data_threshold"
    }
}

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

/// One factor of the network-level product (SPEC §4).
public struct ChainFactor: Codable, Sendable, Equatable {
    /// The layer it comes from.
    public var layer: String
    /// `operator` (σ_1), `activation` (Lip φ), `pooling`, `residual` (1 + Lip F), `concatenate`.
    public var kind: String
    /// The factor itself (≥ 0).
    public var value: Double

    public init(layer: String, kind: String, value: Double) {
        self.layer = layer
        self.kind = kind
        self.value = value
    }
}

/// Network-level bounds from weights alone (SPEC §4).
public struct NetworkReport: Codable, Sendable, Equatable {
    /// `L = Π σ_1(A_l) · Π Lip(φ_l)`; `null` when unavailable or beyond Float64 (then use the log).
    public var lipschitzBound: Double?
    public var log10LipschitzBound: Double?
    /// `T = L · sqrt(min_k e^{H(A_k)} / d)`.
    public var typicalBound: Double?
    /// The same with `stable_rank` in place of `e^H` (tighter).
    public var typicalBoundStableRank: Double?
    /// Input dimension `d` used in the typical bounds.
    public var inputDimension: Int?
    /// The factors in input-to-output order (for graphs: the factors along the critical path;
    /// branches are summarised by their combined factor).
    public var chain: [ChainFactor]
    /// Why the bound is unavailable, when it is.
    public var reason: String?
    /// Why `typical_bound`/`typical_bound_stable_rank`/`input_dimension` are null while the
    /// Lipschitz bound is available (schema 2.0.0).
    public var typicalBoundReason: String?
    /// Issue 16: the structure's provenance and its guesses.
    public var structure: StructureReportV1?

    public init(lipschitzBound: Double? = nil, log10LipschitzBound: Double? = nil, typicalBound: Double? = nil,
                typicalBoundStableRank: Double? = nil, inputDimension: Int? = nil, chain: [ChainFactor] = [],
                reason: String? = nil) {
        self.lipschitzBound = lipschitzBound
        self.log10LipschitzBound = log10LipschitzBound
        self.typicalBound = typicalBound
        self.typicalBoundStableRank = typicalBoundStableRank
        self.inputDimension = inputDimension
        self.chain = chain
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case lipschitzBound = "lipschitz_bound", log10LipschitzBound = "log10_lipschitz_bound"
        case typicalBound = "typical_bound", typicalBoundStableRank = "typical_bound_stable_rank"
        case inputDimension = "input_dimension", chain, reason
        case typicalBoundReason = "typical_bound_reason"
        case structure
    }
}

/// One verdict-relevant comparison.
public struct Check: Codable, Sendable, Equatable {
    /// Stable identifier, e.g. `gmsi.threshold`, `policy.layer.spectral_norm_max`, `layer.finite`,
    /// `baseline.gmsi`.
    public var id: String
    /// The layer checked, or `null` for network-level checks.
    public var layer: String?
    public var metric: String
    public var value: Double?
    public var limit: Double?
    /// `<=` (value must not exceed limit), `>=`, or `finite`.
    public var comparison: String
    public var passed: Bool
    public var message: String

    public init(id: String, layer: String?, metric: String, value: Double?, limit: Double?, comparison: String,
                passed: Bool, message: String) {
        self.id = id
        self.layer = layer
        self.metric = metric
        self.value = value
        self.limit = limit
        self.comparison = comparison
        self.passed = passed
        self.message = message
    }
}

public enum Verdict: String, Codable, Sendable, Equatable {
    case pass
    case fail
}

public struct ShardInfo: Codable, Sendable, Equatable {
    public var index: Int
    public var count: Int
    /// What `spectral-audit merge` needs besides the rows: the audit options that are not in
    /// `settings`, and the per-node inputs of the network bound computed by this shard.
    public var arch: String?
    public var allowUnavailable: Bool?
    public var bounds: [ShardBoundInput]?

    public init(index: Int, count: Int, arch: String? = nil, allowUnavailable: Bool? = nil,
                bounds: [ShardBoundInput]? = nil) {
        self.index = index
        self.count = count
        self.arch = arch
        self.allowUnavailable = allowUnavailable
        self.bounds = bounds
    }

    enum CodingKeys: String, CodingKey {
        case index, count, arch, allowUnavailable = "allow_unavailable", bounds
    }
}

/// One graph node's contribution to the network bound, as a partial audit computed it.
public struct ShardBoundInput: Codable, Sendable, Equatable {
    /// Node index in the model's graph, and its name (checked by the merge).
    public var node: Int
    public var layer: String
    /// Operator factor: σ used in the product, `e^H`, stable rank.
    public var sigma: Double?
    public var effectiveRank: Double?
    public var stableRank: Double?
    /// BatchNorm (unfolded) or PReLU Lipschitz factor.
    public var extraLipschitz: Double?
    /// Why this node breaks the network bound.
    public var broken: String?

    public init(node: Int, layer: String, sigma: Double? = nil, effectiveRank: Double? = nil, stableRank: Double? = nil,
                extraLipschitz: Double? = nil, broken: String? = nil) {
        self.node = node
        self.layer = layer
        self.sigma = sigma
        self.effectiveRank = effectiveRank
        self.stableRank = stableRank
        self.extraLipschitz = extraLipschitz
        self.broken = broken
    }

    enum CodingKeys: String, CodingKey {
        case node, layer, sigma, effectiveRank = "effective_rank", stableRank = "stable_rank"
        case extraLipschitz = "extra_lipschitz", broken
    }
}

/// Data-dependent measurements with probe inputs (SPEC §5).
public struct DataReport: Codable, Sendable, Equatable {
    public var probeCount: Int
    public var probePath: String
    public var labelsPath: String?
    public var loss: String?
    /// `max_i ‖J_f(x_i)‖_2`, with mean and 95th percentile.
    public var gJ: Double?
    public var gJMean: Double?
    public var gJP95: Double?
    public var gTheta: Double?
    /// `λ_max(K_S / N)` of the NTK Gram.
    public var gK: Double?
    public var ntkLambdaMin: Double?
    public var ntkCondition: Double?
    /// `max(|λ_max|, |λ_min|)` of the loss Hessian; `null` without labels (`g_H_reason`).
    public var gH: Double?
    public var gHReason: String?
    public var hessianLambdaMax: Double?
    public var hessianLambdaMin: Double?
    public var gaussNewtonLambdaMax: Double?
    /// `lipschitz_bound / g_J`: how loose the weights-only bound is on these inputs.
    public var boundRatio: Double?
    public var attributionInstabilityMean: Double?
    public var attributionInstabilityMax: Double?
    public var attributionEpsilon: Double?
    public var seed: UInt64
    /// Per-sample arrays behind the summaries.
    public var perSample: PerSample

    public struct PerSample: Codable, Sendable, Equatable {
        public var jacobianNorm: [Double]
        public var jacobianEntropy: [Double]
        public var tau: [Double]
        public var parameterGradientNorm: [Double]
        public var attributionInstability: [Double]

        public init(jacobianNorm: [Double] = [], jacobianEntropy: [Double] = [], tau: [Double] = [],
                    parameterGradientNorm: [Double] = [], attributionInstability: [Double] = []) {
            self.jacobianNorm = jacobianNorm
            self.jacobianEntropy = jacobianEntropy
            self.tau = tau
            self.parameterGradientNorm = parameterGradientNorm
            self.attributionInstability = attributionInstability
        }

        enum CodingKeys: String, CodingKey {
            case jacobianNorm = "jacobian_norm", jacobianEntropy = "jacobian_entropy", tau
            case parameterGradientNorm = "parameter_gradient_norm", attributionInstability = "attribution_instability"
        }
    }

    public init(probeCount: Int, probePath: String, labelsPath: String?, loss: String?, seed: UInt64,
                perSample: PerSample) {
        self.probeCount = probeCount
        self.probePath = probePath
        self.labelsPath = labelsPath
        self.loss = loss
        self.seed = seed
        self.perSample = perSample
    }

    enum CodingKeys: String, CodingKey {
        case probeCount = "probe_count", probePath = "probe_path", labelsPath = "labels_path", loss
        case gJ = "g_J", gJMean = "g_J_mean", gJP95 = "g_J_p95", gTheta = "g_theta", gK = "g_K"
        case ntkLambdaMin = "ntk_lambda_min", ntkCondition = "ntk_condition", gH = "g_H", gHReason = "g_H_reason"
        case hessianLambdaMax = "hessian_lambda_max", hessianLambdaMin = "hessian_lambda_min"
        case gaussNewtonLambdaMax = "gauss_newton_lambda_max", boundRatio = "bound_ratio"
        case attributionInstabilityMean = "attribution_instability_mean"
        case attributionInstabilityMax = "attribution_instability_max", attributionEpsilon = "attribution_epsilon"
        case seed, perSample = "per_sample"
    }
}
