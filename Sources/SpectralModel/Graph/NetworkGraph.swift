@_exported import TensorLayout

/// A network as a directed acyclic graph of layers (SPEC.md §1, §3): linear operators, diagonal
/// gates (activations), pass-through layers and merges. Built from a Keras config, an
/// architecture manifest, or inferred from tensor names; consumed by the auditor and by the
/// forward/Jacobian code. Node order is topological (every input precedes its consumer).
public struct NetworkGraph: Sendable, Equatable {
    public var nodes: [Node]
    /// Indices of the nodes whose outputs are the network's outputs (the logits).
    public var outputs: [Int]
    /// Input shape without the batch dimension, when known (channels-last for Keras).
    public var inputShape: [Int]?
    /// Where the structure came from: `keras_config`, `manifest`, `inferred`, `onnx_graph`.
    public var source: String
    /// What the builder had to assume (reported verbatim).
    public var assumptions: [String]
    /// Set when the builder knows the layers do not form a network it can bound (shape
    /// mismatches, attention-like names): the network-level bound is then unavailable with it.
    public var structureIssue: String?
    /// What the builder guessed rather than read (issue 16): reported per layer and for the
    /// network. Builders that read a stated structure leave it empty.
    public var guesses: [StructureGuess] = []

    public init(nodes: [Node], outputs: [Int], inputShape: [Int]?, source: String, assumptions: [String],
                structureIssue: String? = nil) {
        self.structureIssue = structureIssue
        self.nodes = nodes
        self.outputs = outputs
        self.inputShape = inputShape
        self.source = source
        self.assumptions = assumptions
    }

    public func index(of name: String) -> Int? { nodes.firstIndex { $0.name == name } }

    /// Product of the input shape: the `d` of SPEC §4.
    public var inputDimension: Int? {
        guard let s = inputShape, !s.isEmpty, s.allSatisfy({ $0 > 0 }) else { return nil }
        return s.reduce(1, *)
    }
}

/// A tensor a node reads, by its name in the file, and how it is laid out.
public struct TensorRef: Sendable, Equatable, Hashable {
    public var name: String
    public var shape: [Int]
    public var orientation: OrientationRule

    public init(name: String, shape: [Int], orientation: OrientationRule) {
        self.name = name
        self.shape = shape
        self.orientation = orientation
    }
}

/// How a stored array becomes the canonical `[out, in]` operator (SPEC §1): the readers' own
/// `Orientation` (one enum; `.vector` for biases and BatchNorm parameters). The name stays for
/// the graph builders and tests that spell it.
public typealias OrientationRule = Orientation

public struct Node: Sendable, Equatable {
    public var name: String
    public var kind: NodeKind
    /// Indices of the nodes feeding this one (empty for inputs).
    public var inputs: [Int]
    /// The activation applied to this node's output, if the layer has one built in (Keras
    /// `Dense(activation=…)`); standalone activation layers are nodes of kind `.activation`.
    public var activation: Activation?
    /// Where `activation` was stated (`config`, `manifest`) or `assumed`.
    public var activationSource: String?
    /// Settings of the layer beyond its kind, by the framework's name (pooling `padding`
    /// `same`/`valid`/`explicit`, `pads` as `"b₀,b₁,…,a₀,a₁,…"` (before, then after, per spatial
    /// axis), `ceil_mode`, `count_include_pad`): read by the forward engine's ops.
    public var attributes: [String: String]

    public init(name: String, kind: NodeKind, inputs: [Int], activation: Activation? = nil, activationSource: String? = nil,
                attributes: [String: String] = [:]) {
        self.attributes = attributes
        self.name = name
        self.kind = kind
        self.inputs = inputs
        self.activation = activation
        self.activationSource = activationSource
    }

    /// Every file tensor this node reads.
    public var tensors: [TensorRef] {
        switch kind {
        case .dense(let k, let b):
            return [k] + (b.map { [$0] } ?? [])
        case .embedding(let table):
            return [table]
        case .conv(let c):
            return [c.kernel] + (c.bias.map { [$0] } ?? [])
        case .batchNorm(let bn):
            return [bn.gamma, bn.beta, bn.mean, bn.variance].compactMap { $0 }
        case .unsupported(_, let t), .parameterized(_, let t):
            return t
        case .prelu(let alpha):
            return [alpha]
        default:
            return []
        }
    }
}

