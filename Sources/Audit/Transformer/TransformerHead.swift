import AuditReport
import Foundation
import LinearAlgebra
import SpectralModel
import WeightFiles

/// The task head of a Hugging Face model folder, from the config's `architectures` and the
/// tensors `save_pretrained` writes beside the backbone. The audited output becomes the head's
/// logits (flattened), exactly as the model class computes them in eval mode from the backbone's
/// last hidden state `h` (`[n, d]`):
/// - `sequence_classification` — `BertForSequenceClassification`: `W_c tanh(W_p h₀ + b_p) + b_c`
///   (`bert.pooler.dense`, `classifier`); `RobertaForSequenceClassification` (and XLM-R,
///   CamemBERT): `out_proj(tanh(dense h₀))` (`classifier.dense`, `classifier.out_proj`). Output `[C]`.
/// - `masked_lm` — `BertForMaskedLM`: `decoder(LN(act(dense h_t)))` at every position
///   (`cls.predictions.transform.{dense,LayerNorm}`, act = the config's `hidden_act`, decoder
///   weight `cls.predictions.decoder.weight` or, tied, the word embeddings, bias
///   `cls.predictions.bias`); `RobertaForMaskedLM` the same with `lm_head.{dense,layer_norm}`, gelu
///   (erf), decoder `lm_head.decoder.weight` or tied, bias `lm_head.bias`. Output `[n·V]`.
/// - `sequence_classification` read at the last non-padding token — `GPT2ForSequenceClassification`,
///   `LlamaForSequenceClassification`, `MistralForSequenceClassification`,
///   `Qwen2ForSequenceClassification`: `score h_p` (`score.weight`, no bias) at the position p the
///   class finds from `input_ids` (`TransformerHead+LastToken.swift`). Output `[C]`.
/// - `causal_lm` — `GPT2LMHeadModel`, `LlamaForCausalLM`, `MistralForCausalLM`,
///   `Qwen2ForCausalLM`: `lm_head.weight` (or, absent and tied, the word embeddings) at every
///   position. Output `[n·V]`.
/// A folder whose `architectures` names a base model (`BertModel`, `GPT2Model`, `LlamaModel`…) or
/// nothing has no head (the last hidden state stays the output). Any other class is not
/// reproduced: the hidden state is audited and the report says why (`unsupported`).
///
/// Lipschitz constant of the head (weights-only, in the bound beside the backbone's):
/// classification `σ(W_c)·1·σ(W_p)` (the token selection and tanh have constant 1), `σ(W_score)`
/// for the last-token heads; causal LM
/// `σ(W_lm)`; masked LM `σ(W_dec) · max|γ|/√(s²+ε) · L_act · σ(W_t)` with s the smallest input
/// scale of the head's LayerNorm on the domain (LocalBounds.normalisation) — the same local form
/// as the backbone's norms. The network bound to the logits is the product of the backbone's and
/// the head's (composition of Lipschitz maps).
struct TransformerHead: Sendable, Equatable {
    enum Kind: String, Sendable { case sequenceClassification = "sequence_classification", maskedLM = "masked_lm", causalLM = "causal_lm" }
    var architecture: String
    var kind: Kind
    /// Classification: the pooler dense (tanh after it). Masked LM: the transform dense.
    var first: LinearTensor?
    var firstActivation: String?
    var norm: NormTensors?
    var output: LinearTensor
    var outputTiedToEmbeddings: Bool
    var tensorNames: Set<String>
    /// Which token a sequence-classification head reads: the first (BERT pooler, RoBERTa `<s>`) or
    /// the last non-padding one (GPT-2 / Llama family, `pad_token_id` from the config, nil: none).
    var selection: Selection = .first
    /// Per probe, the position a last-token head reads (set by `TransformerDataAudit.compile`;
    /// they ride on the tapes as `SampleChannels.readPositions`).
    var selectedPositions: [Int]? = nil
    /// The position every probe reads, nil when they differ (the notes, the output description).
    var selectedPosition: Int? {
        guard let first = selectedPositions?.first, selectedPositions!.allSatisfy({ $0 == first }) else { return nil }
        return first
    }

    enum Selection: Equatable, Sendable {
        case first
        case lastNonPadding(padTokenId: Int?)
    }

    enum Resolution {
        case none
        case head(TransformerHead)
        case unsupported(String)
    }

    static let baseModels: Set<String> = ["BertModel", "RobertaModel", "XLMRobertaModel", "CamembertModel", "GPT2Model",
                                          "LlamaModel", "MistralModel", "Qwen2Model"]

