import WeightFiles

/// The transformer families whose structure is read from a Hugging Face `config.json`, and where
/// each family keeps its tensors (the names `save_pretrained` writes, with or without the task
/// model's prefix such as `bert.`, `transformer.` or `model.`).
public enum TransformerFamily: String, Sendable, Codable, CaseIterable {
    /// Post-LayerNorm encoder: BERT, RoBERTa, XLM-R, CamemBERT (incl. MiniLM checkpoints).
    case bert
    /// Pre-LayerNorm decoder with `Conv1D` weights stored `[in, out]` and a fused `c_attn`.
    case gpt2
    /// Pre-RMSNorm decoder with rotary positions, grouped-query attention and a SiLU-gated MLP:
    /// Llama, Mistral, Qwen2 (Qwen2 adds q/k/v biases).
    case llama

    /// The family of a config's `model_type`, nil for any other.
    public init?(modelType: String) {
        switch modelType.lowercased() {
        case "bert", "roberta", "xlm-roberta", "camembert": self = .bert
        case "gpt2": self = .gpt2
        case "llama", "mistral", "qwen2": self = .llama
        default: return nil
        }
    }

    /// The `model_type` values this tool reads, for messages.
    public static let supportedModelTypes = "bert, roberta, xlm-roberta, camembert, gpt2, llama, mistral, qwen2"
}

/// A normalisation layer: `γ` (and `β` for LayerNorm) by tensor name.
public struct NormTensors: Sendable, Equatable {
    public var name: String
    public var gamma: String
    public var beta: String?
    /// RMSNorm (no centering, no β) rather than LayerNorm.
    public var isRMS: Bool
}

/// One linear map stored as a tensor, with the way to read it as `y = W x`.
public struct LinearTensor: Sendable, Equatable {
    public var weight: String
    public var bias: String?
    /// GPT-2 `Conv1D` stores `[in, out]`: the operator is the transpose.
    public var storedInOut: Bool
    /// For a fused projection (GPT-2 `c_attn`): which third of the output rows (0 = Q, 1 = K,
    /// 2 = V); nil when the tensor is the whole projection.
    public var fusedPart: Int?
}

/// The tensors of one transformer block.
public struct TransformerBlockTensors: Sendable, Equatable {
    public var index: Int
    public var query: LinearTensor
    public var key: LinearTensor
    public var value: LinearTensor
    public var output: LinearTensor
    /// MLP: `down(act(up x))`, or `down(act(gate x) ⊙ up x)` when `gate` is set.
    public var up: LinearTensor
    public var gate: LinearTensor?
    public var down: LinearTensor
    /// Post-LN (BERT): `attentionNorm` follows the attention residual, `mlpNorm` the MLP's.
    /// Pre-LN (GPT-2, Llama): they precede the sublayers.
    public var attentionNorm: NormTensors
    public var mlpNorm: NormTensors
}

/// Where every tensor of a supported transformer lives, resolved against the file's names.
public struct TransformerLayout: Sendable, Equatable {
    public var family: TransformerFamily
    /// The name prefix of the backbone in this file (`""`, `"bert."`, `"model."`…).
    public var prefix: String
    /// BERT's LayerNorm after the embeddings (input side), GPT-2/Llama's final norm (output side).
    public var embeddingNorm: NormTensors?
    public var finalNorm: NormTensors?
    public var blocks: [TransformerBlockTensors]
    /// Every tensor name the layout uses (for "every tensor has a row" bookkeeping).
    public var tensorNames: Set<String>

    /// Resolves the layout of `config` over `names`; a one-line reason when a tensor the family
    /// needs is missing (the caller reports it; nothing is guessed).
    public static func resolve(_ config: HFModelConfig, names: Set<String>) -> Result<TransformerLayout, LayoutError> {
        guard let family = TransformerFamily(modelType: config.modelType) else {
            return .failure(LayoutError("model_type '\(config.modelType)' is not a family spectral-audit reads (\(TransformerFamily.supportedModelTypes))"))
        }
        if family == .llama, names.contains(GGUFNames.probe) {
            return resolveGGUF(config, names: names)
        }
        let probe: String
        switch family {
        case .bert: probe = "encoder.layer.0.attention.self.query.weight"
        case .gpt2: probe = "h.0.attn.c_attn.weight"
        case .llama: probe = "layers.0.self_attn.q_proj.weight"
        }
        guard let prefix = ["", "bert.", "roberta.", "model.", "transformer.", "encoder."].first(where: { names.contains($0 + probe) })
                ?? names.filter({ $0.hasSuffix(probe) }).map({ String($0.dropLast(probe.count)) }).min() else {
            return .failure(LayoutError("no tensor named '…\(probe)': the file does not hold a \(config.modelType) backbone as save_pretrained names it"))
        }
        var builder = Builder(prefix: prefix, names: names)
        return layoutResult {
            let blocks = try (0..<config.numLayers).map { try builder.block(family, $0) }
            var layout = TransformerLayout(family: family, prefix: prefix, embeddingNorm: nil, finalNorm: nil,
                                           blocks: blocks, tensorNames: [])
            switch family {
            case .bert: layout.embeddingNorm = try builder.norm("embeddings.LayerNorm", rms: false)
            case .gpt2: layout.finalNorm = try builder.norm("ln_f", rms: false)
            case .llama: layout.finalNorm = try builder.norm("norm", rms: true)
            }
            layout.tensorNames = builder.used
            return layout
        }
    }

