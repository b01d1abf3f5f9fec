/// Builders for the sequence plumbing of a transformer compiled from a Hugging Face config
/// (`Sources/Audit/Transformer/TransformerGraph.swift`); each emits existing ops:
/// - `Reshape` (attribute `shape`, e.g. `"32,384"`): the identity on the flat values with a new
///   per-sample shape (a `GatherOp` of kind `reshape`; the flat network input becomes `[n, d]`,
///   the last hidden state `[n·d]` for the output).
/// - `PositionwiseDense` (tensors: weight `[out, in]` in the canonical `y = W x` order, optional
///   bias): the same linear map at every position of a `[n, in]` sequence (a `DenseOp` with
///   `positions = n`).
/// (`SelectToken` and `PositionEmbedding` have their own ops: `SelectTokenOp`, `PositionEmbeddingOp`.)
public enum SequenceOps: OpBuilder {
    public static func build(_ node: Node, _ b: OpBuildContext) throws -> Int? {
        guard case .parameterized(let cls, let tensors) = node.kind else { return nil }
        switch cls {
        case "Reshape":
            let s = b.inputShape()
            guard let shape = node.attributes["shape"]?.split(separator: ",").compactMap({ Int($0) }), !shape.isEmpty,
                  shape.allSatisfy({ $0 > 0 }), shape.reduce(1, *) == s.reduce(1, *) else {
                throw ForwardModelError("layer '\(node.name)': reshape of \(s) to '\(node.attributes["shape"] ?? "")'")
            }
            let n = shape.reduce(1, *)
            return try b.emit(GatherOp(name: node.name, map: Array(0..<n), outputShape: shape, kind: "reshape"), inputs: [b.inputSlots[0]])
        case "PositionwiseDense":
            guard let w = tensors.first, w.shape.count == 2 else {
                throw ForwardModelError("layer '\(node.name)': positionwise dense needs a [out, in] weight")
            }
            let s = b.inputShape()
            guard s.count == 2, s[1] == w.shape[1] else {
                throw ForwardModelError("layer '\(node.name)': weight \(w.shape) on a sequence of shape \(s)")
            }
            let kernel = try b.load(w)
            guard kernel.count == w.shape[0] * w.shape[1] else {
                throw ForwardModelError("layer '\(node.name)': '\(w.name)' has \(kernel.count) values for \(w.shape)")
            }
            var params = [kernel]
            if tensors.count > 1 {
                let bias = try b.load(tensors[1])
                guard bias.count == w.shape[0] else {
                    throw ForwardModelError("layer '\(node.name)': bias '\(tensors[1].name)' has \(bias.count) values for \(w.shape[0]) outputs")
                }
                params.append(bias)
            }
            let op = DenseOp(name: node.name, inCount: w.shape[1], outCount: w.shape[0], hasBias: tensors.count > 1,
                             positions: s[0], leadingShape: [s[0]])
            return try b.emit(op, inputs: [b.inputSlots[0]], parameters: params)
        default:
            return nil
        }
    }
}
