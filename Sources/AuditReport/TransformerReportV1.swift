/// The `transformer` section of a report: present when the structure came from a Hugging Face
/// `config.json` of a family spectral-audit reads (BERT, GPT-2, Llama families). Every bound in it
/// is local: it holds on `domain`, which is printed beside it in every output.
public struct TransformerReportV1: Codable, Sendable, Equatable {
    /// `bert`, `gpt2` or `llama`.
    public var family: String
    /// The config's `model_type`, e.g. `roberta`, `qwen2`.
    public var modelType: String
    /// The `config.json` the structure was read from.
    public var config: String
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var keyValueHeads: Int
    public var headDim: Int
    public var activation: String
    public var rotary: Bool
    public var domain: TransformerDomainV1
    public var attentionHeads: [AttentionHeadV1]
    public var norms: [NormReportV1]
    public var blocks: [BlockBoundV1]
    /// Local Lipschitz bound of input embeddings → last hidden state on `domain`; `null` with `reason`.
    public var networkBound: Double?
    public var log10NetworkBound: Double?
    public var reason: String?
    /// Data mode on probes (`--probe`), nil without probes.
    public var data: TransformerDataV1? = nil
    /// The task head the config names (weights-only bound to the logits), nil for a base model.
    public var head: TransformerHeadV1? = nil

    public init(family: String, modelType: String, config: String, hiddenSize: Int, layers: Int, heads: Int,
                keyValueHeads: Int, headDim: Int, activation: String, rotary: Bool, domain: TransformerDomainV1,
                attentionHeads: [AttentionHeadV1], norms: [NormReportV1], blocks: [BlockBoundV1],
                networkBound: Double?, log10NetworkBound: Double?, reason: String?) {
        self.family = family; self.modelType = modelType; self.config = config; self.hiddenSize = hiddenSize
        self.layers = layers; self.heads = heads; self.keyValueHeads = keyValueHeads; self.headDim = headDim
        self.activation = activation; self.rotary = rotary; self.domain = domain; self.attentionHeads = attentionHeads
        self.norms = norms; self.blocks = blocks; self.networkBound = networkBound
        self.log10NetworkBound = log10NetworkBound; self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case family, modelType = "model_type", config, hiddenSize = "hidden_size", layers, heads
        case keyValueHeads = "key_value_heads", headDim = "head_dim", activation, rotary, domain
        case attentionHeads = "attention_heads", norms, blocks, networkBound = "network_bound"
        case log10NetworkBound = "log10_network_bound", reason
        case data
        case head
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(family, forKey: .family)
        try c.encode(modelType, forKey: .modelType)
        try c.encode(config, forKey: .config)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(layers, forKey: .layers)
        try c.encode(heads, forKey: .heads)
        try c.encode(keyValueHeads, forKey: .keyValueHeads)
        try c.encode(headDim, forKey: .headDim)
        try c.encode(activation, forKey: .activation)
        try c.encode(rotary, forKey: .rotary)
        try c.encode(domain, forKey: .domain)
        try c.encode(attentionHeads, forKey: .attentionHeads)
        try c.encode(norms, forKey: .norms)
        try c.encode(blocks, forKey: .blocks)
        try c.encode(networkBound.finiteOrNil, forKey: .networkBound)
        try c.encode(log10NetworkBound.finiteOrNil, forKey: .log10NetworkBound)
        try c.encode(reason, forKey: .reason)
        try c.encodeIfPresent(data, forKey: .data)
        try c.encodeIfPresent(head, forKey: .head)
    }
}

/// Where the local bounds hold: sequences of at most `sequence_length` tokens whose every
/// normalisation input has per-token scale (LayerNorm: standard deviation; RMSNorm: root mean
/// square) at least `norm_input_scale`.
public struct TransformerDomainV1: Codable, Sendable, Equatable {
    public var sequenceLength: Int
    public var normInputScale: Double
    /// Where each value came from: `config` (max_position_embeddings), `default`, `flag`.
    public var sequenceLengthSource: String
    public var normInputScaleSource: String

    public init(sequenceLength: Int, normInputScale: Double, sequenceLengthSource: String, normInputScaleSource: String) {
        self.sequenceLength = sequenceLength
        self.normInputScale = normInputScale
        self.sequenceLengthSource = sequenceLengthSource
        self.normInputScaleSource = normInputScaleSource
    }

    enum CodingKeys: String, CodingKey {
        case sequenceLength = "sequence_length", normInputScale = "norm_input_scale"
        case sequenceLengthSource = "sequence_length_source", normInputScaleSource = "norm_input_scale_source"
    }

