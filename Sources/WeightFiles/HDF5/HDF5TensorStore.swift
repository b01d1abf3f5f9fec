import HDF5Kit

/// Every numeric dataset of an HDF5 file, at any depth, named by its full path without the
/// leading `/` (as h5py's `visit` prints it). Keras files get roles, layers, variables and
/// orientations from `KerasHDF5Layout`; other files are listed as generic weights.
///
/// The walk follows hard links only (soft and external links are never followed), visits each
/// object once (by file address, so hard-link cycles terminate), and stops at
/// `ReaderLimits.maxHDF5Objects` objects or `maxHDF5Depth` nesting with a `limitExceeded` error.
public final class HDF5TensorStore: TensorStore, @unchecked Sendable {
    public let path: String
    public let format: ModelFormat
    public let tensors: [TensorInfo]
    public let architectureJSON: String?
    /// Root attributes of interest (`keras_version`, `backend`) for `inspect`.
    public let fileAttributes: [String: String]

    /// Bytes of the HDF5 image held in memory (a `.keras` zip's `model.weights.h5`); nil for a
    /// file on disk. `HDF5MemoryBudget` allows for its copies.
    public let inMemoryImageBytes: Int?

    let file: HDF5File
    private let limits: ReaderLimits
    /// The file mapped read-only, for contiguous unfiltered datasets read without HDF5's copy
    /// path (nil for in-memory images).
    private let bytes: FileBytes?
    private let index: [String: Int]

    /// Opens `path` read-only. `architecture` overrides the file's own (the `.keras` zip passes
    /// its `config.json`); `displayPath` names the file in errors (the zip, not the member).
    public convenience init(path: String, limits: ReaderLimits = ReaderLimits()) throws {
        try PathCheck.requireReadableFile(path)
        let file: HDF5File
        do {
            file = try HDF5Watchdog.guarded(seconds: limits.maxHDF5Seconds, file: path, activity: "opening it") {
                try HDF5File.openReadOnly(path: path)
            }
        } catch let e as HDF5Error {
            throw WeightFileError(.malformed, path: path, place: "HDF5 superblock",
                                  expected: "a readable HDF5 file", found: e.reason)
        }
        try self.init(file: file, displayPath: path, architecture: nil, zipFormat: false, limits: limits,
                      bytes: try? FileBytes(path: path))
    }

    init(file: HDF5File, displayPath: String, architecture: String?, zipFormat: Bool, limits: ReaderLimits,
         bytes: FileBytes? = nil, inMemoryImageBytes: Int? = nil) throws {
        self.file = file
        self.inMemoryImageBytes = inMemoryImageBytes
        self.bytes = bytes
        self.path = displayPath
        self.limits = limits
        // The whole listing under one deadline: libhdf5 can loop forever on a corrupt file.
        let listing = try HDF5Watchdog.guarded(seconds: limits.maxHDF5Seconds, file: displayPath, activity: "listing its objects") {
            try Self.list(file: file, displayPath: displayPath, architecture: architecture, zipFormat: zipFormat, limits: limits)
        }
        self.fileAttributes = listing.attributes
        self.architectureJSON = listing.architecture
        self.format = listing.format
        self.tensors = listing.tensors
        var idx: [String: Int] = [:]
        for (i, t) in listing.tensors.enumerated() { idx[t.name] = i }
        self.index = idx
    }

