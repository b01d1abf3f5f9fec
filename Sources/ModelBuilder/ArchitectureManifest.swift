import Foundation
import SpectralModel
import WeightFiles

/// An architecture manifest (`--arch FILE`, schema `schemas/arch-manifest.schema.json`): states
/// the network structure for files whose names carry none (npz, safetensors), or overrides what a
/// Keras config says.
///
/// ```json
/// {"schema": "spectral-audit-arch/1", "input_shape": [784],
///  "layers": [
///    {"name": "fc1", "type": "dense", "weight": "fc1.weight", "bias": "fc1.bias",
///     "orientation": "out_in", "activation": "relu"},
///    {"name": "fc2", "type": "dense", "weight": "fc2.weight", "orientation": "out_in"}],
///  "outputs": ["fc2"]}
/// ```
/// A layer's `inputs` default to the previous layer (the first layer reads `input`).
public struct ArchitectureManifest: Sendable {
    public static let schemaName = "spectral-audit-arch/1"
    public static let layerTypes = ["dense", "conv1d", "conv2d", "conv3d", "depthwise_conv1d", "depthwise_conv2d",
                                    "batch_norm", "activation", "prelu", "max_pool", "avg_pool", "global_max_pool",
                                    "global_avg_pool", "flatten", "reshape", "dropout", "identity", "add",
                                    "concatenate", "embedding", "layer_norm", "unsupported"]

    public let path: String
    public let document: JSONValue

    public struct Invalid: Error, CustomStringConvertible {
        public var path: String
        public var place: String
        public var message: String
        public var description: String { "\(path): \(place): \(message)" }
    }

