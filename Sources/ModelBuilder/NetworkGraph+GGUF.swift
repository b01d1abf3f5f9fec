import SpectralModel
import WeightFiles

extension NetworkGraph {
    /// A GGUF file's tensors as per-tensor nodes (source `gguf_tensors`), until the transformer
    /// structure its metadata describes is built: every matrix gets its own spectrum, and the
    /// network bound is unavailable with `structureIssue` saying why. Nodes are unconnected and
    /// the graph has no output, so nothing runs a forward pass through it.
    ///
    /// Tensors are grouped by layer (the name up to its last dot, llama.cpp names such as
    /// `blk.0.attn_q.weight`), in file order:
    /// - a 2-D `weight` of a table (`token_embd`, `pos_embd`, any `*_embd`, `token_types`) →
    ///   `.embedding` (lookup table `[vocab, dim]`, operator = tableᵀ);
    /// - another 2-D `weight` → `.dense` with the reader's orientation (ggml matmul weights are
    ///   `[out, in]`), plus the layer's 1-D `bias` when present;
    /// - 1-D tensors alone (normalisation gains, biases of unknown use) → `.unsupported("norm")`
    ///   or `.unsupported("1-D tensor")`: listed and checked for non-finite values;
    /// - 3-D and 4-D weights (MoE expert stacks, convolution kernels) → `.unsupported`, named;
    /// - integer tensors → `.parameterized("buffers")`.
    /// Block-quantized tensors are dequantized by the reader; a type it cannot decode makes its
    /// row `unsupported` with the reader's reason.
    public static func ggufTensors(from tensors: [TensorInfo], architecture: String?) -> NetworkGraph {
        var groups: [(layer: String, tensors: [TensorInfo])] = []
        var position: [String: Int] = [:]
        for t in tensors where t.role == .weights || t.role == .buffer {
            let layer = t.layer ?? t.name
            if let p = position[layer] { groups[p].tensors.append(t) } else {
                position[layer] = groups.count
                groups.append((layer, [t]))
            }
        }
        var nodes = [Node(name: "input", kind: .input, inputs: [])]
        for (layer, ts) in groups {
            let refs = ts.map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) }
            let kind: NodeKind
            let matrix = ts.first { $0.shape.count == 2 && $0.dtype.isFloatingPoint && ($0.variable == "weight" || ts.count == 1) }
            if ts.allSatisfy({ !$0.dtype.isFloatingPoint }) {
                kind = .parameterized(className: "buffers", tensors: refs)
            } else if let w = matrix, w.orientation == .inOut, layer.hasSuffix("_embd") || layer == "token_types" {
                kind = .embedding(table: TensorRef(name: w.name, shape: w.shape, orientation: .inOut))
            } else if let w = matrix {
                let bias = ts.first { $0.variable == "bias" && $0.shape.count == 1 }
                    .map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) }
                let rule: OrientationRule = w.orientation == .inOut ? .inOut : .outIn
                kind = .dense(kernel: TensorRef(name: w.name, shape: w.shape, orientation: rule), bias: bias)
            } else if let big = ts.first(where: { $0.shape.count > 2 }) {
                kind = .unsupported(className: "\(big.shape.count)-D tensor (expert stack or convolution kernel)", tensors: refs)
            } else {
                let norm = layer.split(separator: ".").last.map { $0.contains("norm") } ?? false
                kind = .unsupported(className: norm ? "norm" : "1-D tensor", tensors: refs)
            }
            // Unconnected: no node feeds another, and the graph has no output (a forward pass
            // through it would mean nothing; the data audit refuses it with `structureIssue`).
            nodes.append(Node(name: layer, kind: kind, inputs: []))
        }
        let arch = architecture.map { "'\($0)'" } ?? "(no general.architecture)"
        let issue = "GGUF architecture \(arch): the network structure in the file's metadata (attention, normalisation, rotary embeddings) is not built yet; every matrix has its own spectrum, no network bound"
        return NetworkGraph(nodes: nodes, outputs: [], inputShape: nil, source: "gguf_tensors",
                            assumptions: ["GGUF: one row per tensor group (llama.cpp names); matmul weights [out, in] (ggml ne = [in, out] reversed); *_embd tables as lookup tables"],
                            structureIssue: issue)
    }
}
