/// The computation graph of an ONNX file, described without any meaning attached: node types,
/// the value names they read and write, their attributes, the graph's inputs and outputs with
/// their declared shapes. The reader knows nothing of networks; `SpectralModel` turns this into
/// a `NetworkGraph`, and `inspect` prints it.
public struct ONNXGraphSummary: Sendable, Hashable {
    public var irVersion: Int64
    /// `producer_name producer_version`, e.g. `pytorch 2.13.0`.
    public var producer: String
    /// Operator set versions by domain (`""` is the default `ai.onnx` domain).
    public var opsets: [String: Int64]
    public var graph: ONNXGraph
    /// Tensors the file holds that are not read as tensors (string, complex, float8, 4-bit,
    /// sparse): store-style name → why.
    public var skippedTensors: [String: String]

    /// The default-domain opset (`ai.onnx`), when declared.
    public var opset: Int64? { opsets[""] ?? opsets["ai.onnx"] }

    public init(irVersion: Int64, producer: String, opsets: [String: Int64], graph: ONNXGraph,
                skippedTensors: [String: String]) {
        self.irVersion = irVersion
        self.producer = producer
        self.opsets = opsets
        self.graph = graph
        self.skippedTensors = skippedTensors
    }
}

/// One graph: the main graph (`path` empty) or a subgraph held by a node attribute
/// (`path` = `<node>/<attribute>`, nested paths joined by `/`).
public struct ONNXGraph: Sendable, Hashable {
    public var name: String
    public var path: String
    public var nodes: [ONNXNode]
    /// Declared inputs that are not initializers (the data the graph is fed).
    public var inputs: [ONNXValueInfo]
    public var outputs: [ONNXValueInfo]
    /// Value name → name of the tensor in the store, for every initializer and `Constant`
    /// output of this graph.
    public var constants: [String: String]

    public init(name: String, path: String, nodes: [ONNXNode], inputs: [ONNXValueInfo], outputs: [ONNXValueInfo],
                constants: [String: String]) {
        self.name = name
        self.path = path
        self.nodes = nodes
        self.inputs = inputs
        self.outputs = outputs
        self.constants = constants
    }

    /// Node counts by `op_type` (with `domain:` prefix outside the default domain), this graph only.
    public var opCounts: [String: Int] {
        var counts: [String: Int] = [:]
        for n in nodes { counts[n.qualifiedOpType, default: 0] += 1 }
        return counts
    }

    /// This graph and every subgraph, depth first.
    public var allGraphs: [ONNXGraph] {
        var out = [self]
        for n in nodes {
            for a in n.attributes {
                switch a.value {
                case .graph(let g): out += g.allGraphs
                case .graphs(let gs): out += gs.flatMap(\.allGraphs)
                default: break
                }
            }
        }
        return out
    }
}

public struct ONNXNode: Sendable, Hashable {
    /// The node's `name`, or `<op_type>_<index in its graph>` when the file gives none.
    public var name: String
    public var opType: String
    public var domain: String
    /// Value names read (an empty string is an omitted optional input) and written.
    public var inputs: [String]
    public var outputs: [String]
    public var attributes: [ONNXAttribute]

    public init(name: String, opType: String, domain: String, inputs: [String], outputs: [String],
                attributes: [ONNXAttribute]) {
        self.name = name
        self.opType = opType
        self.domain = domain
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }

    public var qualifiedOpType: String {
        domain.isEmpty || domain == "ai.onnx" ? opType : "\(domain):\(opType)"
    }

    public func attribute(_ name: String) -> ONNXAttribute.Value? {
        attributes.first { $0.name == name }?.value
    }
}

public struct ONNXAttribute: Sendable, Hashable {
    public indirect enum Value: Sendable, Hashable {
        case int(Int64)
        case float(Double)
        case string(String)
        case ints([Int64])
        case floats([Double])
        case strings([String])
        /// A tensor attribute, by its name in the store (`Constant` values) or nil when the
        /// tensor is not one the store lists.
        case tensor(String?)
        case tensors(count: Int)
        case graph(ONNXGraph)
        case graphs([ONNXGraph])
        /// Sparse tensors, type protos, references to function attributes.
        case other(String)

        public var int: Int64? { if case .int(let v) = self { return v }; return nil }
        public var float: Double? { if case .float(let v) = self { return v }; return nil }
        public var string: String? { if case .string(let v) = self { return v }; return nil }
        public var ints: [Int64]? { if case .ints(let v) = self { return v }; return nil }
    }

    public var name: String
    public var value: Value

    public init(name: String, value: Value) {
        self.name = name
        self.value = value
    }
}

/// A declared graph input or output.
public struct ONNXValueInfo: Sendable, Hashable {
    public enum Dimension: Sendable, Hashable, CustomStringConvertible {
        case value(Int64)
        case parameter(String)
        case unknown

        public var description: String {
            switch self {
            case .value(let v): return "\(v)"
            case .parameter(let p): return p
            case .unknown: return "?"
            }
        }
    }

    public var name: String
    /// Element type name (`FLOAT`, `INT64`, …), or the kind of a non-tensor type (`sequence`).
    public var elementType: String
    /// nil when the shape is not declared.
    public var shape: [Dimension]?

    public init(name: String, elementType: String, shape: [Dimension]?) {
        self.name = name
        self.elementType = elementType
        self.shape = shape
    }
}