    /// `n ≤ 512 tokens, norm-input scale ≥ 1`.
    public var summary: String {
        "n ≤ \(sequenceLength) tokens, norm-input scale ≥ \(normInputScale)"
    }
}

/// One attention head: its QK bilinear form `W_Q^hᵀ W_K^h / √d_h` and OV map `W_O^h W_V^h`.
public struct AttentionHeadV1: Codable, Sendable, Equatable {
    public var layer: Int
    public var head: Int
    public var keyValueHead: Int
    public var qk: SpectrumMetricsV1
    public var ov: SpectrumMetricsV1
    /// The d_h leading singular values (the rest are zero: rank ≤ d_h); omitted with `--omit-spectra`.
    public var qkSingularValues: [Double]?
    public var ovSingularValues: [Double]?
    /// The head's local Lipschitz bound on the domain.
    public var bound: Double?

    public init(layer: Int, head: Int, keyValueHead: Int, qk: SpectrumMetricsV1, ov: SpectrumMetricsV1,
                qkSingularValues: [Double]?, ovSingularValues: [Double]?, bound: Double?) {
        self.layer = layer; self.head = head; self.keyValueHead = keyValueHead; self.qk = qk; self.ov = ov
        self.qkSingularValues = qkSingularValues; self.ovSingularValues = ovSingularValues; self.bound = bound
    }

    enum CodingKeys: String, CodingKey {
        case layer, head, keyValueHead = "key_value_head", qk, ov
        case qkSingularValues = "qk_singular_values", ovSingularValues = "ov_singular_values", bound
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(layer, forKey: .layer)
        try c.encode(head, forKey: .head)
        try c.encode(keyValueHead, forKey: .keyValueHead)
        try c.encode(qk, forKey: .qk)
        try c.encode(ov, forKey: .ov)
        try c.encode(qkSingularValues, forKey: .qkSingularValues)
        try c.encode(ovSingularValues, forKey: .ovSingularValues)
        try c.encode(bound.finiteOrNil, forKey: .bound)
    }
}

/// A LayerNorm or RMSNorm: gain statistics and its local Lipschitz constant on the domain.
public struct NormReportV1: Codable, Sendable, Equatable {
    public var name: String
    /// `layer_norm` or `rms_norm`.
    public var kind: String
    public var maxAbsGamma: Double
    public var betaNorm: Double
    public var epsilon: Double
    /// Features with `|γ_i| > 6 · median|γ|`.
    public var outlierDimensions: [Int]
    /// `max|γ| / √(s² + ε)`, s the domain's norm-input scale.
    public var lipschitz: Double

    public init(name: String, kind: String, maxAbsGamma: Double, betaNorm: Double, epsilon: Double,
                outlierDimensions: [Int], lipschitz: Double) {
        self.name = name; self.kind = kind; self.maxAbsGamma = maxAbsGamma; self.betaNorm = betaNorm
        self.epsilon = epsilon; self.outlierDimensions = outlierDimensions; self.lipschitz = lipschitz
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, maxAbsGamma = "max_abs_gamma", betaNorm = "beta_norm", epsilon
        case outlierDimensions = "outlier_dimensions", lipschitz
    }
}

/// Local bounds of one block's sublayers and of the whole block (with its residuals and norms).
public struct BlockBoundV1: Codable, Sendable, Equatable {
    public var index: Int
    public var attentionBound: Double?
    /// `null` when the MLP activation has no known Lipschitz constant (see the section's `reason`).
    public var mlpBound: Double?
    /// `global` (an ungated MLP: ‖W_down‖·Lip(φ)·‖W_up‖) or `local` (a gated MLP, on its norm's output).
    public var mlpBoundKind: String
    public var blockBound: Double?

    public init(index: Int, attentionBound: Double?, mlpBound: Double?, mlpBoundKind: String, blockBound: Double?) {
        self.index = index; self.attentionBound = attentionBound; self.mlpBound = mlpBound
        self.mlpBoundKind = mlpBoundKind; self.blockBound = blockBound
    }

    enum CodingKeys: String, CodingKey {
        case index, attentionBound = "attention_bound", mlpBound = "mlp_bound", mlpBoundKind = "mlp_bound_kind"
        case blockBound = "block_bound"
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(index, forKey: .index)
        try c.encode(attentionBound.finiteOrNil, forKey: .attentionBound)
        try c.encode(mlpBound.finiteOrNil, forKey: .mlpBound)
        try c.encode(mlpBoundKind, forKey: .mlpBoundKind)
        try c.encode(blockBound.finiteOrNil, forKey: .blockBound)
    }
}
