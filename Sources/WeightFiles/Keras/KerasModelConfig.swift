/// The architecture a Keras file carries (`model_config` attribute of a legacy `.h5`, or the
/// `config.json` of a `.keras` zip), reduced to what an audit needs: each layer's name, class,
/// configuration and the layers it takes input from.
///
/// Formats understood:
/// - Sequential (Keras 2 and 3): `{"class_name": "Sequential", "config": {"layers": [...]}}`;
///   a layer's input is the previous layer.
/// - Functional (Keras 2): `inbound_nodes: [[["fc1", 0, 0, {}], ...]]`.
/// - Functional (Keras 3): `inbound_nodes: [{"args": [...], "kwargs": {...}}]` where inputs are
///   `__keras_tensor__` objects carrying `keras_history: [layer, node, tensor]`.
/// Nested Sequential models are flattened in order; other nested models stay one layer.
public struct KerasModelConfig: Sendable, Equatable {
    public struct Layer: Sendable, Equatable {
        public var name: String
        public var className: String
        public var config: JSONValue
        /// Names of the layers whose outputs feed this one (Functional models). Empty for the
        /// first layer; for Sequential models, the previous layer.
        public var inbound: [String]

        /// The activation named in the config (`"relu"`, or Keras 3's serialized function form).
        public var activationName: String? {
            guard let a = config["activation"] else { return nil }
            if let s = a.string { return s }
            if let s = a["config"]?.string { return s }
            if let s = a["config"]?["name"]?.string { return s }
            return a["class_name"]?.string
        }

        /// The variable dtype the layer was saved with (`float32`, `bfloat16`, …), if stated.
        public var variableDType: String? {
            guard let d = config["dtype"] else { return nil }
            if let s = d.string { return s }
            return d["config"]?["name"]?.string
        }
    }

    public var className: String
    public var name: String
    public var layers: [Layer]
    public var isSequential: Bool
    public var inputLayers: [String]
    public var outputLayers: [String]

    public func layer(named name: String) -> Layer? { layers.first { $0.name == name } }

    /// Parses a config document; errors name `path` and the place.
    public static func parse(_ json: String, path: String, limits: ReaderLimits = ReaderLimits()) throws -> KerasModelConfig {
        let root: JSONValue
        do {
            root = try JSONValue.parse(json, maxDepth: limits.maxJSONDepth)
        } catch let e as JSONParseError {
            throw WeightFileError(.malformed, path: path, place: "model config", detail: e.description)
        }
        guard let cls = root["class_name"]?.string, let cfg = root["config"] else {
            throw WeightFileError(.malformed, path: path, place: "model config",
                                  expected: "an object with \"class_name\" and \"config\"", found: "something else")
        }
        return try parseModel(className: cls, config: cfg, path: path)
    }

    private static func parseModel(className: String, config: JSONValue, path: String) throws -> KerasModelConfig {
        let name = config["name"]?.string ?? className
        let rawLayers: [JSONValue]
        if let list = config["layers"]?.array {
            rawLayers = list
        } else if let list = config.array {
            rawLayers = list // very old Sequential configs: "config": [ ...layers ]
        } else {
            throw WeightFileError(.malformed, path: path, place: "model config '\(name)'",
                                  expected: "a \"layers\" list", found: "none")
        }
        let sequential = className == "Sequential"
        var layers: [Layer] = []
        for (i, raw) in rawLayers.enumerated() {
            guard let cls = raw["class_name"]?.string, let cfg = raw["config"] else {
                throw WeightFileError(.malformed, path: path, place: "model config layer #\(i)",
                                      expected: "\"class_name\" and \"config\"", found: "missing")
            }
            let lname = cfg["name"]?.string ?? raw["name"]?.string ?? "\(cls.lowercased())_\(i)"
            if sequential && cls == "Sequential" {
                // Flatten a nested Sequential: its layers run in order.
                let inner = try parseModel(className: cls, config: cfg, path: path)
                for var l in inner.layers {
                    l.inbound = layers.last.map { [$0.name] } ?? []
                    layers.append(l)
                }
                continue
            }
            let inbound: [String]
            if sequential {
                inbound = layers.last.map { [$0.name] } ?? []
            } else {
                inbound = inboundNames(raw["inbound_nodes"])
            }
            layers.append(Layer(name: lname, className: cls, config: cfg, inbound: inbound))
        }
        func endpoints(_ v: JSONValue?) -> [String] {
            guard let v else { return [] }
            var out: [String] = []
            collectHistory(v, into: &out)
            if out.isEmpty, let a = v.array {
                // Keras 2: [["input_1", 0, 0], ...] or a single ["input_1", 0, 0].
                if let s = a.first?.string { out.append(s) } else {
                    for e in a { if let s = e.array?.first?.string { out.append(s) } }
                }
            }
            return out
        }
        var inputs = endpoints(config["input_layers"])
        var outputs = endpoints(config["output_layers"])
        if sequential || inputs.isEmpty { inputs = layers.first.map { [$0.name] } ?? [] }
        if sequential || outputs.isEmpty { outputs = layers.last.map { [$0.name] } ?? [] }
        return KerasModelConfig(className: className, name: name, layers: layers, isSequential: sequential,
                                inputLayers: inputs, outputLayers: outputs)
    }