    private static func list(file: HDF5File, displayPath: String, architecture: String?, zipFormat: Bool, limits: ReaderLimits) throws
        -> (attributes: [String: String], architecture: String?, format: ModelFormat, tensors: [TensorInfo]) {
        do {
            let root = try file.root
            var attrs: [String: String] = [:]
            for key in ["keras_version", "backend"] where try root.hasAttribute(key) {
                attrs[key] = try root.readStringsAttribute(key).first
            }
            let config = try architecture ?? (root.hasAttribute("model_config") ? root.readStringsAttribute("model_config").first : nil)
            if let config, config.utf8.count > limits.maxHeaderBytes {
                throw WeightFileError(.limitExceeded, path: displayPath, place: "attribute model_config",
                                      expected: "at most \(limits.maxHeaderBytes) bytes", found: "\(config.utf8.count) bytes")
            }
            var found: [TensorInfo] = []
            var walker = Walker(limits: limits, path: displayPath)
            try walker.walk(root, prefix: "", depth: 0, into: &found)
            let layout = try KerasHDF5Layout.detect(root: root, path: displayPath, isZip: zipFormat,
                                                    architecture: config, limits: limits)
            if let layout {
                found = layout.annotate(found)
            } else {
                // The tool's own annotations in an annotated copy (`/spectral_audit`, see
                // schemas/annotated-hdf5.md) are results, not weights, in any HDF5 file.
                for i in found.indices where found[i].name.hasPrefix(KerasHDF5Layout.auditGroup) { found[i].role = .audit }
            }
            return (attrs, config, layout?.format ?? .hdf5, found)
        } catch let e as HDF5Error {
            throw WeightFileError(.malformed, path: displayPath, place: e.target.replacingPrefix(file.path + ":", with: ""),
                                  detail: e.reason)
        }
    }

    private func dataset(_ name: String) throws -> (HDF5Dataset, TensorInfo) {
        guard let i = index[name] else {
            throw WeightFileError(.malformed, path: path, place: "tensor '\(name)'", detail: "no tensor of that name in the file")
        }
        let info = tensors[i]
        guard info.byteCount <= limits.maxTensorBytes else {
            throw WeightFileError(.limitExceeded, path: path, place: "tensor '\(name)'",
                                  expected: "at most \(limits.maxTensorBytes) bytes (--max-tensor-bytes)",
                                  found: "\(info.byteCount) bytes")
        }
        let d: HDF5Dataset
        let storage: HDF5StorageInfo
        let external: Int
        do {
            d = try file.root.openDataset(name)
            storage = try d.storage
            external = try d.externalFileCount
        } catch let e as HDF5Error {
            throw WeightFileError(.malformed, path: path, place: "tensor '\(name)'", detail: e.reason)
        }
        // Raw data kept in other files (external storage, virtual datasets) would make the
        // reader open paths chosen by the file: refused.
        guard external == 0, storage.layout != "virtual" else {
            throw WeightFileError(.unsupported, path: path, place: "tensor '\(name)'",
                                  expected: "data stored in the file itself",
                                  found: external > 0 ? "\(external) external raw-data file(s)" : "a virtual dataset")
        }
        // A dataset may declare any extent and store (almost) nothing: unwritten chunks read back
        // as the fill value. Materialising gigabytes from a few bytes is a memory bomb, so the
        // logical size is bounded by the stored bytes times the compression-ratio limit (zip bombs
        // get the same bound); small tensors are always read.
        let stored = d.storedBytes
        let (bound, overflow) = stored.multipliedReportingOverflow(by: limits.maxCompressionRatio)
        let allowed = max(overflow ? Int.max : bound, HDF5TensorStore.alwaysReadableBytes)
        guard info.byteCount <= allowed else {
            throw WeightFileError(.limitExceeded, path: path, place: "tensor '\(name)'",
                                  expected: "at most \(limits.maxCompressionRatio)× the \(stored) bytes the file stores for it (ReaderLimits.maxCompressionRatio)",
                                  found: "\(info.byteCount) bytes declared")
        }
        return (d, info)
    }

    /// Tensors up to this size are read whatever their stored size (fill values of a small
    /// dataset cost nothing).
    static let alwaysReadableBytes = 1 << 20

    public func loadFloat64(_ name: String) throws -> [Double] {
        let (d, info) = try dataset(name)
        let decode: (UnsafeRawBufferPointer) -> [Double] = { TensorBytes.float64($0, info, fortranOrder: false) }
        let direct: [Double]? = try readHDF5(name, info) { try self.directBytes(d, info, decode) }
        if let direct { return direct }
        return try readHDF5(name, info) {
            if info.dtype == .bfloat16 {
                let raw = try d.readNativeBytes()
                return raw.withUnsafeBytes {
                    ElementDecoding.decodeTensor($0, dtype: .bfloat16, byteOrder: .native, shape: info.shape, fortranOrder: false)
                }
            }
            return try d.readDoubles()
        }
    }

