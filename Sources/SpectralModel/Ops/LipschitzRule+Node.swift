/// An op's Lipschitz rule stated from the graph node alone, before (or without) building the op.
///
/// The weights-only audit (`NetworkBounds`) bounds a network from its graph and the norms its
/// analysis measured per node (σ₁ of every linear operator, max|α| of PReLU slopes); it never
/// compiles the forward engine, so it cannot ask a built op for `DifferentiableOp.lipschitz`.
/// A builder that can state its rule from the node and those measured norms conforms to
/// `NodeLipschitzSource`, beside its `build`; `OpRegistry.lipschitz(of:norms:)` asks them in the
/// registry's order, as the compiler does. A rule is the same statement as the built op's:
/// `linearOperator` ops take the measured operator norm; constants are global (pooling states its
/// shape-free Schur bound, valid for every input size, where the built op knows its geometry).
public protocol NodeLipschitzSource {
    /// The rule of the op this builder would build for `node`, or nil when it does not handle
    /// the node's kind.
    static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz?
}

/// What the weights-only analysis measured for one node.
public struct MeasuredNorms: Sendable, Equatable {
    /// σ₁ of the node's linear operator (dense, convolution: exact or certified upper bound;
    /// BatchNorm: `max |γ/√(σ²+ε)|`), nil when not analysed.
    public var operatorNorm: Double?
    /// The largest absolute value of the node's element-wise parameter (PReLU α), or any value
    /// between it and `max(1, max|α|)` (rules use `max(1, ·)`); nil when not analysed.
    public var parameterMaxAbs: Double?

    public init(operatorNorm: Double? = nil, parameterMaxAbs: Double? = nil) {
        self.operatorNorm = operatorNorm
        self.parameterMaxAbs = parameterMaxAbs
    }
}

/// A node's rule and how it appears in the report's factor chain.
public struct NodeLipschitz: Sendable {
    public var rule: LipschitzRule
    /// The chain row kind (`operator`, `activation`, `pooling`, `residual`, `concatenate`,
    /// `shape`).
    public var chainKind: String
    /// Listed in the chain even when its factor is 1 (merges and PReLU always are).
    public var listedWhenOne: Bool
    /// Why there is no bound when the rule needs a measured norm that is missing.
    public var unmeasured: String?

    public init(_ rule: LipschitzRule, chainKind: String, listedWhenOne: Bool = false, unmeasured: String? = nil) {
        self.rule = rule
        self.chainKind = chainKind
        self.listedWhenOne = listedWhenOne
        self.unmeasured = unmeasured
    }
}

extension OpRegistry {
    /// The rule of the first builder that states one for `node` (nil: no op covers it, or its
    /// builder cannot state a rule without its weights).
    public static func lipschitz(of node: Node, norms: MeasuredNorms) -> NodeLipschitz? {
        for b in builders {
            if let source = b as? any NodeLipschitzSource.Type, let r = source.lipschitz(of: node, norms: norms) { return r }
        }
        return nil
    }
}