    public static func load(path: String, limits: ReaderLimits = ReaderLimits()) throws -> ArchitectureManifest {
        try PathCheck.requireReadableFile(path)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw WeightFileError(.unreadable, path: path, place: "path", detail: "cannot read")
        }
        guard data.count <= limits.maxHeaderBytes else {
            throw Invalid(path: path, place: "file", message: "larger than \(limits.maxHeaderBytes) bytes")
        }
        do {
            return ArchitectureManifest(path: path, document: try JSONValue.parse(data, maxDepth: limits.maxJSONDepth))
        } catch let e as JSONParseError {
            throw Invalid(path: path, place: "JSON", message: e.description)
        }
    }

    /// A single value applies to every axis.
    func perAxis(_ v: [Int], _ count: Int) -> [Int] {
        v.count == 1 ? [Int](repeating: v[0], count: count) : v
    }

    public init(path: String, document: JSONValue) {
        self.path = path
        self.document = document
    }

    /// The graph the manifest describes, checked against the file's tensors.
    public func graph(tensors: [TensorInfo]) throws -> NetworkGraph {
        func fail(_ place: String, _ msg: String) -> Invalid { Invalid(path: path, place: place, message: msg) }
        guard document.isObject else { throw fail("top level", "expected a JSON object") }
        for k in document.keys where !["schema", "input_shape", "layers", "outputs", "description"].contains(k) {
            throw fail("key '\(k)'", "unknown key")
        }
        guard document["schema"]?.string == Self.schemaName else {
            throw fail("schema", "expected \"\(Self.schemaName)\"")
        }
        guard let layers = document["layers"]?.array, !layers.isEmpty else { throw fail("layers", "expected a non-empty array") }
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var nodes = [Node(name: "input", kind: .input, inputs: [])]
        var index = ["input": 0]
        var inputShape: [Int]?
        if let s = document["input_shape"] {
            guard let dims = s.array?.compactMap(\.int), dims.count == s.array?.count, dims.allSatisfy({ $0 > 0 }) else {
                throw fail("input_shape", "expected an array of positive integers")
            }
            inputShape = dims
        }
        let allowedKeys: Set<String> = ["name", "type", "inputs", "weight", "bias", "orientation", "activation", "groups",
                                        "strides", "padding", "gamma", "beta", "mean", "variance", "epsilon", "alpha",
                                        "pool", "tensors", "negative_slope"]
        for (li, l) in layers.enumerated() {
            let place = "layers[\(li)]"
            guard l.isObject else { throw fail(place, "expected an object") }
            for k in l.keys where !allowedKeys.contains(k) { throw fail("\(place).\(k)", "unknown key") }
            guard let name = l["name"]?.string, !name.isEmpty else { throw fail("\(place).name", "expected a string") }
            guard index[name] == nil else { throw fail("\(place).name", "duplicate layer name '\(name)'") }
            guard let type = l["type"]?.string, Self.layerTypes.contains(type) else {
                throw fail("\(place).type", "expected one of \(Self.layerTypes.joined(separator: ", "))")
            }
            var inputs: [Int]
            if let list = l["inputs"] {
                guard let names = list.array?.compactMap(\.string), names.count == list.array?.count, !names.isEmpty else {
                    throw fail("\(place).inputs", "expected a non-empty array of layer names")
                }
                inputs = try names.map { n in
                    guard let i = index[n] else { throw fail("\(place).inputs", "unknown or later layer '\(n)'") }
                    return i
                }
            } else {
                inputs = [nodes.count - 1]
            }
            func tensor(_ key: String, _ rule: OrientationRule, required: Bool = true) throws -> TensorRef? {
                guard let n = l[key]?.string else {
                    if required { throw fail("\(place).\(key)", "expected a tensor name") }
                    return nil
                }
                guard let t = byName[n] else { throw fail("\(place).\(key)", "no tensor '\(n)' in the model file") }
                return TensorRef(name: n, shape: t.shape, orientation: rule)
            }
            func ints(_ key: String) -> [Int] { l[key]?.array?.compactMap(\.int) ?? l[key]?.int.map { [$0] } ?? [] }
            let orientationName = l["orientation"]?.string
            var activation: Activation?
            if let a = l["activation"] {
                guard let name = a.string, var act = Activation.named(name) else {
                    throw fail("\(place).activation", "unknown activation '\(a.string ?? "?")'")
                }
                if let slope = l["negative_slope"] {
                    guard case .leakyRelu = act, let v = slope.number, v.isFinite else {
                        throw fail("\(place).negative_slope", "a finite number, with activation leaky_relu")
                    }
                    act = .leakyRelu(alpha: v)
                }
                activation = act
            } else if l["negative_slope"] != nil {
                throw fail("\(place).negative_slope", "only with activation leaky_relu")
            }
            let padding = l["padding"]?.string ?? "same"
            guard ["same", "valid", "circular"].contains(padding) else {
                throw fail("\(place).padding", "expected \"same\", \"valid\" or \"circular\"")
            }
            if let g = l["groups"], (g.int ?? 0) < 1 { throw fail("\(place).groups", "expected an integer ≥ 1") }
            if let e = l["epsilon"], !((e.number ?? -1) > 0) { throw fail("\(place).epsilon", "expected a number > 0") }
            let kind: NodeKind
            switch type {
            case "dense":
                let rule: OrientationRule
                switch orientationName ?? "out_in" {
                case "out_in": rule = .outIn
                case "in_out": rule = .inOut
                default: throw fail("\(place).orientation", "expected \"out_in\" or \"in_out\"")
                }
                guard let w = try tensor("weight", rule), w.shape.count == 2 else { throw fail("\(place).weight", "expected a 2-D tensor") }
                kind = .dense(kernel: w, bias: try tensor("bias", .vector, required: false))
            case "conv1d", "conv2d", "conv3d", "depthwise_conv1d", "depthwise_conv2d":
                let depthwise = type.hasPrefix("depthwise")
                let rank = Int(String(type.dropLast(1).last!)) ?? 2
                let rule: OrientationRule
                switch orientationName ?? (depthwise ? "depthwise_hwim" : "conv_oihw") {
                case "conv_oihw": rule = .convOIHW
                case "conv_hwio": rule = .convHWIO
                case "depthwise_hwim": rule = .depthwiseHWIM
                default: throw fail("\(place).orientation", "expected \"conv_oihw\", \"conv_hwio\" or \"depthwise_hwim\"")
                }
                guard let w = try tensor("weight", rule), w.shape.count == rank + 2 else {
                    throw fail("\(place).weight", "expected a \(rank + 2)-D kernel")
                }
                var groups = l["groups"]?.int ?? 1
                if depthwise && rule == .depthwiseHWIM { groups = w.shape[w.shape.count - 2] }
                kind = .conv(ConvSpec(spatialRank: rank, kernel: w, bias: try tensor("bias", .vector, required: false),
                                      groups: groups, strides: perAxis(ints("strides"), rank), padding: padding,
                                      depthwise: depthwise))
            case "batch_norm":
                kind = .batchNorm(BatchNormSpec(gamma: try tensor("gamma", .vector, required: false),
                                                beta: try tensor("beta", .vector, required: false),
                                                mean: try tensor("mean", .vector)!, variance: try tensor("variance", .vector)!,
                                                epsilon: l["epsilon"]?.number ?? 1e-5))
            case "activation":
                guard let a = activation else { throw fail("\(place).activation", "expected an activation name") }
                kind = .activation(a)
                activation = nil
            case "prelu":
                kind = .prelu(alpha: try tensor("alpha", .vector)!)
            case "max_pool", "avg_pool":
                let pool = ints("pool")
                guard !pool.isEmpty else { throw fail("\(place).pool", "expected the window size") }
                let strides = ints("strides")
                guard strides.isEmpty || strides.count == 1 || strides.count == pool.count else {
                    throw fail("\(place).strides", "one stride, or one per pooled axis (\(pool.count))")
                }
                kind = .pooling(type == "max_pool" ? .max : .average, pool: pool,
                                strides: strides.isEmpty ? pool : perAxis(strides, pool.count), global: false)
            case "global_max_pool": kind = .pooling(.max, pool: [], strides: [], global: true)
            case "global_avg_pool": kind = .pooling(.average, pool: [], strides: [], global: true)
            case "flatten", "reshape", "dropout", "identity": kind = .passThrough(type)
            case "add":
                guard inputs.count >= 2 else { throw fail("\(place).inputs", "add needs at least two inputs") }
                kind = .add
            case "concatenate":
                guard inputs.count >= 2 else { throw fail("\(place).inputs", "concatenate needs at least two inputs") }
                kind = .concatenate
            case "embedding":
                kind = .embedding(table: try tensor("weight", .inOut)!)
            case "layer_norm", "unsupported":
                let names = l["tensors"]?.array?.compactMap(\.string) ?? []
                let refs = try names.map { n -> TensorRef in
                    guard let t = byName[n] else { throw fail("\(place).tensors", "no tensor '\(n)' in the model file") }
                    return TensorRef(name: n, shape: t.shape, orientation: .vector)
                }
                kind = type == "layer_norm" ? .parameterized(className: "LayerNormalization", tensors: refs)
                                            : .unsupported(className: "unsupported", tensors: refs)
            default:
                throw fail("\(place).type", "unhandled type '\(type)'")
            }
            if inputs.count > 1, !(kind == .add || kind == .concatenate) {
                throw fail("\(place).inputs", "only add and concatenate take several inputs")
            }
            nodes.append(Node(name: name, kind: kind, inputs: inputs, activation: activation,
                              activationSource: activation == nil ? nil : "manifest"))
            index[name] = nodes.count - 1
        }
        var outputs = [nodes.count - 1]
        if let o = document["outputs"] {
            guard let outs = o.array, !outs.isEmpty else { throw fail("outputs", "expected a non-empty array of layer names") }
            outputs = try outs.map { o in
                guard let n = o.string, let i = index[n] else { throw fail("outputs", "unknown layer '\(o.string ?? "?")'") }
                return i
            }
        }
        if inputShape == nil, let first = nodes.first(where: { $0.kind.isOperator }), case .dense(let k, _) = first.kind {
            inputShape = [k.orientation == .outIn ? k.shape[1] : k.shape[0]]
        }
        return NetworkGraph(nodes: nodes, outputs: outputs, inputShape: inputShape, source: "manifest", assumptions: [])
    }
}