    /// Contiguous, unfiltered, allocated data of a file on disk: decoded straight from the mapping
    /// (the same bytes HDF5 would copy out), nil when the dataset is stored any other way.
    private func directBytes<T>(_ d: HDF5Dataset, _ info: TensorInfo, _ decode: (UnsafeRawBufferPointer) -> T) throws -> T? {
        guard let bytes, let offset = try mappedOffset(d, info) else { return nil }
        return try bytes.withBytes(offset: offset, count: info.byteCount, place: "tensor '\(info.name)'") { decode($0) }
    }

    /// The file offset of a tensor served from the mapping (contiguous, unfiltered, allocated
    /// data of a file on disk, not bf16); nil when libhdf5 reads it.
    private func mappedOffset(_ d: HDF5Dataset, _ info: TensorInfo) throws -> Int? {
        guard bytes != nil, info.dtype != .bfloat16, info.elementCount > 0 else { return nil }
        return try d.contiguousDataOffset()
    }

    public func loadFloat32(_ name: String) throws -> [Float] {
        let (d, info) = try dataset(name)
        let decode: (UnsafeRawBufferPointer) -> [Float] = { TensorBytes.float32($0, info, fortranOrder: false) }
        let direct: [Float]? = try readHDF5(name, info) { try self.directBytes(d, info, decode) }
        if let direct { return direct }
        if info.dtype == .bfloat16 { return ElementDecoding.toFloat32(try loadFloat64(name)) }
        return try readHDF5(name, info) { try d.readFloats() }
    }

    public func loadNativeBytes(_ name: String) throws -> [UInt8] {
        let (d, info) = try dataset(name)
        return try readHDF5(name, info) { try d.readNativeBytes() }
    }

    /// Reads, once and discarding the data, every tensor whose load goes through libhdf5's
    /// `H5Dread` — all but the contiguous, unfiltered datasets of a file on disk, which are decoded
    /// from the mapping — as `loadFloat64` (or `loadFloat32`) would. For a crash-isolation probe
    /// (the CLI's `Preflight`): libhdf5 1.10 can crash reading the raw data of a file whose
    /// metadata lists cleanly (fixtures/README-hostile.md). Read errors are ignored here: the
    /// parent reports them per tensor; a watchdog deadline still ends the process.
    /// Returns the number of tensors read.
    @discardableResult
    public func readLibraryServedTensors(asFloat32: Bool = false) -> Int {
        var count = 0
        for t in tensors where t.elementCount > 0 {
            guard let (d, info) = try? dataset(t.name) else { continue }
            // Served from the mapping, or refused before any read (then the parent refuses too).
            guard case .success(nil) = Result(catching: { try mappedOffset(d, info) }) else { continue }
            count += 1
            if asFloat32 { _ = try? loadFloat32(t.name) } else { _ = try? loadFloat64(t.name) }
        }
        return count
    }

    private func readHDF5<T>(_ name: String, _ info: TensorInfo, _ body: () throws -> T) throws -> T {
        do {
            let seconds = limits.maxHDF5Seconds + Double(info.byteCount) / 50e6
            return try HDF5Watchdog.guarded(seconds: seconds, file: path, activity: "reading tensor '\(name)'", body)
        } catch let e as HDF5Error {
            throw WeightFileError(.malformed, path: path, place: "tensor '\(name)'",
                                  expected: "readable data", found: e.reason)
        }
    }
}

/// Depth-first walk over hard links in name order.
private struct Walker {
    let limits: ReaderLimits
    let path: String
    var visited = Set<UInt64>()
    var objects = 0

    init(limits: ReaderLimits, path: String) {
        self.limits = limits
        self.path = path
    }

