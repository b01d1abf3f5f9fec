import Foundation

/// Walks a decoded `ModelProto`: every graph (the main graph, then each subgraph held by a node
/// attribute, depth first, in node and attribute order) gives its initializers and the tensors
/// of its `Constant` nodes as store tensors, and a neutral `ONNXGraph`.
///
/// Tensor names (documented in spectral-audit-formats(5)): in the main graph, the ONNX value
/// name (an initializer's `name`, a `Constant`'s output); in a subgraph, the subgraph's path and
/// the value name, `<node>/<attribute>/<value>`, where `<node>` is the owning node's name (or
/// `<op_type>_<index>` when it has none) and paths nest (`If_0/then_branch/Loop_2/body/w`).
/// Two tensors with the same name make the file malformed (ONNX values are single-assignment).
struct ONNXGraphWalk {
    let path: String
    let limits: ReaderLimits
    let external: ONNXExternalData
    private(set) var entries: [ONNXTensorEntry] = []
    private(set) var skipped: [String: String] = [:]
    private var seen: Set<String> = []
    private var nodeCount = 0

    init(path: String, limits: ReaderLimits) {
        self.path = path
        self.limits = limits
        external = ONNXExternalData(modelPath: path)
    }

    mutating func walk(_ g: Onnx_GraphProto, graphPath: String) throws -> ONNXGraph {
        let prefix = graphPath.isEmpty ? "" : graphPath + "/"
        let graphPlace = graphPath.isEmpty ? "graph" : "subgraph '\(graphPath)'"
        nodeCount += g.node.count
        guard nodeCount <= limits.maxONNXNodes else {
            throw WeightFileError(.limitExceeded, path: path, place: graphPlace,
                                  expected: "at most \(limits.maxONNXNodes) nodes in all graphs (ReaderLimits.maxONNXNodes)",
                                  found: "more")
        }
        var constants: [String: String] = [:]
        for (k, t) in g.initializer.enumerated() {
            let valueName = t.name.isEmpty ? "initializer_\(k)" : t.name
            if let stored = try add(t, name: prefix + valueName, place: "\(graphPlace) initializer '\(valueName)'") {
                constants[valueName] = stored
            }
        }
        for s in g.sparseInitializer {
            skipped[prefix + s.values.name] = "sparse initializer (not read)"
        }
        let initializerNames = Set(g.initializer.map(\.name))
        var nodes: [ONNXNode] = []
        nodes.reserveCapacity(g.node.count)
        for (k, n) in g.node.enumerated() {
            let nodeName = n.name.isEmpty ? "\(n.opType)_\(k)" : n.name
            var attributes: [ONNXAttribute] = []
            for a in n.attribute {
                attributes.append(ONNXAttribute(name: a.name, value: try attributeValue(a, node: n, nodeName: nodeName,
                                                                                       prefix: prefix, graphPlace: graphPlace,
                                                                                       constants: &constants)))
            }
            nodes.append(ONNXNode(name: nodeName, opType: n.opType, domain: n.domain, inputs: n.input, outputs: n.output,
                                  attributes: attributes))
        }
        let inputs = g.input.filter { !initializerNames.contains($0.name) }.map(valueInfo)
        return ONNXGraph(name: g.name, path: graphPath, nodes: nodes, inputs: inputs, outputs: g.output.map(valueInfo),
                         constants: constants)
    }

