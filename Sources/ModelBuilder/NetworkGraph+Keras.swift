import SpectralModel
import WeightFiles

extension NetworkGraph {
    /// Builds the graph from a Keras config (Sequential or Functional) and the file's tensors,
    /// which `KerasHDF5Layout` has already assigned to layers and variables.
    public static func fromKeras(_ config: KerasModelConfig, tensors: [TensorInfo], kerasMajor: Int = 3) -> NetworkGraph {
        var nodes: [Node] = []
        var indexByName: [String: Int] = [:]
        var assumptions: [String] = []
        var inputShape: [Int]?

        let byLayer = Dictionary(grouping: tensors.filter { $0.role == .weights || $0.role == .buffer }) { $0.layer ?? "" }

        func ref(_ layer: String, _ variable: String, _ rule: OrientationRule) -> TensorRef? {
            guard let t = byLayer[layer]?.first(where: { $0.variable == variable }) else { return nil }
            return TensorRef(name: t.name, shape: t.shape, orientation: rule)
        }
        func allRefs(_ layer: String) -> [TensorRef] {
            (byLayer[layer] ?? []).map { TensorRef(name: $0.name, shape: $0.shape, orientation: .vector) }
        }

        // A Sequential model without an InputLayer starts from an implicit input.
        let hasInputLayer = config.layers.contains { $0.className == "InputLayer" }
        if !hasInputLayer {
            nodes.append(Node(name: "input", kind: .input, inputs: []))
            indexByName["input"] = 0
            if let shape = batchShape(config.layers.first?.config) { inputShape = shape }
        }

        for layer in config.layers {
            let cfg = layer.config
            var inputs = layer.inbound.compactMap { indexByName[$0] }
            if inputs.isEmpty && layer.className != "InputLayer" && !nodes.isEmpty {
                inputs = [nodes.count - 1]
            }
            var activation: Activation?
            var activationSource: String?
            if let a = layer.activationName {
                if let act = Activation.named(a, kerasMajor: kerasMajor) {
                    activation = act
                    activationSource = "config"
                } else {
                    activation = nil
                    activationSource = "unknown:\(a)"
                }
            }
            let strides = cfg["strides"]?.array?.compactMap(\.int) ?? cfg["strides"]?.int.map { [$0] } ?? []
            let padding = cfg["padding"]?.string ?? "valid"
            let dilation = cfg["dilation_rate"]?.array?.compactMap(\.int) ?? cfg["dilation_rate"]?.int.map { [$0] } ?? []
            var attributes: [String: String] = [:]
            let kind: NodeKind
            switch layer.className {
            case "InputLayer":
                kind = .input
                if inputShape == nil { inputShape = batchShape(cfg) }
            case "Dense":
                if let k = ref(layer.name, "kernel", .inOut) {
                    kind = .dense(kernel: k, bias: ref(layer.name, "bias", .vector))
                } else {
                    kind = .unsupported(className: "Dense", tensors: allRefs(layer.name))
                }
            case "Conv1D", "Conv2D", "Conv3D":
                let rank = Int(String(layer.className.dropFirst(4).prefix(1))) ?? 2
                if let k = ref(layer.name, "kernel", .convHWIO) {
                    kind = .conv(ConvSpec(spatialRank: rank, kernel: k, bias: ref(layer.name, "bias", .vector),
                                          groups: cfg["groups"]?.int ?? 1, strides: strides, padding: padding, depthwise: false,
                                          dilation: dilation))
                } else {
                    kind = .unsupported(className: layer.className, tensors: allRefs(layer.name))
                }
            case "DepthwiseConv1D", "DepthwiseConv2D":
                let rank = layer.className == "DepthwiseConv1D" ? 1 : 2
                let k = ref(layer.name, "kernel", .depthwiseHWIM) ?? ref(layer.name, "depthwise_kernel", .depthwiseHWIM)
                if let k {
                    let channels = k.shape.count >= 2 ? k.shape[k.shape.count - 2] : 1
                    kind = .conv(ConvSpec(spatialRank: rank, kernel: k, bias: ref(layer.name, "bias", .vector),
                                          groups: channels, strides: strides, padding: padding, depthwise: true,
                                          dilation: dilation))
                } else {
                    kind = .unsupported(className: layer.className, tensors: allRefs(layer.name))
                }
            case "SeparableConv1D", "SeparableConv2D":
                // Two operators in sequence: depthwise, then a 1×1 pointwise convolution.
                let rank = layer.className == "SeparableConv1D" ? 1 : 2
                if let dk = ref(layer.name, "depthwise_kernel", .depthwiseHWIM),
                   let pk = ref(layer.name, "pointwise_kernel", .convHWIO) {
                    let channels = dk.shape.count >= 2 ? dk.shape[dk.shape.count - 2] : 1
                    let dw = Node(name: layer.name + "/depthwise",
                                  kind: .conv(ConvSpec(spatialRank: rank, kernel: dk, bias: nil, groups: channels,
                                                       strides: strides, padding: padding, depthwise: true,
                                                       dilation: dilation)),
                                  inputs: inputs)
                    nodes.append(dw)
                    inputs = [nodes.count - 1]
                    kind = .conv(ConvSpec(spatialRank: rank, kernel: pk, bias: ref(layer.name, "bias", .vector),
                                          groups: 1, strides: [], padding: "valid", depthwise: false))
                    let pw = Node(name: layer.name + "/pointwise", kind: kind, inputs: inputs,
                                  activation: activation, activationSource: activationSource)
                    nodes.append(pw)
                    indexByName[layer.name] = nodes.count - 1
                    continue
                }
                kind = .unsupported(className: layer.className, tensors: allRefs(layer.name))
            case "BatchNormalization":
                if let mean = ref(layer.name, "moving_mean", .vector), let variance = ref(layer.name, "moving_variance", .vector) {
                    kind = .batchNorm(BatchNormSpec(gamma: ref(layer.name, "gamma", .vector), beta: ref(layer.name, "beta", .vector),
                                                    mean: mean, variance: variance, epsilon: cfg["epsilon"]?.number ?? 1e-3))
                } else {
                    kind = .unsupported(className: layer.className, tensors: allRefs(layer.name))
                }
            case "Activation":
                if let a = layer.activationName, let act = Activation.named(a, kerasMajor: kerasMajor) {
                    kind = .activation(act)
                } else {
                    kind = .unsupported(className: "Activation(\(layer.activationName ?? "?"))", tensors: [])
                }
                activation = nil
                activationSource = nil
            case "ReLU":
                let slope = cfg["negative_slope"]?.number ?? 0
                kind = .activation(slope == 0 ? .relu : .leakyRelu(alpha: slope))
            case "LeakyReLU":
                kind = .activation(.leakyRelu(alpha: cfg["negative_slope"]?.number ?? cfg["alpha"]?.number ?? 0.3))
            case "ELU":
                kind = .activation(.elu(alpha: cfg["alpha"]?.number ?? 1))
            case "Softmax":
                kind = .activation(.softmaxOutput)
            case "PReLU":
                if let a = ref(layer.name, "alpha", .vector) {
                    kind = .prelu(alpha: a)
                } else {
                    kind = .unsupported(className: "PReLU", tensors: allRefs(layer.name))
                }
            case "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "AveragePooling1D", "AveragePooling2D", "AveragePooling3D":
                let rank = Int(String(layer.className.dropLast(1).last ?? "2")) ?? 2
                var pool = cfg["pool_size"]?.array?.compactMap(\.int) ?? cfg["pool_size"]?.int.map { [$0] } ?? [2]
                if pool.count == 1 && rank > 1 { pool = [Int](repeating: pool[0], count: rank) }
                let s = strides.isEmpty ? pool : (strides.count == 1 ? [Int](repeating: strides[0], count: pool.count) : strides)
                kind = .pooling(layer.className.hasPrefix("Max") ? .max : .average, pool: pool, strides: s, global: false)
                attributes["padding"] = padding
            case "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalAveragePooling3D":
                kind = .pooling(.average, pool: [], strides: [], global: true)
            case "GlobalMaxPooling1D", "GlobalMaxPooling2D", "GlobalMaxPooling3D":
                kind = .pooling(.max, pool: [], strides: [], global: true)
            case "Flatten", "Reshape", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                 "GaussianNoise", "GaussianDropout", "AlphaDropout", "Permute", "ZeroPadding1D", "ZeroPadding2D",
                 "ZeroPadding3D", "Cropping1D", "Cropping2D", "Cropping3D", "ActivityRegularization":
                kind = .passThrough(layer.className.lowercased())
            case "Add", "Subtract":
                kind = .add
            case "Concatenate":
                kind = .concatenate
            case "Embedding":
                if let t = ref(layer.name, "embeddings", .inOut) {
                    kind = .embedding(table: t)
                } else {
                    kind = .unsupported(className: "Embedding", tensors: allRefs(layer.name))
                }
            case "LayerNormalization", "GroupNormalization", "UnitNormalization":
                kind = .parameterized(className: layer.className, tensors: allRefs(layer.name))
            default:
                kind = .unsupported(className: layer.className, tensors: allRefs(layer.name))
            }
            // Issue 19: LSTM/GRU keep their settings too (return_sequences, reset_after, …) for
            // their horizon bound.
            var copyScalars = ["LSTM", "GRU", "SimpleRNN"].contains(layer.className)
            if case .parameterized = kind { copyScalars = true }
            if copyScalars {
                // Scalar settings of layers the graph does not model itself (epsilon, axis, …),
                // by Keras's names, for the forward engine's ops.
                for key in cfg.keys {
                    guard let v = cfg[key] else { continue }
                    if let t = v.string { attributes[key] = t } else if case .number(let t) = v { attributes[key] = t } else if let b = v.bool {
                        attributes[key] = b ? "true" : "false"
                    } else if let a = v.array, !a.isEmpty, a.allSatisfy({ $0.int != nil }) {
                        attributes[key] = a.map { String($0.int!) }.joined(separator: ",")
                    }
                }
            }
            if case .unsupported = kind {} else if case .parameterized = kind {} else if activationSource?.hasPrefix("unknown:") == true {
                assumptions.append("layer '\(layer.name)': activation '\(activationSource!.dropFirst(8))' has no tabulated Lipschitz constant")
            }
            nodes.append(Node(name: layer.name, kind: kind, inputs: inputs, activation: activation,
                              activationSource: activationSource, attributes: attributes))
            indexByName[layer.name] = nodes.count - 1
        }
        var outputs = config.outputLayers.compactMap { indexByName[$0] }
        if outputs.isEmpty, !nodes.isEmpty { outputs = [nodes.count - 1] }
        return NetworkGraph(nodes: nodes, outputs: outputs, inputShape: inputShape, source: "keras_config",
                            assumptions: assumptions)
    }

    /// `batch_shape` (Keras 3) or `batch_input_shape` (Keras 2) without the batch dimension.
    static func batchShape(_ cfg: JSONValue?) -> [Int]? {
        guard let cfg, let arr = (cfg["batch_shape"] ?? cfg["batch_input_shape"])?.array, arr.count >= 2 else { return nil }
        let dims = arr.dropFirst().map { $0.int ?? -1 }
        return dims.contains(where: { $0 <= 0 }) ? nil : Array(dims)
    }
}
