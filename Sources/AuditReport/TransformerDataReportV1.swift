/// The transformer data mode (`--probe` on a Hugging Face transformer folder): the Jacobian of the
/// last hidden state with respect to the input embeddings at each probe, measured matrix-free, beside
/// the local bound on the domain the probes actually met (spectral-audit-metrics(7),
/// "Transformers: data mode").
public struct TransformerDataV1: Codable, Sendable, Equatable {
    /// `token_ids` (`[N, n]` integers, looked up in the word embeddings) or `embeddings` (`[N, n, d]`).
    public var probeKind: String
    public var probes: Int
    public var sequenceLength: Int
    /// The `--attention-mask` file (`[N, n]`, 1 keep / 0 padding), nil when none.
    public var attentionMask: String?
    public var measuredDomain: MeasuredTransformerDomainV1
    /// Local bound of input embeddings → last hidden state on `measured_domain` (every block's bound
    /// with its measured input row norms and norm-input scales, n = sequence_length); nil with `reason`.
    public var networkBound: Double?
    public var log10NetworkBound: Double?
    /// σ_max of ∂(last hidden state)/∂(input embeddings), `(n·d)×(n·d)`, per probe (Golub–Kahan–Lanczos
    /// on JVP/VJP products), with the Lanczos residual r (σ_max ∈ [value, value + r]) and products used.
    public var jacobianNorms: [Double]
    public var jacobianResiduals: [Double]
    public var lanczosIterations: [Int]
    /// σ_max of ∂(last hidden state)/∂θ per probe (θ: every weight, bias, norm gain and position
    /// embedding the function uses; not the word embeddings, which are its input).
    public var parameterJacobianNorms: [Double]
    /// `network_bound ≥ max jacobian_norms` (must hold: the bound is a theorem on this domain).
    public var boundHolds: Bool?
    public var reason: String?
    /// How the per-probe entropy and τ of ∂h/∂x (report `data.per_sample`) were computed: `exact`
    /// (J formed, LAPACK) or `slq` (stochastic Lanczos quadrature on JᵀJ); nil in older reports.
    public var jacobianSpectrumMethod: String? = nil
    /// Stated error per probe of those estimates (two standard errors of the SLQ probe means; 0 exact).
    public var jacobianEntropyErrors: [Double]? = nil
    public var tauErrors: [Double]? = nil
    /// SLQ only, per probe: the Gauss/Gauss–Radau quadrature half-width included in
    /// `jacobianEntropyErrors` (whose value is two standard errors + this), and the Lanczos steps
    /// the stopping rule took. nil for exact spectra and in older reports (whose SLQ errors were
    /// the two standard errors alone, around the Gauss value).
    public var jacobianEntropyQuadratureErrors: [Double]? = nil
    public var jacobianSLQSteps: [Int]? = nil
    /// Which output was differentiated (last hidden state or a head's logits), position ids, labels.
    public var output: TransformerOutputV1? = nil

    public init(probeKind: String, probes: Int, sequenceLength: Int, attentionMask: String?,
                measuredDomain: MeasuredTransformerDomainV1, networkBound: Double?, log10NetworkBound: Double?,
                jacobianNorms: [Double], jacobianResiduals: [Double], lanczosIterations: [Int],
                parameterJacobianNorms: [Double], boundHolds: Bool?, reason: String?) {
        self.probeKind = probeKind; self.probes = probes; self.sequenceLength = sequenceLength
        self.attentionMask = attentionMask; self.measuredDomain = measuredDomain; self.networkBound = networkBound
        self.log10NetworkBound = log10NetworkBound; self.jacobianNorms = jacobianNorms
        self.jacobianResiduals = jacobianResiduals; self.lanczosIterations = lanczosIterations
        self.parameterJacobianNorms = parameterJacobianNorms; self.boundHolds = boundHolds; self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case probeKind = "probe_kind", probes, sequenceLength = "sequence_length", attentionMask = "attention_mask"
        case measuredDomain = "measured_domain", networkBound = "network_bound", log10NetworkBound = "log10_network_bound"
        case jacobianNorms = "jacobian_norms", jacobianResiduals = "jacobian_residuals", lanczosIterations = "lanczos_iterations"
        case parameterJacobianNorms = "parameter_jacobian_norms", boundHolds = "bound_holds", reason
        case jacobianSpectrumMethod = "jacobian_spectrum_method", jacobianEntropyErrors = "jacobian_entropy_errors", tauErrors = "tau_errors"
        case output
        case jacobianEntropyQuadratureErrors = "jacobian_entropy_quadrature_errors", jacobianSLQSteps = "jacobian_slq_steps"
    }

