import ModelBuilder
import SpectralModel
import WeightFiles

extension FuzzTargets {
    /// `onnx`: the bytes as an `.onnx` file (opened with `ONNXTensorStore` directly, so inputs
    /// that do not pass `ModelFile`'s sniff are decoded too): swift-protobuf decoding under the
    /// depth cap, the graph walk (initializers, Constant tensors, subgraphs, external data —
    /// which may only name files in the scratch folder), every tensor loaded, then the graph
    /// mapped to a `NetworkGraph`.
    static func onnx(_ data: UnsafeRawBufferPointer) {
        let path = Scratch.write(data, as: "fuzz.onnx")
        guard let store = try? ONNXTensorStore(path: path, limits: ReaderLimits()) else { return }
        for t in store.tensors {
            _ = (t.elementCount, t.byteCount)
            _ = try? store.loadFloat64(t.name)
        }
        if let graph = store.onnxGraph {
            _ = graph.graph.allGraphs.map(\.opCounts)
            _ = NetworkGraph.fromONNX(graph, tensors: store.tensors, load: { try? store.loadFloat64($0) })
        }
    }
}