    /// Layer names referenced by a layer's `inbound_nodes`, in argument order.
    static func inboundNames(_ nodes: JSONValue?) -> [String] {
        guard let nodes else { return [] }
        var out: [String] = []
        collectHistory(nodes, into: &out)
        if !out.isEmpty { return out }
        // Keras 2: [[["fc1", 0, 0, {}], ["fc2", 0, 0, {}]]]
        for node in nodes.array ?? [] {
            for inbound in node.array ?? [] {
                if let s = inbound.array?.first?.string { out.append(s) }
            }
        }
        return out
    }

    private static func collectHistory(_ v: JSONValue, into out: inout [String]) {
        switch v {
        case .object(let d):
            if let h = d["keras_history"]?.array, let s = h.first?.string {
                out.append(s)
                return
            }
            for k in d.keys { if let x = d[k] { collectHistory(x, into: &out) } }
        case .array(let a):
            for x in a { collectHistory(x, into: &out) }
        default:
            break
        }
    }

    /// Variable names of a layer in the order Keras stores them (Keras 3 `.weights.h5` stores
    /// them by index only). Unknown classes get `var0`, `var1`, …
    public static func variableNames(className: String, config: JSONValue, count: Int) -> [String] {
        let useBias = config["use_bias"]?.bool ?? true
        var names: [String]
        switch className {
        case "Dense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose",
             "DepthwiseConv1D", "DepthwiseConv2D", "EinsumDense":
            names = useBias ? ["kernel", "bias"] : ["kernel"]
        case "SeparableConv1D", "SeparableConv2D":
            names = useBias ? ["depthwise_kernel", "pointwise_kernel", "bias"] : ["depthwise_kernel", "pointwise_kernel"]
        case "BatchNormalization":
            names = []
            if config["scale"]?.bool ?? true { names.append("gamma") }
            if config["center"]?.bool ?? true { names.append("beta") }
            names += ["moving_mean", "moving_variance"]
        case "LayerNormalization":
            names = []
            if config["scale"]?.bool ?? true { names.append("gamma") }
            if config["center"]?.bool ?? true { names.append("beta") }
        case "PReLU": names = ["alpha"]
        case "LSTM", "GRU", "SimpleRNN", "LSTMCell", "GRUCell", "SimpleRNNCell":
            names = useBias ? ["kernel", "recurrent_kernel", "bias"] : ["kernel", "recurrent_kernel"]
        case "Embedding": names = ["embeddings"]
        default: names = []
        }
        if names.count != count { names = (0..<count).map { "var\($0)" } }
        return names
    }

    /// The orientation a Keras variable is stored in (Keras always stores `[in, out]` kernels and
    /// channels-last `[k..., in, out]` conv kernels).
    public static func orientation(className: String?, variable: String, rank: Int) -> Orientation {
        switch variable {
        case "kernel":
            if rank == 2 { return .inOut }
            if rank >= 3 {
                if let c = className, c.hasPrefix("DepthwiseConv") { return .depthwiseHWIM }
                if let c = className, c.hasSuffix("Transpose") { return .unknown }
                return .convHWIO
            }
            return .unknown
        case "depthwise_kernel": return rank >= 3 ? .depthwiseHWIM : .unknown
        case "pointwise_kernel": return rank >= 3 ? .convHWIO : .unknown
        default: return .unknown
        }
    }
}
