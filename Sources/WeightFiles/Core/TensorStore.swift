/// The container a tensor came from, decided from the file's magic bytes (never its extension).
public enum ModelFormat: String, Sendable, Hashable, Codable {
    case npy
    case npz
    case safetensors
    /// `model.safetensors.index.json` plus its shards.
    case safetensorsSharded = "safetensors_sharded"
    /// Any HDF5 file that is not recognisably Keras.
    case hdf5
    /// Keras 2 / tf.keras full-model or weights-only `.h5` (`layer_names` attributes).
    case kerasH5 = "keras_h5"
    /// Keras 3 `.weights.h5` (`layers/<name>/vars/<i>`).
    case kerasWeightsH5 = "keras_weights_h5"
    /// Keras 3 `.keras` zip (`config.json` + `model.weights.h5`).
    case kerasZip = "keras_zip"
    /// GGUF v2/v3 (llama.cpp / ggml): typed metadata plus plain or block-quantized tensors.
    case gguf
    /// A GGUF model split into `NAME-0000K-of-0000N.gguf` files (the first one given).
    case ggufSplit = "gguf_split"
    /// PyTorch `torch.save` zip archive (`*/data.pkl` + `*/data/<key>`).
    case pytorch
    /// PyTorch legacy (pre-1.6, non-zip) `torch.save` file.
    case pytorchLegacy = "pytorch_legacy"
    /// `torch.jit.save` TorchScript archive: its weights only.
    case torchscript
    /// `pytorch_model.bin.index.json` plus its PyTorch shards.
    case pytorchSharded = "pytorch_sharded"
    /// ONNX `ModelProto` (`.onnx`), with its external data files.
    case onnx
}

/// Safety limits every reader enforces before it allocates. Defaults are generous for real
/// checkpoints and small enough that a hostile file cannot exhaust memory.
public struct ReaderLimits: Sendable, Hashable {
    /// Largest single tensor that will be loaded (bytes as stored).
    public var maxTensorBytes: Int = 16 << 30
    /// Largest header (npy header, safetensors JSON header, Keras config JSON).
    public var maxHeaderBytes: Int = 100 << 20
    /// Largest number of dimensions of a tensor.
    public var maxRank: Int = 32
    /// Largest number of members in a zip (npz, .keras) or tensors in a file.
    public var maxMembers: Int = 1_000_000
    /// Largest total decompressed size of a zip member, and the largest decompressed/compressed
    /// ratio accepted (zip bombs).
    public var maxDecompressedBytes: Int = 64 << 30
    public var maxCompressionRatio: Int = 1_000
    /// Largest nesting depth of JSON documents (headers, configs, manifests).
    public var maxJSONDepth: Int = 256
    /// Largest number of HDF5 objects visited, and the deepest group nesting.
    public var maxHDF5Objects: Int = 1_000_000
    public var maxHDF5Depth: Int = 64
    /// Longest time libhdf5 may take to open a file and list it, and to load one tensor (plus
    /// one second per 50 MB of tensor data): some corrupt files make it loop forever
    /// (`HDF5Watchdog`). Listing real files takes milliseconds (a thousand-layer Keras file:
    /// ~0.1 s in a debug build). `.infinity` disables the deadline.
    public var maxHDF5Seconds: Double = 6
    /// GGUF: the most metadata values (scalars, strings and array elements, all counted) and the
    /// deepest nesting of arrays in arrays. Real files hold ~1M values (tokenizer vocabularies
    /// and merges) and never nest (ggml refuses nested arrays).
    public var maxMetadataValues: Int = 8_000_000
    public var maxMetadataDepth: Int = 8
    /// The data-only pickle machine (PyTorch checkpoints): most memo entries, deepest stack
    /// (values plus MARKs), most operations run (each creates at most one value: this bounds
    /// time and memory, ~80 bytes a value), longest string, deepest container nesting walked
    /// when naming tensors. Real checkpoints stay far below (a 1,000-tensor state dict: ~30,000
    /// operations, stack < 20, nesting < 10).
    public var maxPickleMemo: Int = 1_000_000
    public var maxPickleStack: Int = 100_000
    public var maxPickleValues: Int = 5_000_000
    public var maxPickleStringBytes: Int = 16 << 20
    public var maxPickleNesting: Int = 100
    /// ONNX: the largest `.onnx` file (a protobuf message cannot exceed 2 GiB), the deepest
    /// protobuf message nesting (swift-protobuf's `messageDepthLimit`; each subgraph level is 3),
    /// and the most graph nodes, counting every subgraph's.
    public var maxONNXBytes: Int = Int(Int32.max)
    public var maxONNXMessageDepth: Int = 64
    public var maxONNXNodes: Int = 1_000_000

    public init() {}
}

/// Lists the tensors of one weight file without reading their data, and loads one tensor at a
/// time. Loads are independent: implementations are safe to call from several threads.
public protocol TensorStore: AnyObject, Sendable {
    /// The path the user gave.
    var path: String { get }
    var format: ModelFormat { get }
    /// Every tensor in file order (HDF5: depth-first, links in name order).
    var tensors: [TensorInfo] { get }
    /// The architecture the file itself carries: Keras `model_config` attribute or the
    /// `config.json` of a `.keras` zip. `nil` when the file has none.
    var architectureJSON: String? { get }

    /// Loads one tensor as a contiguous row-major (C order) Float64 buffer, converting from the
    /// stored dtype, byte order and memory order. Integer tensors convert exactly where they can.
    func loadFloat64(_ name: String) throws -> [Double]
    /// As `loadFloat64`, in Float32 (f64 data is rounded).
    func loadFloat32(_ name: String) throws -> [Float]
    /// The stored elements in native byte order and C order, dtype unchanged
    /// (`info.byteCount` bytes): what a writer needs to copy a tensor faithfully.
    func loadNativeBytes(_ name: String) throws -> [UInt8]
    /// The computation graph the file carries (ONNX), described neutrally; `nil` for formats
    /// without one.
    var onnxGraph: ONNXGraphSummary? { get }
}

extension TensorStore {
    public var onnxGraph: ONNXGraphSummary? { nil }
}

extension TensorStore {
    /// The description of `name`; a `malformed` error when the file has no such tensor.
    public func info(_ name: String) throws -> TensorInfo {
        guard let found = tensors.first(where: { $0.name == name }) else {
            throw WeightFileError(.malformed, path: path, place: "tensor '\(name)'",
                                  detail: "no tensor of that name in the file")
        }
        return found
    }
}
