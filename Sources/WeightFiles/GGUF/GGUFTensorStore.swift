/// A GGUF v2/v3 file (llama.cpp, ggml) as a `TensorStore` (format `.gguf`).
///
/// - Shapes are numpy order (`ne` reversed, see `GGUFFormat`); tensors in file order.
/// - Plain types (F32, F16, BF16, F64, I8…I64) load as in every other reader; `loadNativeBytes`
///   returns their stored elements.
/// - Block-quantized types that `GGUFDequantize` decodes (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K…Q6_K,
///   Q8_K) are described with `dtype` `.float32` and `info.quantization` set: `loadFloat64`
///   returns the dequantized values (exact in Float64), `loadFloat32` and `loadNativeBytes`
///   those values rounded to Float32 (the element type ggml dequantizes to); `storedBlocks`
///   returns the blocks as stored.
/// - Other known ggml types (IQ*, TQ*, MXFP4, …) are listed with `quantization.unsupportedReason`;
///   loading them throws `.unsupported` with that reason.
/// - Names and roles: llama.cpp names (`blk.N.attn_q.weight`); `layer` is the name up to its
///   last dot. A ggml matmul weight (`ne = [in, out]`) is `[out, in]` here: `Orientation.outIn`.
///   Embedding tables (`token_embd`, `pos_embd`, `*_embd`, `token_types`) are `[vocab, dim]`:
///   a map from a one-hot token to a vector, i.e. `.inOut`. Tensors of 3 or more dimensions
///   (expert stacks, convolution kernels) have orientation `.unknown`.
///
/// Immutable after `init`; loads slice the memory-mapped file: thread-safe.
public final class GGUFTensorStore: TensorStore, ModelMetadataProviding {
    public let path: String
    public var format: ModelFormat { .gguf }
    public let tensors: [TensorInfo]
    public var architectureJSON: String? { nil }
    /// Typed key/values as stored, and the keys in file order.
    public let metadata: [String: MetadataValue]
    public let metadataKeys: [String]
    /// GGUF version (2 or 3) and the data alignment in effect.
    public let version: Int
    public let alignment: Int
    let limits: ReaderLimits
    private let file: FileBytes
    private let entries: [GGUFHeader.Entry]
    private let index: [String: Int]

    public init(path: String, limits: ReaderLimits = ReaderLimits()) throws {
        self.path = path
        self.limits = limits
        file = try FileBytes(path: path)
        let header = try GGUFHeader.read(file, limits: limits)
        metadata = header.metadata
        metadataKeys = header.metadataKeys
        version = Int(header.version)
        alignment = header.alignment
        entries = header.entries
        tensors = header.entries.map(GGUFTensorStore.describe)
        var index: [String: Int] = [:]
        for (k, e) in header.entries.enumerated() { index[e.name] = k }
        self.index = index
    }

    /// `general.architecture`, when the file states it.
    public var architecture: String? { metadata[GGUFFormat.architectureKey]?.stringValue }

    static func describe(_ e: GGUFHeader.Entry) -> TensorInfo {
        let shape = Array(e.ne.reversed())
        var layer: String?
        var variable = e.name
        if let dot = e.name.lastIndex(of: ".") {
            layer = String(e.name[..<dot])
            variable = String(e.name[e.name.index(after: dot)...])
            if layer?.isEmpty == true { layer = nil }
        }
        var orientation = Orientation.unknown
        if shape.count == 2 && variable == "weight" {
            let table = layer.map { $0.hasSuffix("_embd") || $0 == "token_types" } ?? false
            orientation = table ? .inOut : .outIn
        }
        if let plain = e.type.plain {
            return TensorInfo(name: e.name, shape: shape, dtype: plain, byteOrder: plain.byteSize == 1 ? .notApplicable : .little,
                              layout: "contiguous", role: TensorBytes.defaultRole(plain), layer: layer, variable: variable,
                              orientation: orientation)
        }
        let q = Quantization(scheme: e.type.name, blockElements: e.type.blockElements, blockBytes: e.type.blockBytes,
                             storedBytes: e.bytes, unsupportedReason: e.type.dequantized ? nil : GGUFFormat.unreadReason(e.type))
        return TensorInfo(name: e.name, shape: shape, dtype: .float32, byteOrder: .notApplicable, layout: "ggml_blocks",
                          role: .weights, layer: layer, variable: variable, orientation: orientation, quantization: q)
    }

