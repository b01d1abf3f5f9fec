import WeightFiles

/// The `graph` part of `inspect` for files that carry a computation graph (ONNX): opset, op
/// counts, declared inputs and outputs with their shapes, subgraphs, and the tensors not read.
struct InspectGraph: Encodable {
    struct Value: Encodable {
        var name: String
        var elementType: String
        /// Dimensions as text: a number, a symbolic name (`batch`) or `?`; absent when undeclared.
        var shape: [String]?

        enum CodingKeys: String, CodingKey { case name, shape, elementType = "element_type" }
    }

    struct Subgraph: Encodable {
        var path: String
        var nodes: Int
        var opCounts: [String: Int]

        enum CodingKeys: String, CodingKey { case path, nodes, opCounts = "op_counts" }
    }

    var irVersion: Int64
    var producer: String
    var opsets: [String: Int64]
    var nodes: Int
    var opCounts: [String: Int]
    var inputs: [Value]
    var outputs: [Value]
    var subgraphs: [Subgraph]
    var skippedTensors: [String: String]

    enum CodingKeys: String, CodingKey {
        case producer, opsets, nodes, inputs, outputs, subgraphs
        case irVersion = "ir_version", opCounts = "op_counts", skippedTensors = "skipped_tensors"
    }

    init(_ s: ONNXGraphSummary) {
        irVersion = s.irVersion
        producer = s.producer
        opsets = s.opsets
        nodes = s.graph.nodes.count
        opCounts = s.graph.opCounts
        func value(_ v: ONNXValueInfo) -> Value {
            Value(name: v.name, elementType: v.elementType, shape: v.shape?.map(\.description))
        }
        inputs = s.graph.inputs.map(value)
        outputs = s.graph.outputs.map(value)
        subgraphs = s.graph.allGraphs.dropFirst().map { Subgraph(path: $0.path, nodes: $0.nodes.count, opCounts: $0.opCounts) }
        skippedTensors = s.skippedTensors
    }

    /// The table form, printed before the tensor list.
    func text() -> String {
        func shape(_ v: Value) -> String { v.shape.map { "[" + $0.joined(separator: ", ") + "]" } ?? "(shape not declared)" }
        func counts(_ c: [String: Int]) -> String {
            c.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        }
        let opset = opsets.sorted { $0.key < $1.key }.map { ($0.key.isEmpty ? "ai.onnx" : $0.key) + " \($0.value)" }
        var out = "graph: ONNX IR \(irVersion), opset \(opset.joined(separator: ", "))"
        out += producer.isEmpty ? "\n" : ", producer \(producer)\n"
        out += "  \(nodes) nodes: \(counts(opCounts))\n"
        for v in inputs { out += "  input   \(v.name)  \(v.elementType) \(shape(v))\n" }
        for v in outputs { out += "  output  \(v.name)  \(v.elementType) \(shape(v))\n" }
        for g in subgraphs { out += "  subgraph \(g.path): \(g.nodes) nodes: \(counts(g.opCounts))\n" }
        for (name, why) in skippedTensors.sorted(by: { $0.key < $1.key }) { out += "  not read: \(name) (\(why))\n" }
        return out
    }
}
