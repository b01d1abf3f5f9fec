// `Orientation` lives in the tiny `TensorLayout` target (shared with SpectralModel); every
// importer of WeightFiles sees it as before.
@_exported import TensorLayout

/// What a tensor is for, as far as the file tells.
public enum TensorRole: String, Sendable, Hashable, Codable {
    /// Trainable or inference weights (kernels, biases, BatchNorm statistics, embeddings).
    case weights
    /// Optimizer slots (Adam moments, iteration counters): never audited.
    case optimizerState = "optimizer_state"
    /// Non-trainable integer or bookkeeping buffers (e.g. `num_batches_tracked`).
    case buffer
    /// Results written by spectral-audit itself into an annotated file.
    case audit
}

/// One tensor of a weight file, described without reading its data.
public struct TensorInfo: Sendable, Hashable, Codable {
    /// The name exactly as it appears in the file (HDF5: the full path without the leading `/`).
    public var name: String
    public var shape: [Int]
    public var dtype: DType
    public var byteOrder: ByteOrder
    /// Storage as found: `contiguous`, `chunked`, `compact`, `deflated`, plus `fortran_order`
    /// and filters where present (e.g. `chunked+gzip+shuffle`).
    public var layout: String
    public var role: TensorRole
    /// The layer the tensor belongs to, when the format says (Keras) or the name implies.
    public var layer: String?
    /// The variable's short name inside its layer (`kernel`, `bias`, `gamma`, `weight`...).
    public var variable: String?
    public var orientation: Orientation
    /// Set for block-quantized tensors (GGUF/ggml): `dtype` is then the type of the
    /// dequantized values (`f32`), `byteCount` their size, and the stored blocks are described
    /// here. nil for every plainly stored tensor.
    public var quantization: Quantization?

    public init(name: String, shape: [Int], dtype: DType, byteOrder: ByteOrder, layout: String,
                role: TensorRole = .weights, layer: String? = nil, variable: String? = nil,
                orientation: Orientation = .unknown, quantization: Quantization? = nil) {
        self.quantization = quantization
        self.name = name
        self.shape = shape
        self.dtype = dtype
        self.byteOrder = byteOrder
        self.layout = layout
        self.role = role
        self.layer = layer
        self.variable = variable
        self.orientation = orientation
    }

    /// Product of the dimensions (1 for a 0-d tensor). Shapes are validated by the readers to
    /// make this overflow-free; should one slip through, the count saturates at `Int.max` (so
    /// every size limit refuses it) instead of trapping.
    public var elementCount: Int { CheckedSize.product(shape) ?? Int.max }
    public var byteCount: Int { CheckedSize.bytes(count: elementCount, elementSize: dtype.byteSize) ?? Int.max }
}

/// How a block-quantized tensor is stored (ggml types such as `Q4_K`). Loads return the
/// dequantized values (`loadFloat64` exactly, accumulated in Float64; `loadFloat32` and
/// `loadNativeBytes` those values rounded once to Float32, the element type ggml dequantizes to).
/// A type the reader lists but does not decode has `unsupportedReason`; loading it throws
/// `WeightFileError` of kind `.unsupported` with that reason, and the audit gives its row
/// status `unsupported`.
public struct Quantization: Sendable, Hashable, Codable {
    /// The format's name for the encoding (`Q4_K`, `IQ2_XXS`, …).
    public var scheme: String
    /// Elements per block and bytes per block.
    public var blockElements: Int
    public var blockBytes: Int
    /// Bytes the tensor occupies in the file.
    public var storedBytes: Int
    /// Why the values cannot be read; nil when they can.
    public var unsupportedReason: String?

    public init(scheme: String, blockElements: Int, blockBytes: Int, storedBytes: Int, unsupportedReason: String? = nil) {
        self.scheme = scheme
        self.blockElements = blockElements
        self.blockBytes = blockBytes
        self.storedBytes = storedBytes
        self.unsupportedReason = unsupportedReason
    }

    /// Average stored bits per element.
    public var bitsPerElement: Double { Double(blockBytes * 8) / Double(blockElements) }
}