    /// The head the config names, over the file's tensor names.
    static func resolve(_ config: HFModelConfig, layout: TransformerLayout, names: Set<String>) -> Resolution {
        guard let arch = config.architectures.first, !baseModels.contains(arch) else { return .none }
        var used: Set<String> = []
        func has(_ n: String) -> String? { names.contains(n) ? n : nil }
        func linear(_ stem: String) -> LinearTensor? {
            guard let w = has(stem + ".weight") else { return nil }
            used.insert(w)
            let b = has(stem + ".bias")
            if let b { used.insert(b) }
            return LinearTensor(weight: w, bias: b, storedInOut: false, fusedPart: nil)
        }
        func norm(_ stem: String) -> NormTensors? {
            guard let g = has(stem + ".weight") ?? has(stem + ".gamma") else { return nil }
            let b = has(stem + ".bias") ?? has(stem + ".beta")
            used.formUnion([g] + (b.map { [$0] } ?? []))
            return NormTensors(name: stem, gamma: g, beta: b, isRMS: false)
        }
        let embeddings = TransformerDataAudit.wordEmbeddings(layout)
        func decoder(_ stem: String, bias: String) -> (LinearTensor, Bool)? {
            if var d = linear(stem) {
                if d.bias == nil, let b = has(bias) { d.bias = b; used.insert(b) }
                return (d, false)
            }
            guard names.contains(embeddings) else { return nil }
            let b = has(bias) ?? has(stem + ".bias")
            if let b { used.insert(b) }
            return (LinearTensor(weight: embeddings, bias: b, storedInOut: false, fusedPart: nil), true)
        }
        let missing = "\(arch): the head's tensors are not in the file as save_pretrained names them"
        switch arch {
        case "BertForSequenceClassification":
            guard let p = linear(layout.prefix + "pooler.dense"), let c = linear("classifier") else { return .unsupported(missing) }
            return .head(.init(architecture: arch, kind: .sequenceClassification, first: p, firstActivation: "tanh", norm: nil,
                               output: c, outputTiedToEmbeddings: false, tensorNames: used))
        case "RobertaForSequenceClassification", "XLMRobertaForSequenceClassification", "CamembertForSequenceClassification":
            guard let p = linear("classifier.dense"), let c = linear("classifier.out_proj") else { return .unsupported(missing) }
            return .head(.init(architecture: arch, kind: .sequenceClassification, first: p, firstActivation: "tanh", norm: nil,
                               output: c, outputTiedToEmbeddings: false, tensorNames: used))
        case "BertForMaskedLM":
            guard let t = linear("cls.predictions.transform.dense"), let n = norm("cls.predictions.transform.LayerNorm"),
                  let (dec, tied) = decoder("cls.predictions.decoder", bias: "cls.predictions.bias") else { return .unsupported(missing) }
            return .head(.init(architecture: arch, kind: .maskedLM, first: t, firstActivation: config.activation ?? "gelu", norm: n,
                               output: dec, outputTiedToEmbeddings: tied, tensorNames: used))
        case "RobertaForMaskedLM", "XLMRobertaForMaskedLM", "CamembertForMaskedLM":
            guard let t = linear("lm_head.dense"), let n = norm("lm_head.layer_norm"),
                  let (dec, tied) = decoder("lm_head.decoder", bias: "lm_head.bias") else { return .unsupported(missing) }
            return .head(.init(architecture: arch, kind: .maskedLM, first: t, firstActivation: "gelu", norm: n,
                               output: dec, outputTiedToEmbeddings: tied, tensorNames: used))
        case "GPT2ForSequenceClassification", "LlamaForSequenceClassification", "MistralForSequenceClassification",
             "Qwen2ForSequenceClassification":
            guard let score = linear("score") else { return .unsupported(missing) }
            return .head(.init(architecture: arch, kind: .sequenceClassification, first: nil, firstActivation: nil, norm: nil,
                               output: score, outputTiedToEmbeddings: false, tensorNames: used,
                               selection: .lastNonPadding(padTokenId: config.padTokenId)))
        case "GPT2LMHeadModel", "LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM":
            if let lm = linear("lm_head") {
                return .head(.init(architecture: arch, kind: .causalLM, first: nil, firstActivation: nil, norm: nil, output: lm,
                                   outputTiedToEmbeddings: false, tensorNames: used))
            }
            guard config.tieWordEmbeddings, names.contains(embeddings) else { return .unsupported("\(arch): no lm_head.weight and the config does not tie it to the word embeddings") }
            return .head(.init(architecture: arch, kind: .causalLM, first: nil, firstActivation: nil, norm: nil,
                               output: LinearTensor(weight: embeddings, bias: nil, storedInOut: false, fusedPart: nil),
                               outputTiedToEmbeddings: true, tensorNames: used))
        default:
            return .unsupported("the head of \(arch) is not reproduced (heads read: sequence classification of the BERT, GPT-2 and Llama families, masked LM of BERT/RoBERTa, causal LM of GPT-2/Llama/Mistral/Qwen2)")
        }
    }