public struct ConvSpec: Sendable, Equatable {
    /// 1, 2 or 3 spatial dimensions.
    public var spatialRank: Int
    public var kernel: TensorRef
    public var bias: TensorRef?
    public var groups: Int
    public var strides: [Int]
    /// `same`, `valid`, `circular`, `causal`, or `explicit`.
    public var padding: String
    /// Depthwise: every input channel convolved separately (groups = in channels).
    public var depthwise: Bool
    /// Dilation per spatial axis (empty: 1).
    public var dilation: [Int]

    public init(spatialRank: Int, kernel: TensorRef, bias: TensorRef?, groups: Int, strides: [Int], padding: String,
                depthwise: Bool, dilation: [Int] = []) {
        self.dilation = dilation
        self.spatialRank = spatialRank
        self.kernel = kernel
        self.bias = bias
        self.groups = groups
        self.strides = strides
        self.padding = padding
        self.depthwise = depthwise
    }
}

public struct BatchNormSpec: Sendable, Equatable {
    public var gamma: TensorRef?
    public var beta: TensorRef?
    public var mean: TensorRef
    public var variance: TensorRef
    public var epsilon: Double

    public init(gamma: TensorRef?, beta: TensorRef?, mean: TensorRef, variance: TensorRef, epsilon: Double) {
        self.gamma = gamma
        self.beta = beta
        self.mean = mean
        self.variance = variance
        self.epsilon = epsilon
    }
}

public enum PoolKind: String, Sendable, Equatable {
    case max, average
}

public indirect enum NodeKind: Sendable, Equatable {
    /// A network input.
    case input
    /// `y = A x + b`.
    case dense(kernel: TensorRef, bias: TensorRef?)
    case conv(ConvSpec)
    /// Inference BatchNorm `diag(s) x + t` (folded into a directly preceding operator).
    case batchNorm(BatchNormSpec)
    /// An element-wise activation layer.
    case activation(Activation)
    /// PReLU with learned slopes (Lip = max(1, max|α|)).
    case prelu(alpha: TensorRef)
    /// Pooling with window `pool` and `strides` (global pooling: `pool` empty).
    case pooling(PoolKind, pool: [Int], strides: [Int], global: Bool)
    /// Shape-only layers with Lipschitz constant 1: flatten, reshape, dropout, permute.
    case passThrough(String)
    /// Element-wise sum of the inputs (residual connections).
    case add
    /// Concatenation of the inputs.
    case concatenate
    /// A lookup table (input is discrete): per-operator metrics only.
    case embedding(table: TensorRef)
    /// A layer with weights the tool reports per tensor but cannot place in the chain (e.g.
    /// LayerNormalization): `className` explains.
    case parameterized(className: String, tensors: [TensorRef])
    /// A layer the operator model does not cover (attention, recurrent cells, unknown classes):
    /// the network bound is unavailable beyond it.
    case unsupported(className: String, tensors: [TensorRef])

    /// Short kind string used in reports.
    public var reportKind: String {
        switch self {
        case .input: return "input"
        case .dense: return "dense"
        case .conv(let c):
            if c.depthwise { return "depthwise_conv\(c.spatialRank)d" }
            return "conv\(c.spatialRank)d"
        case .batchNorm: return "batch_norm"
        case .activation: return "activation"
        case .prelu: return "prelu"
        case .pooling(let k, _, _, let g): return (g ? "global_" : "") + (k == .max ? "max_pool" : "avg_pool")
        case .passThrough(let s): return s
        case .add: return "add"
        case .concatenate: return "concatenate"
        case .embedding: return "embedding"
        case .parameterized(let c, _): return c
        case .unsupported(let c, _): return c
        }
    }

    /// True for linear operators whose spectra are analysed.
    public var isOperator: Bool {
        switch self {
        case .dense, .conv, .embedding: return true
        default: return false
        }
    }
}