    mutating func walk(_ group: HDF5Group, prefix: String, depth: Int, into out: inout [TensorInfo]) throws {
        guard depth <= limits.maxHDF5Depth else {
            throw WeightFileError(.limitExceeded, path: path, place: "group '/\(prefix)'",
                                  expected: "groups nested at most \(limits.maxHDF5Depth) deep", found: "deeper nesting")
        }
        for link in try group.links() {
            objects += 1
            guard objects <= limits.maxHDF5Objects else {
                throw WeightFileError(.limitExceeded, path: path, place: "group '/\(prefix)'",
                                      expected: "at most \(limits.maxHDF5Objects) objects", found: "more")
            }
            let name = prefix.isEmpty ? link.name : prefix + "/" + link.name
            if let address = link.address {
                // A second hard link to an object already seen (including a cycle back to an
                // ancestor) is not walked again.
                if visited.contains(address) { continue }
                visited.insert(address)
            }
            switch link.kind {
            case .group:
                try walk(try group.openGroup(link.name), prefix: name, depth: depth + 1, into: &out)
            case .dataset:
                let d = try group.openDataset(link.name)
                if let info = try describe(d, name: name) { out.append(info) }
            default:
                continue
            }
        }
    }

    /// A `TensorInfo` for numeric datasets; nil for strings and other non-numeric data.
    func describe(_ d: HDF5Dataset, name: String) throws -> TensorInfo? {
        let type = try d.typeInfo
        let shape = try d.shape
        guard shape.count <= limits.maxRank else {
            throw WeightFileError(.limitExceeded, path: path, place: "dataset '/\(name)'",
                                  expected: "at most \(limits.maxRank) dimensions", found: "\(shape.count)")
        }
        guard let count = CheckedSize.product(shape) else {
            throw WeightFileError(.malformed, path: path, place: "dataset '/\(name)'",
                                  expected: "a shape whose element count fits in 64 bits", found: "\(shape)")
        }
        // Byte size too: TensorInfo.byteCount is count × element size (up to 8 bytes).
        guard CheckedSize.bytes(count: count, elementSize: 8) != nil else {
            throw WeightFileError(.malformed, path: path, place: "dataset '/\(name)'",
                                  expected: "a shape whose byte size fits in 64 bits", found: "\(shape)")
        }
        let dtype: DType
        switch type.typeClass {
        case .float:
            switch (type.size, type.mantissaBits) {
            case (2, 10): dtype = .float16
            case (2, 7): dtype = .bfloat16
            case (4, _): dtype = .float32
            case (8, _): dtype = .float64
            default:
                throw WeightFileError(.unsupported, path: path, place: "dataset '/\(name)'",
                                      expected: "a 16-, 32- or 64-bit IEEE float",
                                      found: "a \(type.size * 8)-bit float with a \(type.mantissaBits)-bit mantissa")
            }
        case .integer:
            switch (type.size, type.isSigned) {
            case (1, true): dtype = .int8
            case (1, false): dtype = .uint8
            case (2, true): dtype = .int16
            case (2, false): dtype = .uint16
            case (4, true): dtype = .int32
            case (4, false): dtype = .uint32
            case (8, true): dtype = .int64
            case (8, false): dtype = .uint64
            default: return nil
            }
        case .opaque:
            // numpy void `|V2`: how h5py stores Keras bfloat16. Accepted as bf16 only with
            // evidence: a `dtype="bfloat16"` attribute (Keras 3 `.weights.h5`); legacy `.h5`
            // files without it are resolved from the model config by `KerasHDF5Layout`.
            guard type.size == 2 else { return nil }
            let declared = try d.hasAttribute("dtype") ? d.readStringsAttribute("dtype").first : nil
            dtype = .bfloat16
            if declared != nil && declared != "bfloat16" { return nil }
        case .string, .other:
            return nil
        }
        let storage = try d.storage
        let order: ByteOrder = dtype.byteSize == 1 ? .notApplicable : (type.isBigEndian ? .big : .little)
        return TensorInfo(name: name, shape: shape, dtype: dtype, byteOrder: order, layout: storage.summary)
    }
}

extension String {
    func replacingPrefix(_ prefix: String, with replacement: String) -> String {
        hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
    }
}
