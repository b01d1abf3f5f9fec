import Foundation
import LinearAlgebra
import SpectralModel
import WeightFiles

/// A BERT-, GPT-2- or Llama-family transformer (its `TransformerLayout`) compiled for the forward
/// engine: a `NetworkGraph` of existing node kinds (`.parameterized` + attributes, `.add`,
/// `.activation`) whose ops are `SequenceOps`, `PositionEmbeddingOp`, `LayerNormOp` (LayerNorm and
/// RMSNorm), `AttentionOp`, `RotaryOp`, `MulOp`, `ActivationOp`, `AddOp`. The audited function maps
/// the input embeddings (`inputs_embeds`, `[n, d]` flattened) to the last hidden state (`[n·d]`),
/// exactly as Hugging Face's `Model(inputs_embeds=…).last_hidden_state` in eval mode:
/// - BERT (post-LN): `x + pos + type₀ → LN`, per block `LN(h + O·attn(h))`, `LN(a + down·act(up·a))`;
/// - GPT-2 (pre-LN): `x + pos`, per block `a = h + O·attn(LN₁h)` (causal), `h' = a + down·gelu_tanh(up·LN₂a)`, `ln_f`;
/// - Llama (pre-RMSNorm): per block `a = h + O·attn(rot(Q·N₁h), rot(K·N₁h), V·N₁h)` (causal, GQA),
///   `h' = a + down·(silu(gate·N₂a) ⊙ up·N₂a)`, final `norm`.
/// An attention mask (1 keep, 0 padding; per key position) may be an attribute of the attention
/// nodes (`mask`); the data mode instead compiles with none and carries each probe's mask on its
/// forward tape (`ForwardModel.forward(_:count:keyMasks:)`), so one compiled model serves every
/// probe. Position ids are `0 … n−1`, or the ones the caller gives per probe (RoBERTa: `TransformerPositions`,
/// each probe's rows on its tape as `SampleChannels.positionRows`).
/// Tensors come through `load` (canonical `[out, in]`; GPT-2's Conv1D transposed and its fused
/// `c_attn` split), each file tensor read once per `TransformerTensorCache`.
struct TransformerGraph {
    let graph: NetworkGraph
    /// Node names whose outputs the data audit measures: every normalisation's input (with the
    /// norm's name and kind) and every attention sublayer's input (the output of a norm).
    var normInputs: [(node: Int, norm: String, isRMS: Bool)] = []
    var attentionInputs: [(node: Int, block: Int, beta: String?)] = []

    static func activation(_ name: String) -> Activation? {
        switch name.lowercased() {
        case "gelu", "gelu_python": return .gelu
        case "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "gelu_python_tanh": return .named("gelu_tanh", lipschitz: 1.128994)
        case "silu", "swish": return .silu
        case "relu": return .relu
        default: return nil
        }
    }

