/// The ops the forward engine knows. Adding an op: its file (a `DifferentiableOp` that is also
/// an `OpBuilder`) and one line here. Builders are asked in order; the first that returns a slot
/// handles the node.
public enum OpRegistry {
    nonisolated(unsafe) public static let builders: [any OpBuilder.Type] = [
        DenseOp.self,
        ConvOp.self,
        BatchNormOp.self,
        ActivationOp.self,
        PReLUOp.self,
        PoolOp.self,
        GatherOp.self,
        PassThroughOp.self,
        AddOp.self,
        ConcatOp.self,
        LayerNormOp.self,
        // Transformers compiled from a Hugging Face config (Sources/Audit/Transformer/TransformerGraph.swift).
        SequenceOps.self,
        PositionEmbeddingOp.self,
        SelectTokenOp.self,
        AttentionOp.self,
        RotaryOp.self,
        MulOp.self,
        // LSTM / GRU / RNN unrolled over time (issue 19; Sources/Audit/Recurrent/RecurrentGraph.swift).
        RecurrentOp.self,
    ]

    /// Why no builder handles `node` (the engine's limit, reported as unsupported).
    static func unsupportedReason(_ node: Node) -> String {
        switch node.kind {
        case .embedding: return "Embedding: the input is discrete"
        case .parameterized(let c, _), .unsupported(let c, _): return c
        default: return node.kind.reportKind
        }
    }
}
