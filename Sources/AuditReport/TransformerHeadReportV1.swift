/// `transformer.head`: the task head of a Hugging Face folder (config `architectures`), weights-only.
public struct TransformerHeadV1: Codable, Sendable, Equatable {
    /// The config's architecture, e.g. `BertForSequenceClassification`.
    public var architecture: String
    /// `sequence_classification`, `masked_lm` or `causal_lm`; nil when the head is not reproduced.
    public var kind: String?
    /// Logits per position (LM heads: the vocabulary) or per sequence (classification).
    public var outputs: Int?
    /// The decoder / lm_head is the word-embedding matrix (tied).
    public var tiedToEmbeddings: Bool?
    /// The head's local Lipschitz constant on the section's domain (its LayerNorm, if any, on the
    /// domain's norm-input scale).
    public var bound: Double?
    /// `network_bound · bound`: input embeddings → logits on the domain.
    public var networkBound: Double?
    /// Why the head is not reproduced or has no bound.
    public var reason: String?

    public init(architecture: String, kind: String?, outputs: Int?, tiedToEmbeddings: Bool?, bound: Double?,
                networkBound: Double?, reason: String?) {
        self.architecture = architecture; self.kind = kind; self.outputs = outputs; self.tiedToEmbeddings = tiedToEmbeddings
        self.bound = bound; self.networkBound = networkBound; self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case architecture, kind, outputs, tiedToEmbeddings = "tied_to_embeddings", bound, networkBound = "network_bound", reason
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(kind, forKey: .kind)
        try c.encode(outputs, forKey: .outputs)
        try c.encode(tiedToEmbeddings, forKey: .tiedToEmbeddings)
        try c.encode(bound.finiteOrNil, forKey: .bound)
        try c.encode(networkBound.finiteOrNil, forKey: .networkBound)
        try c.encode(reason, forKey: .reason)
    }
}

/// `transformer.data.output`: which output the data mode differentiated, the position ids it
/// used, and (with `--labels`) the loss and its Hessian extremes.
public struct TransformerOutputV1: Codable, Sendable, Equatable {
    /// `last_hidden_state` or `logits`.
    public var kind: String
    /// The head's architecture when `kind` is `logits`.
    public var architecture: String?
    /// What the output is, in words.
    public var description: String
    /// Output values per probe (rows of each Jacobian).
    public var dimension: Int
    /// Why the head (when the config names one) is not the output.
    public var headReason: String?
    /// The head's Lipschitz constant on the measured domain (its factor in `network_bound`).
    public var headBound: Double?
    /// Position ids every probe used (RoBERTa family: from the padding id), nil for 0 … n−1 or
    /// when the probes' ids differ (then `probePositionIds`).
    public var positionIds: [Int]?
    public var labels: TransformerLabelsV1?
    /// RoBERTa family: each probe's own position ids (`[N][n]`); nil for 0 … n−1.
    public var probePositionIds: [[Int]]? = nil
    /// Last-token sequence-classification heads: the position each probe's logits read; nil otherwise.
    public var readPositions: [Int]? = nil

    public init(kind: String, architecture: String?, description: String, dimension: Int, headReason: String?,
                headBound: Double?, positionIds: [Int]?, labels: TransformerLabelsV1?) {
        self.kind = kind; self.architecture = architecture; self.description = description; self.dimension = dimension
        self.headReason = headReason; self.headBound = headBound; self.positionIds = positionIds; self.labels = labels
    }

    enum CodingKeys: String, CodingKey {
        case kind, architecture, description, dimension, headReason = "head_reason", headBound = "head_bound"
        case positionIds = "position_ids", labels
        case probePositionIds = "probe_position_ids", readPositions = "read_positions"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(kind, forKey: .kind)
        try c.encode(architecture, forKey: .architecture)
        try c.encode(description, forKey: .description)
        try c.encode(dimension, forKey: .dimension)
        try c.encode(headReason, forKey: .headReason)
        try c.encode(headBound.finiteOrNil, forKey: .headBound)
        try c.encode(positionIds, forKey: .positionIds)
        try c.encode(labels, forKey: .labels)
        try c.encodeIfPresent(probePositionIds, forKey: .probePositionIds)
        try c.encodeIfPresent(readPositions, forKey: .readPositions)
    }
}

/// The loss on `--labels` (cross-entropy as the model computes it with `labels=`) and the extremes
/// of its Hessian w.r.t. θ by Lanczos on exact Hessian–vector products, with error estimates.
public struct TransformerLabelsV1: Codable, Sendable, Equatable {
    public var path: String
    public var loss: Double
    /// Scored rows (targets not -100; causal LMs: after the shift).
    public var scored: Int
    public var hessianLambdaMax: Double
    public var hessianLambdaMin: Double
    public var hessianErrorMax: Double
    public var hessianErrorMin: Double
    public var hessianProducts: Int
    public var converged: Bool

    public init(path: String, loss: Double, scored: Int, hessianLambdaMax: Double, hessianLambdaMin: Double,
                hessianErrorMax: Double, hessianErrorMin: Double, hessianProducts: Int, converged: Bool) {
        self.path = path; self.loss = loss; self.scored = scored; self.hessianLambdaMax = hessianLambdaMax
        self.hessianLambdaMin = hessianLambdaMin; self.hessianErrorMax = hessianErrorMax; self.hessianErrorMin = hessianErrorMin
        self.hessianProducts = hessianProducts; self.converged = converged
    }

    enum CodingKeys: String, CodingKey {
        case path, loss, scored, hessianLambdaMax = "hessian_lambda_max", hessianLambdaMin = "hessian_lambda_min"
        case hessianErrorMax = "hessian_error_max", hessianErrorMin = "hessian_error_min"
        case hessianProducts = "hessian_products", converged
    }
}
