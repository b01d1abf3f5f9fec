import HDF5Kit

/// How Keras lays weights out inside HDF5, written once:
///
/// **Legacy `.h5`** (Keras 2, tf.keras, and Keras 3's `model.save("x.h5")`):
/// - full model: root attributes `model_config` (JSON), `keras_version`, `backend`; weights under
///   `/model_weights`, whose attribute `layer_names` lists the layers in order; optimizer state
///   under `/optimizer_weights`.
/// - weights only (`save_weights("x.h5")`): `layer_names` on the root itself.
/// - attributes larger than 64 KiB are split by Keras into `layer_names0`, `layer_names1`, …
///   (likewise `weight_names0`, …).
/// - each layer group has `weight_names` whose entries are dataset paths relative to the layer
///   group, e.g. `sequential/d1/kernel` (Keras 3) or `d1/kernel:0` (tf.keras).
///
/// **Keras 3 `.weights.h5`** (also `model.weights.h5` inside a `.keras` zip):
/// `layers/<path>/vars/<i>` for each layer's i-th variable; the `vars` group's `name`
/// attribute is the layer's real name; nested models nest `layers/…/layers/…`; optimizer state
/// is under `optimizer/`. Variables are unnamed: names come from the layer class in the config
/// (`KerasModelConfig.variableNames`). bfloat16 variables are opaque 2-byte data with a
/// `dtype="bfloat16"` attribute.
struct KerasHDF5Layout {
    var format: ModelFormat
    /// tensor name → (layer, variable, layer class if known)
    var owners: [String: (layer: String, variable: String, className: String?)] = [:]
    var optimizerPrefixes: [String] = []

    static let auditGroup = "spectral_audit/"

    static func detect(root: HDF5Group, path: String, isZip: Bool, architecture: String?,
                       limits: ReaderLimits) throws -> KerasHDF5Layout? {
        let config: KerasModelConfig? = try architecture.map { try KerasModelConfig.parse($0, path: path, limits: limits) }
        if try root.exists("model_weights"), try hasSplitAttribute(try root.openGroup("model_weights"), "layer_names") {
            var layout = KerasHDF5Layout(format: .kerasH5, optimizerPrefixes: ["optimizer_weights/"])
            try layout.readLegacy(base: try root.openGroup("model_weights"), prefix: "model_weights/", config: config)
            return layout
        }
        if try hasSplitAttribute(root, "layer_names") {
            var layout = KerasHDF5Layout(format: .kerasH5, optimizerPrefixes: ["optimizer_weights/"])
            try layout.readLegacy(base: root, prefix: "", config: config)
            return layout
        }
        if try root.exists("layers") {
            var layout = KerasHDF5Layout(format: isZip ? .kerasZip : .kerasWeightsH5, optimizerPrefixes: ["optimizer/"])
            try layout.readKeras3(group: try root.openGroup("layers"), prefix: "layers", config: config, depth: 0,
                                  maxDepth: limits.maxHDF5Depth)
            return layout
        }
        return nil
    }

    private static func hasSplitAttribute(_ g: HDF5Group, _ name: String) throws -> Bool {
        try g.hasAttribute(name) || g.hasAttribute(name + "0")
    }

    /// Reads `name`, or its split form `name0`, `name1`, … concatenated.
    static func readSplitStrings(_ g: HDF5Group, _ name: String) throws -> [String] {
        if try g.hasAttribute(name) { return try readStrings(g, name) }
        var out: [String] = []
        var i = 0
        while try g.hasAttribute("\(name)\(i)") {
            out += try readStrings(g, "\(name)\(i)")
            i += 1
        }
        return out
    }

    /// A string-list attribute; Keras writes an empty list as an empty float64 array.
    private static func readStrings(_ g: HDF5Group, _ name: String) throws -> [String] {
        let info = try g.attributeInfo(name)
        if info.type.typeClass != .string && info.shape.reduce(1, *) == 0 { return [] }
        return try g.readStringsAttribute(name)
    }

    private mutating func readLegacy(base: HDF5Group, prefix: String, config: KerasModelConfig?) throws {
        for layer in try Self.readSplitStrings(base, "layer_names") {
            guard try base.exists(layer) else { continue }
            let g = try base.openGroup(layer)
            let cls = config?.layer(named: layer)?.className
            for wn in try Self.readSplitStrings(g, "weight_names") {
                let name = prefix + layer + "/" + wn
                var variable = String(wn.split(separator: "/").last ?? Substring(wn))
                if variable.hasSuffix(":0") { variable.removeLast(2) }
                owners[name] = (layer, variable, cls)
            }
        }
    }