    private func with<R>(_ name: String, _ body: (UnsafeRawBufferPointer, TensorInfo, GGUFHeader.Entry) throws -> R) throws -> R {
        guard let k = index[name] else { _ = try info(name); throw WeightFileError(.missing, path: path, place: "tensor '\(name)'") }
        let info = tensors[k], entry = entries[k]
        if let reason = info.quantization?.unsupportedReason {
            throw WeightFileError(.unsupported, path: path, place: "tensor '\(name)'", detail: reason)
        }
        try TensorBytes.checkLoadable(info, limits: limits, path: path)
        return try file.withBytes(offset: entry.offset, count: entry.bytes, place: "tensor '\(name)'") { try body($0, info, entry) }
    }

    public func loadFloat64(_ name: String) throws -> [Double] {
        try with(name) { raw, info, entry in
            guard info.quantization != nil else { return TensorBytes.float64(raw, info, fortranOrder: false) }
            let n = info.elementCount
            return [Double](unsafeUninitializedCapacity: n) { buffer, initialized in
                GGUFDequantize.blocks(entry.type, raw, firstBlock: 0, into: UnsafeMutableBufferPointer(rebasing: buffer[0..<n]))
                initialized = n
            }
        }
    }

    public func loadFloat32(_ name: String) throws -> [Float] {
        try with(name) { raw, info, entry in
            guard info.quantization != nil else { return TensorBytes.float32(raw, info, fortranOrder: false) }
            return GGUFTensorStore.dequantizedFloat32(entry, raw, count: info.elementCount)
        }
    }

    /// Plain tensors: the stored elements. Quantized tensors: the dequantized values as native
    /// Float32 (`info.dtype`, `info.byteCount` bytes), not the blocks (see `storedBlocks`).
    public func loadNativeBytes(_ name: String) throws -> [UInt8] {
        try with(name) { raw, info, entry in
            guard info.quantization != nil else { return TensorBytes.native(raw, info, fortranOrder: false) }
            let values = GGUFTensorStore.dequantizedFloat32(entry, raw, count: info.elementCount)
            return values.withUnsafeBytes { [UInt8]($0) }
        }
    }

    /// The tensor's bytes exactly as stored (blocks for quantized types), `quantization.storedBytes`
    /// long: what a GGUF writer copies.
    public func storedBlocks(_ name: String) throws -> [UInt8] {
        guard let k = index[name] else { _ = try info(name); throw WeightFileError(.missing, path: path, place: "tensor '\(name)'") }
        let entry = entries[k]
        guard entry.bytes <= limits.maxTensorBytes else {
            throw WeightFileError(.limitExceeded, path: path, place: "tensor '\(name)'",
                                  expected: "at most \(limits.maxTensorBytes) bytes (ReaderLimits.maxTensorBytes)", found: "\(entry.bytes) bytes")
        }
        return try file.withBytes(offset: entry.offset, count: entry.bytes, place: "tensor '\(name)'") { [UInt8]($0) }
    }

    /// Dequantizes in chunks of blocks through a small Float64 scratch buffer, so a Float32 load
    /// never holds a Float64 copy of the whole tensor.
    static func dequantizedFloat32(_ entry: GGUFHeader.Entry, _ raw: UnsafeRawBufferPointer, count n: Int) -> [Float] {
        let perBlock = entry.type.blockElements
        let blocksPerChunk = max(1, 65_536 / perBlock)
        var scratch = [Double](repeating: 0, count: blocksPerChunk * perBlock)
        return [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
            let totalBlocks = n / perBlock
            var block = 0
            while block < totalBlocks {
                let take = min(blocksPerChunk, totalBlocks - block)
                scratch.withUnsafeMutableBufferPointer { s in
                    let part = UnsafeMutableBufferPointer(rebasing: s[0..<(take * perBlock)])
                    GGUFDequantize.blocks(entry.type, raw, firstBlock: block, into: part)
                    for i in 0..<part.count { buffer[block * perBlock + i] = Float(part[i]) }
                }
                block += take
            }
            initialized = n
        }
    }
}
