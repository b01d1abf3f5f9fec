// Partial audits (`--shard`) and the data-mode section of the report contract. Split from
// AuditReportV1.swift by concern.

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
    /// Issue 19: per recurrent direction, the measured one-step state maps (absent without
    /// recurrent layers).
    public var recurrentTrajectory: [RecurrentTrajectoryV1]?
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
        case recurrentTrajectory = "recurrent_trajectory"
    }
}