    private mutating func readKeras3(group: HDF5Group, prefix: String, config: KerasModelConfig?, depth: Int,
                                     maxDepth: Int) throws {
        guard depth < maxDepth else { return }
        for link in try group.links() where link.kind == .group {
            let child = try group.openGroup(link.name)
            let childPrefix = prefix + "/" + link.name
            if try child.exists("vars") {
                let vars = try child.openGroup("vars")
                var layerName = try vars.hasAttribute("name") ? (try vars.readStringsAttribute("name").first ?? link.name) : link.name
                let datasets = try vars.links().filter { $0.kind == .dataset }.map(\.name)
                    .sorted { (Int($0) ?? Int.max, $0) < (Int($1) ?? Int.max, $1) }
                var layerConfig = config?.layer(named: layerName)
                // Keras 3 keeps a recurrent layer's weights in its cell (`layers/lstm/cell/vars`,
                // named after the cell): they belong to the layer.
                if layerConfig == nil, link.name == "cell", let parent = Self.recurrentParent(prefix: prefix, config: config) {
                    layerName = parent.name
                    layerConfig = parent
                }
                var names = KerasModelConfig.variableNames(className: layerConfig?.className ?? "",
                                                           config: layerConfig?.config ?? .null, count: datasets.count)
                if layerConfig == nil {
                    names = try Self.namesByShape(vars: vars, datasets: datasets) ?? names
                }
                for (i, ds) in datasets.enumerated() {
                    owners[childPrefix + "/vars/" + ds] = (layerName, names[i], layerConfig?.className)
                }
            }
            // Nested models and layers that own sub-layers keep going down.
            try readKeras3(group: child, prefix: childPrefix, config: config, depth: depth + 1, maxDepth: maxDepth)
        }
    }

    /// The recurrent layer whose `cell` group is under `prefix` (`…/layers/lstm_1`): Keras 3 names
    /// a model's layer groups after their class in snake case with a per-class counter (`lstm`,
    /// `lstm_1`, …), so the N-th LSTM/GRU/SimpleRNN of the config owns group `<class>_N`.
    static func recurrentParent(prefix: String, config: KerasModelConfig?) -> KerasModelConfig.Layer? {
        guard let config, let last = prefix.split(separator: "/").last else { return nil }
        let snake = ["LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple_rnn"]
        var base = String(last)
        var index = 0
        if let cut = last.lastIndex(of: "_"), let n = Int(last[last.index(after: cut)...]), snake.values.contains(String(last[..<cut])) {
            base = String(last[..<cut])
            index = n
        }
        let candidates = config.layers.filter { snake[$0.className] == base }
        return index < candidates.count ? candidates[index] : nil
    }

    /// Without a config, Keras 3 variables are unnamed; the common layouts are recognised by
    /// shape (and stated as such by `inspect`'s `variable` column): `[kernel (rank ≥ 2), bias]`,
    /// `[kernel]`, and BatchNorm's four equal vectors `[gamma, beta, moving_mean, moving_variance]`.
    static func namesByShape(vars: HDF5Group, datasets: [String]) throws -> [String]? {
        let ranks = try datasets.map { try vars.openDataset($0).shape.count }
        switch ranks.count {
        case 1 where ranks[0] >= 2: return ["kernel"]
        case 2 where ranks[0] >= 2 && ranks[1] == 1: return ["kernel", "bias"]
        case 4 where ranks.allSatisfy({ $0 == 1 }):
            let sizes = try datasets.map { try vars.openDataset($0).shape }
            return Set(sizes).count == 1 ? ["gamma", "beta", "moving_mean", "moving_variance"] : nil
        default: return nil
        }
    }

    /// Fills role, layer, variable and orientation from the layout.
    func annotate(_ tensors: [TensorInfo]) -> [TensorInfo] {
        tensors.map { t in
            var t = t
            if t.name.hasPrefix(Self.auditGroup) {
                t.role = .audit
            } else if optimizerPrefixes.contains(where: { t.name.hasPrefix($0) }) {
                t.role = .optimizerState
            } else if let owner = owners[t.name] {
                t.layer = owner.layer
                t.variable = owner.variable
                t.role = t.dtype.isFloatingPoint ? .weights : .buffer
                t.orientation = KerasModelConfig.orientation(className: owner.className, variable: owner.variable,
                                                             rank: t.shape.count)
            } else if !t.dtype.isFloatingPoint {
                t.role = .buffer
            }
            return t
        }
    }
}