    /// Throws `DataAuditError(.unsupported)` for settings the engine does not reproduce.
    /// `positionIds`: per probe, its position ids (RoBERTa-style models, `TransformerPositions`);
    /// nil for `0 … n−1`.
    static func build(layout: TransformerLayout, config: HFModelConfig, sequenceLength n: Int, mask: [Bool]?,
                      cache: TransformerTensorCache, positionIds: [[Int]]? = nil) throws -> TransformerGraph {
        let d = config.hiddenSize, H = config.numHeads, Hkv = config.numKeyValueHeads, dh = config.headDim
        let family = layout.family, p = layout.prefix
        if family == .bert, config.modelType.lowercased() != "bert", positionIds == nil {
            throw DataAuditError("'\(config.modelType)' derives position ids from padding: the caller gives them (TransformerPositions)", kind: .unsupported)
        }
        let actName = config.activation ?? (family == .gpt2 ? "gelu_new" : family == .llama ? "silu" : "gelu")
        guard let act = activation(actName) else {
            throw DataAuditError("data mode has no op for the activation '\(actName)'", kind: .unsupported)
        }
        if family == .llama, let t = config.ropeType, t != "default" {
            throw DataAuditError("rotary embedding of type '\(t)' is not reproduced (only 'default')", kind: .unsupported)
        }
        if let maxPos = config.maxPositions, family != .llama, n > maxPos {
            throw DataAuditError("probes of \(n) tokens exceed the model's \(maxPos) positions")
        }
        let eps = config.normEpsilon ?? (family == .llama ? 1e-6 : (family == .gpt2 ? 1e-5 : 1e-12))
        var nodes: [Node] = [Node(name: "inputs_embeds", kind: .input, inputs: [])]
        var tg = TransformerGraph(graph: NetworkGraph(nodes: [], outputs: [], inputShape: nil, source: "hf_config", assumptions: []))
        @discardableResult
        func add(_ name: String, _ kind: NodeKind, _ inputs: [Int], _ attrs: [String: String] = [:], activation: Activation? = nil) -> Int {
            nodes.append(Node(name: name, kind: kind, inputs: inputs, activation: activation, attributes: attrs))
            return nodes.count - 1
        }
        func linear(_ name: String, _ t: LinearTensor, _ input: Int) throws -> Int {
            let (w, b) = try cache.linear(t)
            return add(name, .parameterized(className: "PositionwiseDense", tensors: [w] + (b.map { [$0] } ?? [])), [input])
        }
        func norm(_ name: String, _ t: NormTensors, _ input: Int) -> Int {
            var tensors = [TensorRef(name: t.gamma, shape: [d], orientation: .vector)]
            if let beta = t.beta { tensors.append(TensorRef(name: beta, shape: [d], orientation: .vector)) }
            tg.normInputs.append((input, t.name, t.isRMS))
            return add(name, .parameterized(className: t.isRMS ? "RMSNorm" : "LayerNorm", tensors: tensors), [input],
                       ["epsilon": "\(eps)"])
        }
        var h = add("sequence", .parameterized(className: "Reshape", tensors: []), [0], ["shape": "\(n),\(d)"])
        // Position (and token-type 0) embeddings, added inside the model to inputs_embeds.
        switch family {
        case .bert:
            // RoBERTa: the table holds every row the probes use once; probe 0's rows are the op's own,
            // each probe's ride on its tape (TransformerPositions.channels).
            let table = positionIds.map { TransformerPositions.table($0) }
            let pos = try table.map { try cache.rows(p + "embeddings.position_embeddings.weight", ids: $0.ids, width: d, suffix: "#positions") }
                ?? cache.rows(p + "embeddings.position_embeddings.weight", count: n, width: d, suffix: "#positions")
            let tt = try cache.rows(p + "embeddings.token_type_embeddings.weight", count: 1, width: d, suffix: "#token_type0")
            let rowsAttr = table.flatMap { $0.rows.first }.map { ["position_rows": $0.map(String.init).joined(separator: ",")] } ?? [:]
            h = add("embeddings", .parameterized(className: "PositionEmbedding", tensors: [pos, tt]), [h], rowsAttr)
            h = norm("embeddings.LayerNorm", layout.embeddingNorm!, h)
        case .gpt2:
            let pos = try cache.rows(p + "wpe.weight", count: n, width: d, suffix: "#positions")
            h = add("wpe", .parameterized(className: "PositionEmbedding", tensors: [pos]), [h])
        case .llama:
            break
        }
        let maskAttr = mask.map { $0.map { $0 ? "1" : "0" }.joined(separator: ",") } ?? ""
        let attnAttrs = ["heads": "\(H)", "kv_heads": "\(Hkv)", "head_dim": "\(dh)", "causal": family == .bert ? "false" : "true",
                         "mask": maskAttr]
        for blk in layout.blocks {
            let l = "layer.\(blk.index)."
            // Attention input: BERT the block input (a LayerNorm output), pre-LN families their norm's output.
            let attnIn = family == .bert ? h : norm(l + "attention_norm", blk.attentionNorm, h)
            let prevBeta: String? = family == .bert ? (blk.index == 0 ? layout.embeddingNorm?.beta : layout.blocks[blk.index - 1].mlpNorm.beta)
                                                    : blk.attentionNorm.beta
            tg.attentionInputs.append((attnIn, blk.index, prevBeta))
            var q = try linear(l + "q", blk.query, attnIn)
            var k = try linear(l + "k", blk.key, attnIn)
            let v = try linear(l + "v", blk.value, attnIn)
            if family == .llama {
                let theta = config.ropeTheta ?? 10000
                let r = ["head_dim": "\(dh)", "theta": "\(theta)"]
                q = add(l + "q_rotary", .parameterized(className: "Rotary", tensors: []), [q], r.merging(["heads": "\(H)"]) { $1 })
                k = add(l + "k_rotary", .parameterized(className: "Rotary", tensors: []), [k], r.merging(["heads": "\(Hkv)"]) { $1 })
            }
            let att = add(l + "attention", .parameterized(className: "ScaledDotProductAttention", tensors: []), [q, k, v], attnAttrs)
            let o = try linear(l + "o", blk.output, att)
            let a0 = add(l + "attention_residual", .add, [h, o])
            let a = family == .bert ? norm(l + "attention_norm", blk.attentionNorm, a0) : a0
            let mlpIn = family == .bert ? a : norm(l + "mlp_norm", blk.mlpNorm, a)
            let hidden: Int
            if let gate = blk.gate {
                let g = try linear(l + "gate", gate, mlpIn)
                let ga = add(l + "gate_act", .activation(act), [g])
                let u = try linear(l + "up", blk.up, mlpIn)
                hidden = add(l + "gated", .parameterized(className: "Multiply", tensors: []), [ga, u])
            } else {
                let u = try linear(l + "up", blk.up, mlpIn)
                hidden = add(l + "up_act", .activation(act), [u])
            }
            let down = try linear(l + "down", blk.down, hidden)
            let r = add(l + "mlp_residual", .add, [a, down])
            h = family == .bert ? norm(l + "mlp_norm", blk.mlpNorm, r) : r
        }
        if let f = layout.finalNorm { h = norm("final_norm", f, h) }
        let out = add("last_hidden_state", .parameterized(className: "Reshape", tensors: []), [h], ["shape": "\(n * d)"])
        tg = TransformerGraph(graph: NetworkGraph(nodes: nodes, outputs: [out], inputShape: [n * d], source: "hf_config",
                                                  assumptions: []),
                              normInputs: tg.normInputs, attentionInputs: tg.attentionInputs)
        return tg
    }
}