    private mutating func attributeValue(_ a: Onnx_AttributeProto, node n: Onnx_NodeProto, nodeName: String, prefix: String,
                                         graphPlace: String, constants: inout [String: String]) throws -> ONNXAttribute.Value {
        let isConstant = n.opType == "Constant" && (n.domain.isEmpty || n.domain == "ai.onnx")
        let place = "\(graphPlace) node '\(nodeName)' attribute '\(a.name)'"
        // A Constant's single output names its tensor.
        func constantTensor(_ t: Onnx_TensorProto) throws -> String? {
            guard isConstant, let out = n.output.first, !out.isEmpty else { return nil }
            let stored = try add(t, name: prefix + out, place: place)
            if let stored { constants[out] = stored }
            return stored
        }
        switch a.type {
        case .float: 
            if isConstant && a.name == "value_float" {
                var t = Onnx_TensorProto(); t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue); t.floatData = [a.f]
                _ = try constantTensor(t)
            }
            return .float(Double(a.f))
        case .int:
            if isConstant && a.name == "value_int" {
                var t = Onnx_TensorProto(); t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue); t.int64Data = [a.i]
                _ = try constantTensor(t)
            }
            return .int(a.i)
        case .string: return .string(String(decoding: a.s.prefix(4096), as: UTF8.self))
        case .floats:
            if isConstant && a.name == "value_floats" {
                var t = Onnx_TensorProto(); t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
                t.dims = [Int64(a.floats.count)]; t.floatData = a.floats
                _ = try constantTensor(t)
            }
            return .floats(a.floats.map(Double.init))
        case .ints:
            if isConstant && a.name == "value_ints" {
                var t = Onnx_TensorProto(); t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
                t.dims = [Int64(a.ints.count)]; t.int64Data = a.ints
                _ = try constantTensor(t)
            }
            return .ints(a.ints)
        case .strings: return .strings(a.strings.prefix(64).map { String(decoding: $0.prefix(4096), as: UTF8.self) })
        case .tensor:
            if isConstant && a.name == "value" { return .tensor(try constantTensor(a.t)) }
            return .tensor(nil)
        case .tensors: return .tensors(count: a.tensors.count)
        case .graph:
            return .graph(try walk(a.g, graphPath: prefix + nodeName + "/" + a.name))
        case .graphs:
            var out: [ONNXGraph] = []
            for (k, g) in a.graphs.enumerated() { out.append(try walk(g, graphPath: prefix + nodeName + "/" + a.name + "_\(k)")) }
            return .graphs(out)
        case .sparseTensor:
            if isConstant, let out = n.output.first { skipped[prefix + out] = "sparse Constant (not read)" }
            return .other("sparse_tensor")
        default:
            return .other("\(a.type)")
        }
    }

    /// Adds one tensor to the store's list; returns its store name, or nil when its type is not
    /// read (recorded in `skipped`).
    private mutating func add(_ t: Onnx_TensorProto, name: String, place: String) throws -> String? {
        guard !seen.contains(name) else {
            throw WeightFileError(.malformed, path: path, place: place,
                                  expected: "a tensor name used once", found: "a second tensor named '\(name.prefix(120))'")
        }
        seen.insert(name)
        guard entries.count < limits.maxMembers else {
            throw WeightFileError(.limitExceeded, path: path, place: place,
                                  expected: "at most \(limits.maxMembers) tensors (ReaderLimits.maxMembers)", found: "more")
        }
        guard let entry = try ONNXTensorEntry.make(t, name: name, place: place, path: path, limits: limits, external: external) else {
            skipped[name] = "\(ONNXFormat.typeName(t.dataType)) elements are not read"
            return nil
        }
        entries.append(entry)
        return name
    }

    private func valueInfo(_ v: Onnx_ValueInfoProto) -> ONNXValueInfo {
        switch v.type.value {
        case .tensorType(let t):
            let shape: [ONNXValueInfo.Dimension]? = t.hasShape ? t.shape.dim.prefix(limits.maxRank).map { d in
                switch d.value {
                case .dimValue(let x): return .value(x)
                case .dimParam(let p): return .parameter(String(p.prefix(64)))
                case nil: return .unknown
                }
            } : nil
            return ONNXValueInfo(name: v.name, elementType: ONNXFormat.typeName(t.elemType), shape: shape)
        case .sequenceType: return ONNXValueInfo(name: v.name, elementType: "sequence", shape: nil)
        case .mapType: return ONNXValueInfo(name: v.name, elementType: "map", shape: nil)
        case .optionalType: return ONNXValueInfo(name: v.name, elementType: "optional", shape: nil)
        case .sparseTensorType: return ONNXValueInfo(name: v.name, elementType: "sparse_tensor", shape: nil)
        case .opaqueType: return ONNXValueInfo(name: v.name, elementType: "opaque", shape: nil)
        case nil: return ONNXValueInfo(name: v.name, elementType: "?", shape: nil)
        }
    }
}