    /// `"logits of BertForSequenceClassification (pooler + classifier)"`, for the report.
    var outputDescription: String {
        switch kind {
        case .sequenceClassification:
            if case .lastNonPadding = selection {
                let at = selectedPosition.map { ", position \($0)," } ?? (selectedPositions == nil ? "" : " of each probe,")
                return "logits of \(architecture) (last non-padding token\(at) → score)"
            }
            return "logits of \(architecture) (first token → dense → tanh → classifier)"
        case .maskedLM: return "logits of \(architecture) (per position: dense → \(firstActivation ?? "") → LayerNorm → decoder\(outputTiedToEmbeddings ? " tied to the word embeddings" : ""))"
        case .causalLM: return "logits of \(architecture) (per position: lm_head\(outputTiedToEmbeddings ? " tied to the word embeddings" : ""))"
        }
    }

    /// Appends the head to a compiled backbone: its last node (the `[n·d]` reshape of the last
    /// hidden state) is replaced by the head's nodes, whose output is the flattened logits.
    /// The head's LayerNorm input is registered as a norm input (its measured scale enters the bound).
    /// `position`: the token a sequence-classification head reads without a tape channel (0 for
    /// the first-token heads; a last-token head: probe 0's, each probe's own on its tape).
    func attach(to tg: TransformerGraph, config: HFModelConfig, sequenceLength n: Int, cache: TransformerTensorCache,
                position: Int = 0) throws -> TransformerGraph {
        var nodes = tg.graph.nodes
        guard let last = nodes.popLast(), last.name == "last_hidden_state", let h0 = last.inputs.first else {
            throw DataAuditError("internal: the backbone graph does not end in its last hidden state", kind: .unsupported)
        }
        var normInputs = tg.normInputs
        @discardableResult
        func add(_ name: String, _ kind: NodeKind, _ inputs: [Int], _ attrs: [String: String] = [:]) -> Int {
            nodes.append(Node(name: name, kind: kind, inputs: inputs, activation: nil, attributes: attrs))
            return nodes.count - 1
        }
        func linear(_ name: String, _ t: LinearTensor, _ input: Int) throws -> Int {
            let (w, b) = try cache.linear(t)
            return add(name, .parameterized(className: "PositionwiseDense", tensors: [w] + (b.map { [$0] } ?? [])), [input])
        }
        func activation(_ name: String) throws -> Activation {
            if name == "tanh" { return .tanh }
            guard let a = TransformerGraph.activation(name) else {
                throw DataAuditError("data mode has no op for the head's activation '\(name)'", kind: .unsupported)
            }
            return a
        }
        var h = h0, rows = n
        if kind == .sequenceClassification {
            h = add("head.select_token", .parameterized(className: "SelectToken", tensors: []), [h], ["position": "\(position)"])
            rows = 1
        }
        if let first {
            h = try linear("head.dense", first, h)
            h = add("head.dense_act", .activation(try activation(firstActivation ?? "")), [h])
        }
        if let norm {
            let d = config.hiddenSize
            var tensors = [TensorRef(name: norm.gamma, shape: [d], orientation: .vector)]
            if let beta = norm.beta { tensors.append(TensorRef(name: beta, shape: [d], orientation: .vector)) }
            normInputs.append((h, norm.name, false))
            h = add("head.norm", .parameterized(className: "LayerNorm", tensors: tensors), [h],
                    ["epsilon": "\(config.normEpsilon ?? 1e-12)"])
        }
        h = try linear("head.output", output, h)
        let (w, _) = try cache.linear(output)
        let out = add("logits", .parameterized(className: "Reshape", tensors: []), [h], ["shape": "\(rows * w.shape[0])"])
        return TransformerGraph(graph: NetworkGraph(nodes: nodes, outputs: [out], inputShape: tg.graph.inputShape, source: "hf_config",
                                                    assumptions: []),
                                normInputs: normInputs, attentionInputs: tg.attentionInputs)
    }

    /// The head's Lipschitz constant (see the type's doc) with the LayerNorm's input scale `scale`.
    /// A whole stored matrix whose σ_max is in `knownSpectralNorms` (computed exactly by the rows)
    /// is not loaded again.
    func lipschitz(store: any TensorStore, config: HFModelConfig, scale: Double,
                   knownSpectralNorms: [String: Double] = [:]) throws -> Double {
        let weights = TransformerWeights(store: store, width: config.hiddenSize)
        var l = try weights.largestSingularValue(output, known: knownSpectralNorms)
        if let first { l *= try weights.largestSingularValue(first, known: knownSpectralNorms) }
        if let a = firstActivation, a != "tanh" {
            guard let lip = TransformerAnalyzer.activationLipschitz(a) else {
                throw TransformerAnalysisError("the head's activation '\(a)' has no Lipschitz constant in spectral-audit")
            }
            l *= lip
        }
        if let norm {
            let g = try weights.vector(norm.gamma)
            l *= LocalBounds.normalisation(maxAbsGamma: g.map(abs).max() ?? 0, epsilon: config.normEpsilon ?? 1e-12, scale: scale)
        }
        return l
    }
}