/// Every tensor the compiled transformer reads, loaded once from the store (canonical `[out, in]`
/// matrices, fused GPT-2 projections split), then served to the engine by (synthetic) name.
final class TransformerTensorCache {
    let store: any TensorStore
    let weights: TransformerWeights
    let width: Int
    private var values: [String: [Double]] = [:]

    init(store: any TensorStore, width: Int) {
        self.store = store
        self.width = width
        weights = TransformerWeights(store: store, width: width)
    }

    /// Refs of `t`'s weight (`[out, in]`) and bias.
    func linear(_ t: LinearTensor) throws -> (TensorRef, TensorRef?) {
        let key = t.weight + (t.fusedPart.map { "#part\($0)" } ?? "")
        if values[key] == nil {
            let m = try weights.matrix(t)
            values[key] = m.storage
            shapes[key] = [m.rows, m.cols]
            if let b = try weights.bias(t) { values[key + "#bias"] = b }
        }
        let w = TensorRef(name: key, shape: shapes[key]!, orientation: .outIn)
        let b = values[key + "#bias"].map { TensorRef(name: key + "#bias", shape: [$0.count], orientation: .vector) }
        return (w, b)
    }
    private var shapes: [String: [Int]] = [:]

    /// The first `count` rows of the `[rows, width]` table `name`, as a ref named `name + suffix`.
    func rows(_ name: String, count: Int, width d: Int, suffix: String) throws -> TensorRef {
        let key = name + suffix
        if values[key] == nil {
            let info = try store.info(name)
            guard info.shape.count == 2, info.shape[1] == d, info.shape[0] >= count else {
                throw DataAuditError("tensor '\(name)' has shape \(info.shape); need at least \(count) rows of \(d)")
            }
            values[key] = Array(try store.loadFloat64(name).prefix(count * d))
        }
        return TensorRef(name: key, shape: [count, d], orientation: .vector)
    }

    /// Rows `ids` of the `[rows, width]` table `name` (RoBERTa's position ids), as a ref named `name + suffix`.
    func rows(_ name: String, ids: [Int], width d: Int, suffix: String) throws -> TensorRef {
        let key = name + suffix
        if values[key] == nil {
            let info = try store.info(name)
            guard info.shape.count == 2, info.shape[1] == d, let top = ids.max(), ids.allSatisfy({ $0 >= 0 }), top < info.shape[0] else {
                throw DataAuditError("tensor '\(name)' has shape \(info.shape); need rows \(ids.min() ?? 0)…\(ids.max() ?? 0) of \(d)")
            }
            let table = try store.loadFloat64(name)
            values[key] = ids.flatMap { table[($0 * d)..<(($0 + 1) * d)] }
        }
        return TensorRef(name: key, shape: [ids.count, d], orientation: .vector)
    }

    /// The loader the engine compiles with.
    func load(_ ref: TensorRef) throws -> [Double] {
        if let v = values[ref.name] { return v }
        let v = try store.loadFloat64(ref.name)
        values[ref.name] = v
        return v
    }
}
