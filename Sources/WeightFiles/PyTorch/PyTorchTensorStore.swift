import Foundation

/// A PyTorch checkpoint as a `TensorStore`: `torch.save` zip archives (`.pytorch`), TorchScript
/// archives (`.torchscript`, the weights only) and the legacy format (`.pytorchLegacy`); see
/// `PyTorchFormat` for the layouts, `PickleMachine` for how the pickle is read (data only, never
/// executed) and `PyTorchCheckpoint` for the names.
///
/// Listing reads the pickle(s) and checks every storage a tensor uses against the bytes the file
/// holds for it; loading reads that storage (a zip member, or a slice of the mapped legacy file),
/// gathers the tensor's strided view into C order and converts it. Tied tensors are listed once;
/// `aliases` maps each listed name to its other names, and loads accept an alias too.
///
/// Thread safety: immutable after `init`; zip reads are serialised inside `PyTorchZipArchive`.
public final class PyTorchTensorStore: TensorStore, @unchecked Sendable {
    public let path: String
    public let format: ModelFormat
    public let tensors: [TensorInfo]
    public var architectureJSON: String? { nil }
    /// Listed name → the other names of the same tensor (tied weights), in pickle order.
    public let aliases: [String: [String]]
    let limits: ReaderLimits

    /// Where a storage's bytes are.
    enum Source {
        case zip(PyTorchZipArchive)
        case file(FileBytes)
    }
    struct Located {
        let tensor: PickleTensor
        let info: TensorInfo
        /// Zip: member path relative to the archive folder; file: unused.
        let member: String
        /// File: byte offset of the storage's element 0 (a legacy view: of the view).
        let offset: Int
        /// Bytes of the storage (of the legacy view).
        let byteCount: Int
    }
    private let source: Source
    private let located: [String: Located]

    init(path: String, format: ModelFormat, limits: ReaderLimits, source: Source,
         entries: [(entry: PyTorchTensorEntry, info: TensorInfo, member: String, offset: Int, byteCount: Int)]) {
        self.path = path
        self.format = format
        self.limits = limits
        self.source = source
        var located: [String: Located] = [:]
        var aliases: [String: [String]] = [:]
        for e in entries {
            let l = Located(tensor: e.entry.tensor, info: e.info, member: e.member, offset: e.offset, byteCount: e.byteCount)
            located[e.entry.name] = l
            for a in e.entry.aliases { located[a] = l }
            if !e.entry.aliases.isEmpty { aliases[e.entry.name] = e.entry.aliases }
        }
        self.located = located
        self.aliases = aliases
        tensors = entries.map(\.info)
    }

    /// The `layout` text of a tensor: `zip`/`legacy`/`torchscript` (+`deflated`), then
    /// `view(offset O, strides [..])` for a non-contiguous or offset view, then
    /// `tied(a, b)` naming its aliases.
    static func layout(_ base: String, _ e: PyTorchTensorEntry) -> String {
        var parts = [base]
        let t = e.tensor
        if !t.isContiguous || t.offset != 0 {
            parts.append("view(offset \(t.offset), strides [\(t.strides.map(String.init).joined(separator: ", "))])")
        }
        if !e.aliases.isEmpty { parts.append("tied(\(e.aliases.joined(separator: ", ")))") }
        return parts.joined(separator: "+")
    }

    private func with<R>(_ name: String, _ body: (UnsafeRawBufferPointer, TensorInfo) throws -> R) throws -> R {
        guard let l = located[name] else { _ = try info(name); throw WeightFileError(.malformed, path: path, place: "tensor '\(name)'") }
        var info = l.info
        info.name = name
        try TensorBytes.checkLoadable(info, limits: limits, path: path)
        let byteCount = info.byteCount
        // A view may repeat its storage (stride 0): a 4-byte storage expanded to 2^31 elements
        // is an 8 GiB tensor from a tiny file. As for HDF5 fill values, a tensor over 1 MiB may
        // be at most `maxCompressionRatio` times the bytes its storage holds.
        let (allowed, big) = max(l.byteCount, 1).multipliedReportingOverflow(by: limits.maxCompressionRatio)
        guard byteCount <= 1 << 20 || big || byteCount <= allowed else {
            throw WeightFileError(.limitExceeded, path: path, place: "tensor '\(name)'",
                                  expected: "at most \(limits.maxCompressionRatio) times the \(l.byteCount) bytes of its storage (ReaderLimits.maxCompressionRatio)",
                                  found: "a view of \(byteCount) bytes (strides \(l.tensor.strides))")
        }
        let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(byteCount, 1), alignment: 64)
        defer { out.deallocate() }
        let target = UnsafeMutableRawBufferPointer(rebasing: out[0..<byteCount])
        let fits: Bool
        switch source {
        case .zip(let archive):
            let storage = try archive.read(l.member, maxBytes: limits.maxDecompressedBytes, what: "storage '\(l.tensor.storage.key)'")
            guard storage.count == l.byteCount else {
                throw WeightFileError(.malformed, path: path, place: "member '\(archive.prefix)/\(l.member)'",
                                      expected: "\(l.byteCount) bytes", found: "\(storage.count)")
            }
            fits = storage.withUnsafeBytes { PyTorchTensorView.gather(l.tensor, storage: $0, into: target) }
        case .file(let file):
            fits = try file.withBytes(offset: l.offset, count: l.byteCount, place: "storage '\(l.tensor.storage.key)'") {
                PyTorchTensorView.gather(l.tensor, storage: $0, into: target)
            }
        }
        guard fits else {
            throw WeightFileError(.malformed, path: path, place: "tensor '\(name)'", expected: "a view inside its storage of \(l.byteCount) bytes",
                                  found: "offset \(l.tensor.offset), size \(l.tensor.shape), stride \(l.tensor.strides)")
        }
        return try body(UnsafeRawBufferPointer(target), info)
    }

    public func loadFloat64(_ name: String) throws -> [Double] { try with(name) { TensorBytes.float64($0, $1, fortranOrder: false) } }
    public func loadFloat32(_ name: String) throws -> [Float] { try with(name) { TensorBytes.float32($0, $1, fortranOrder: false) } }
    public func loadNativeBytes(_ name: String) throws -> [UInt8] { try with(name) { TensorBytes.native($0, $1, fortranOrder: false) } }
}