    /// `body`'s layout, or its error as a `LayoutError`.
    private static func layoutResult(_ body: () throws -> TransformerLayout) -> Result<TransformerLayout, LayoutError> {
        do {
            return .success(try body())
        } catch let e as LayoutError {
            return .failure(e)
        } catch {
            return .failure(LayoutError("\(error)"))
        }
    }

    /// The same layout over llama.cpp's tensor names (a GGUF file; `GGUFNames`).
    private static func resolveGGUF(_ config: HFModelConfig, names: Set<String>) -> Result<TransformerLayout, LayoutError> {
        var builder = Builder(prefix: "", names: names)
        return layoutResult {
            var blocks: [TransformerBlockTensors] = []
            for l in 0..<config.numLayers {
                let p = "blk.\(l)."
                blocks.append(TransformerBlockTensors(
                    index: l, query: try builder.linear(p + "attn_q"), key: try builder.linear(p + "attn_k"),
                    value: try builder.linear(p + "attn_v"), output: try builder.linear(p + "attn_output"),
                    up: try builder.linear(p + "ffn_up"), gate: try builder.linear(p + "ffn_gate"),
                    down: try builder.linear(p + "ffn_down"),
                    attentionNorm: try builder.norm(p + "attn_norm", rms: true),
                    mlpNorm: try builder.norm(p + "ffn_norm", rms: true)))
            }
            var layout = TransformerLayout(family: .llama, prefix: "", embeddingNorm: nil,
                                           finalNorm: try builder.norm("output_norm", rms: true),
                                           blocks: blocks, tensorNames: [])
            layout.tensorNames = builder.used
            return layout
        }
    }

    public struct LayoutError: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    /// Name lookups with the family's alternatives (`weight`/`gamma`, `bias`/`beta`).
    private struct Builder {
        let prefix: String
        let names: Set<String>
        var used: Set<String> = []

        mutating func find(_ stem: String, _ leaves: [String], required: Bool = true) throws -> String? {
            for leaf in leaves where names.contains(prefix + stem + "." + leaf) {
                used.insert(prefix + stem + "." + leaf)
                return prefix + stem + "." + leaf
            }
            if required {
                throw LayoutError("tensor '\(prefix)\(stem).\(leaves[0])' is missing")
            }
            return nil
        }

        mutating func linear(_ stem: String, inOut: Bool = false, part: Int? = nil) throws -> LinearTensor {
            LinearTensor(weight: try find(stem, ["weight"])!, bias: try find(stem, ["bias"], required: false),
                         storedInOut: inOut, fusedPart: part)
        }

        mutating func norm(_ stem: String, rms: Bool) throws -> NormTensors {
            NormTensors(name: prefix + stem, gamma: try find(stem, ["weight", "gamma"])!,
                        beta: rms ? nil : try find(stem, ["bias", "beta"], required: false), isRMS: rms)
        }

        mutating func block(_ family: TransformerFamily, _ l: Int) throws -> TransformerBlockTensors {
            switch family {
            case .bert:
                let p = "encoder.layer.\(l)."
                return TransformerBlockTensors(
                    index: l, query: try linear(p + "attention.self.query"), key: try linear(p + "attention.self.key"),
                    value: try linear(p + "attention.self.value"), output: try linear(p + "attention.output.dense"),
                    up: try linear(p + "intermediate.dense"), gate: nil, down: try linear(p + "output.dense"),
                    attentionNorm: try norm(p + "attention.output.LayerNorm", rms: false),
                    mlpNorm: try norm(p + "output.LayerNorm", rms: false))
            case .gpt2:
                let p = "h.\(l)."
                return TransformerBlockTensors(
                    index: l, query: try linear(p + "attn.c_attn", inOut: true, part: 0),
                    key: try linear(p + "attn.c_attn", inOut: true, part: 1),
                    value: try linear(p + "attn.c_attn", inOut: true, part: 2),
                    output: try linear(p + "attn.c_proj", inOut: true),
                    up: try linear(p + "mlp.c_fc", inOut: true), gate: nil, down: try linear(p + "mlp.c_proj", inOut: true),
                    attentionNorm: try norm(p + "ln_1", rms: false), mlpNorm: try norm(p + "ln_2", rms: false))
            case .llama:
                let p = "layers.\(l)."
                return TransformerBlockTensors(
                    index: l, query: try linear(p + "self_attn.q_proj"), key: try linear(p + "self_attn.k_proj"),
                    value: try linear(p + "self_attn.v_proj"), output: try linear(p + "self_attn.o_proj"),
                    up: try linear(p + "mlp.up_proj"), gate: try linear(p + "mlp.gate_proj"),
                    down: try linear(p + "mlp.down_proj"),
                    attentionNorm: try norm(p + "input_layernorm", rms: true),
                    mlpNorm: try norm(p + "post_attention_layernorm", rms: true))
            }
        }
    }
}