    /// Every key is written (`null` when unknown), as elsewhere in the report.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(probeKind, forKey: .probeKind)
        try c.encode(probes, forKey: .probes)
        try c.encode(sequenceLength, forKey: .sequenceLength)
        try c.encode(attentionMask, forKey: .attentionMask)
        try c.encode(measuredDomain, forKey: .measuredDomain)
        try c.encode(networkBound.finiteOrNil, forKey: .networkBound)
        try c.encode(log10NetworkBound.finiteOrNil, forKey: .log10NetworkBound)
        try c.encode(jacobianNorms, forKey: .jacobianNorms)
        try c.encode(jacobianResiduals, forKey: .jacobianResiduals)
        try c.encode(lanczosIterations, forKey: .lanczosIterations)
        try c.encode(parameterJacobianNorms, forKey: .parameterJacobianNorms)
        try c.encode(boundHolds, forKey: .boundHolds)
        try c.encode(reason, forKey: .reason)
        try c.encodeIfPresent(jacobianSpectrumMethod, forKey: .jacobianSpectrumMethod)
        try c.encodeIfPresent(jacobianEntropyErrors, forKey: .jacobianEntropyErrors)
        try c.encodeIfPresent(tauErrors, forKey: .tauErrors)
        try c.encodeIfPresent(output, forKey: .output)
        try c.encodeIfPresent(jacobianEntropyQuadratureErrors, forKey: .jacobianEntropyQuadratureErrors)
        try c.encodeIfPresent(jacobianSLQSteps, forKey: .jacobianSLQSteps)
    }
}

/// What the probes met inside the network (over every probe and token).
public struct MeasuredTransformerDomainV1: Codable, Sendable, Equatable {
    public var sequenceLength: Int
    /// The smallest per-token scale (LayerNorm: standard deviation; RMSNorm: root mean square) at
    /// the input of each normalisation, by norm name.
    public var normInputScales: [String: Double]
    public var minNormInputScale: Double
    /// Per block: the largest row norm ‖x_k‖ at the attention's input, and ‖x_k − β‖ with β the
    /// bias of the norm that produced it (0 for RMSNorm).
    public var attentionInputRowNorms: [Double]
    public var attentionInputCentredRowNorms: [Double]

    public init(sequenceLength: Int, normInputScales: [String: Double], minNormInputScale: Double,
                attentionInputRowNorms: [Double], attentionInputCentredRowNorms: [Double]) {
        self.sequenceLength = sequenceLength; self.normInputScales = normInputScales
        self.minNormInputScale = minNormInputScale; self.attentionInputRowNorms = attentionInputRowNorms
        self.attentionInputCentredRowNorms = attentionInputCentredRowNorms
    }

    enum CodingKeys: String, CodingKey {
        case sequenceLength = "sequence_length", normInputScales = "norm_input_scales", minNormInputScale = "min_norm_input_scale"
        case attentionInputRowNorms = "attention_input_row_norms", attentionInputCentredRowNorms = "attention_input_centred_row_norms"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(sequenceLength, forKey: .sequenceLength)
        try c.encode(normInputScales.mapValues { $0.finiteOrNil }, forKey: .normInputScales)
        try c.encode(minNormInputScale.finiteOrNil, forKey: .minNormInputScale)
        try c.encode(attentionInputRowNorms.map { $0.finiteOrNil }, forKey: .attentionInputRowNorms)
        try c.encode(attentionInputCentredRowNorms.map { $0.finiteOrNil }, forKey: .attentionInputCentredRowNorms)
    }
}
