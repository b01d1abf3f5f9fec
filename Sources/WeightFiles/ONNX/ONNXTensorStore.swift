/// An `.onnx` file as a `TensorStore` (format `.onnx`): every initializer and every `Constant`
/// tensor of the main graph and its subgraphs (names: `ONNXGraphWalk`), in graph order, and the
/// graph itself as `onnxGraph`. The whole file is decoded when the store is created (a
/// ModelProto cannot be read in parts) and every tensor validated; external data files are
/// memory-mapped and sliced on load. Immutable after `init`: thread-safe.
public final class ONNXTensorStore: TensorStore {
    public let path: String
    public var format: ModelFormat { .onnx }
    public let tensors: [TensorInfo]
    public var architectureJSON: String? { nil }
    public let onnxGraph: ONNXGraphSummary?
    let limits: ReaderLimits
    private let entries: [String: ONNXTensorEntry]

    public init(path: String, limits: ReaderLimits = ReaderLimits()) throws {
        self.path = path
        self.limits = limits
        let file = try FileBytes(path: path)
        let model = try ONNXModelDecoding.decode(file, limits: limits)
        guard model.hasGraph else {
            throw WeightFileError(.malformed, path: path, place: "ModelProto graph", expected: "a graph (field 7)", found: "none")
        }
        var walk = ONNXGraphWalk(path: path, limits: limits)
        let graph = try walk.walk(model.graph, graphPath: "")
        var opsets: [String: Int64] = [:]
        for o in model.opsetImport { opsets[o.domain] = o.version }
        let producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
        onnxGraph = ONNXGraphSummary(irVersion: model.irVersion, producer: producer, opsets: opsets, graph: graph,
                                     skippedTensors: walk.skipped)
        tensors = walk.entries.map(\.info)
        var entries: [String: ONNXTensorEntry] = [:]
        for e in walk.entries { entries[e.info.name] = e }
        self.entries = entries
    }

    private func with<R>(_ name: String, _ body: (UnsafeRawBufferPointer, TensorInfo) throws -> R) throws -> R {
        guard let e = entries[name] else {
            _ = try info(name)
            throw WeightFileError(.missing, path: path, place: "tensor '\(name)'")
        }
        try TensorBytes.checkLoadable(e.info, limits: limits, path: path)
        return try e.withBytes(path: path) { try body($0, e.info) }
    }

    public func loadFloat64(_ name: String) throws -> [Double] { try with(name) { TensorBytes.float64($0, $1, fortranOrder: false) } }
    public func loadFloat32(_ name: String) throws -> [Float] { try with(name) { TensorBytes.float32($0, $1, fortranOrder: false) } }
    public func loadNativeBytes(_ name: String) throws -> [UInt8] { try with(name) { TensorBytes.native($0, $1, fortranOrder: false) } }
}
