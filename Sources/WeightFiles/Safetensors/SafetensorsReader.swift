/// A validated safetensors header: the tensors in data order and where the data starts.
struct SafetensorsHeader: Sendable {
    struct Entry: Sendable {
        var name: String
        var dtype: DType
        var shape: [Int]
        var begin: Int
        var end: Int
    }

    /// Sorted by `(begin, end)`: file order.
    var entries: [Entry]
    var metadata: [String: String]?
    /// Offset of the data buffer in the file (`8 + N`).
    var dataStart: Int

    /// Reads and validates the header of the mapped file as the reference implementation does
    /// (`SafeTensors::read_metadata` + `Metadata::validate`), plus: duplicate JSON keys and
    /// nesting deeper than `limits.maxJSONDepth` are refused, and `limits` caps the header
    /// size, tensor count and rank. Unknown keys inside a tensor entry are ignored, as serde does.
    static func read(_ file: FileBytes, limits: ReaderLimits) throws -> SafetensorsHeader {
        let path = file.path
        let all = file.all
        return try withExtendedLifetime(file) {
            let sizeBytes = SafetensorsFormat.headerSizeFieldBytes
            guard all.count >= sizeBytes else {
                throw WeightFileError(.malformed, path: path, place: "header size at byte 0",
                                      expected: "an 8-byte little-endian header size", found: "a file of \(all.count) bytes")
            }
            let n64 = all.le(UInt64.self, at: 0)
            guard n64 <= UInt64(limits.maxHeaderBytes) else {
                throw WeightFileError(.limitExceeded, path: path, place: "header size at byte 0",
                                      expected: "at most \(limits.maxHeaderBytes) bytes (ReaderLimits.maxHeaderBytes)",
                                      found: "\(n64)")
            }
            let n = Int(n64)
            guard n <= all.count - sizeBytes else {
                throw WeightFileError(.malformed, path: path, place: "header size at byte 0",
                                      expected: "at most \(all.count - sizeBytes) (the bytes after it)",
                                      found: "\(n) (header size past end of file)")
            }
            let json = UnsafeRawBufferPointer(rebasing: all[sizeBytes..<(sizeBytes + n)])
            guard String(validating: json, as: UTF8.self) != nil else {
                throw WeightFileError(.malformed, path: path, place: "header", expected: "UTF-8 text", found: "invalid UTF-8")
            }
            guard json.first == UInt8(ascii: "{") else {
                throw WeightFileError(.malformed, path: path, place: "header at byte 8",
                                      expected: "a JSON object starting with '{'",
                                      found: json.first.map { "byte 0x\(String($0, radix: 16))" } ?? "an empty header")
            }
            let root = try parseJSON(json, base: sizeBytes, path: path, place: "header", limits: limits)
            guard case .object(let object) = root else {
                throw WeightFileError(.malformed, path: path, place: "header", expected: "a JSON object", found: root.typeName)
            }
            var metadata: [String: String]?
            var entries: [Entry] = []
            entries.reserveCapacity(min(object.count, limits.maxMembers))
            for key in object.keys {
                guard let value = object[key] else { continue }
                if key == SafetensorsFormat.metadataKey {
                    metadata = try readMetadata(value, path: path)
                    continue
                }
                guard entries.count < limits.maxMembers else {
                    throw WeightFileError(.limitExceeded, path: path, place: "header",
                                          expected: "at most \(limits.maxMembers) tensors (ReaderLimits.maxMembers)", found: "more")
                }
                entries.append(try readEntry(key, value, path: path, limits: limits))
            }
            entries.sort { ($0.begin, $0.end) < ($1.begin, $1.end) }
            // Metadata::validate: contiguous from 0, sizes match shape × dtype.
            var start = 0
            for e in entries {
                let place = "tensor '\(e.name)'"
                guard e.begin == start, e.end >= e.begin else {
                    throw WeightFileError(.malformed, path: path, place: "\(place) data_offsets",
                                          expected: "[\(start), …] (tensors tile the data without gaps or overlaps)",
                                          found: "[\(e.begin), \(e.end)]")
                }
                start = e.end
                guard let count = CheckedSize.product(e.shape),
                      let bytes = CheckedSize.bytes(count: count, elementSize: e.dtype.byteSize) else {
                    throw WeightFileError(.malformed, path: path, place: "\(place) shape",
                                          expected: "a size that fits in 64 bits", found: "\(e.shape) of \(e.dtype.rawValue)")
                }
                guard e.end - e.begin == bytes else {
                    throw WeightFileError(.malformed, path: path, place: "\(place) data_offsets",
                                          expected: "\(bytes) bytes for shape \(e.shape) of \(e.dtype.rawValue)",
                                          found: "[\(e.begin), \(e.end)] = \(e.end - e.begin) bytes")
                }
            }
            let dataStart = sizeBytes + n
            guard start == all.count - dataStart else {
                throw WeightFileError(.malformed, path: path, place: "data at byte \(dataStart)",
                                      expected: "\(start) bytes of tensor data (the end of the last tensor)",
                                      found: "\(all.count - dataStart) bytes to the end of the file")
            }
            return SafetensorsHeader(entries: entries, metadata: metadata, dataStart: dataStart)
        }
    }

    /// Depth pre-scan, then the strict parser; errors placed at the byte where parsing stopped.
    static func parseJSON(_ json: UnsafeRawBufferPointer, base: Int, path: String, place: String,
                          limits: ReaderLimits) throws -> JSONValue {
        let maxDepth = min(limits.maxJSONDepth, JSONValue.absoluteMaxDepth)
        guard JSONLimits.depth(of: json, limit: maxDepth) != nil else {
            throw WeightFileError(.limitExceeded, path: path, place: place,
                                  expected: "JSON nested at most \(maxDepth) deep (ReaderLimits.maxJSONDepth)", found: "deeper")
        }
        do {
            return try JSONValue.parse(json, maxDepth: maxDepth)
        } catch {
            throw WeightFileError(error.depthExceeded ? .limitExceeded : .malformed, path: path,
                                  place: "\(place) byte \(base + error.offset)", detail: "invalid JSON: \(error.message)")
        }
    }

    private static func readMetadata(_ value: JSONValue, path: String) throws -> [String: String]? {
        if value == .null { return nil }
        guard case .object(let o) = value else {
            throw WeightFileError(.malformed, path: path, place: "header \(SafetensorsFormat.metadataKey)",
                                  expected: "an object of strings", found: value.typeName)
        }
        var out: [String: String] = [:]
        for k in o.keys {
            guard let s = o[k]?.stringValue else {
                throw WeightFileError(.malformed, path: path, place: "header \(SafetensorsFormat.metadataKey) '\(k)'",
                                      expected: "a string", found: o[k]?.typeName ?? "nothing")
            }
            out[k] = s
        }
        return out
    }

    private static func readEntry(_ name: String, _ value: JSONValue, path: String, limits: ReaderLimits) throws -> Entry {
        let place = "tensor '\(name)'"
        guard case .object(let o) = value else {
            throw WeightFileError(.malformed, path: path, place: place,
                                  expected: "an object with dtype, shape and data_offsets", found: value.typeName)
        }
        guard let dtypeValue = o[SafetensorsFormat.keyDType], let shapeValue = o[SafetensorsFormat.keyShape],
              let offsetsValue = o[SafetensorsFormat.keyDataOffsets] else {
            let missing = [SafetensorsFormat.keyDType, SafetensorsFormat.keyShape, SafetensorsFormat.keyDataOffsets]
                .filter { o[$0] == nil }
            throw WeightFileError(.malformed, path: path, place: place, expected: "keys dtype, shape and data_offsets",
                                  found: "no " + missing.joined(separator: ", "))
        }
        guard let dtypeName = dtypeValue.stringValue else {
            throw WeightFileError(.malformed, path: path, place: "\(place) dtype", expected: "a string", found: dtypeValue.typeName)
        }
        guard let dtype = SafetensorsFormat.dtypes[dtypeName] else {
            if SafetensorsFormat.knownUnsupportedDTypes.contains(dtypeName) {
                throw WeightFileError(.unsupported, path: path, place: "\(place) dtype",
                                      expected: "one of \(SafetensorsFormat.dtypes.keys.sorted().joined(separator: " "))",
                                      found: "\(dtypeName) (valid safetensors, not read by spectral-audit)")
            }
            throw WeightFileError(.malformed, path: path, place: "\(place) dtype",
                                  expected: "a safetensors dtype such as F32", found: "'\(dtypeName.prefix(40))'")
        }
        guard case .array(let dims) = shapeValue else {
            throw WeightFileError(.malformed, path: path, place: "\(place) shape", expected: "an array", found: shapeValue.typeName)
        }
        guard dims.count <= limits.maxRank else {
            throw WeightFileError(.limitExceeded, path: path, place: "\(place) shape",
                                  expected: "at most \(limits.maxRank) dimensions (ReaderLimits.maxRank)", found: "\(dims.count)")
        }
        var shape: [Int] = []
        for d in dims {
            guard let v = d.nonNegativeInt else {
                throw WeightFileError(.malformed, path: path, place: "\(place) shape",
                                      expected: "non-negative integer dimensions", found: d.typeName)
            }
            shape.append(v)
        }
        guard case .array(let offsets) = offsetsValue, offsets.count == 2,
              let begin = offsets[0].nonNegativeInt, let end = offsets[1].nonNegativeInt else {
            throw WeightFileError(.malformed, path: path, place: "\(place) data_offsets",
                                  expected: "[begin, end] as non-negative integers", found: offsetsValue.typeName)
        }
        return Entry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
    }

    /// Tensor descriptions with PyTorch-layout orientation, layer/variable and role.
    func tensorInfos() -> [TensorInfo] {
        let isPyTorch = metadata?["format"] == "pt"
        return entries.map { e in
            var layer: String?
            var variable = e.name
            if let dot = e.name.lastIndex(of: ".") {
                layer = String(e.name[..<dot])
                variable = String(e.name[e.name.index(after: dot)...])
                if layer?.isEmpty == true { layer = nil }
            }
            var orientation = Orientation.unknown
            if variable == "weight" {
                switch e.shape.count {
                case 2:
                    let conv1D = isPyTorch && (SafetensorsFormat.conv1DBareNames.contains(e.name)
                        || SafetensorsFormat.conv1DWeightSuffixes.contains(where: { e.name.hasSuffix($0) }))
                    orientation = conv1D ? .inOut : .outIn
                case 3, 4, 5: orientation = .convOIHW
                default: break
                }
            }
            let role: TensorRole = e.name.hasSuffix("num_batches_tracked") || !e.dtype.isFloatingPoint ? .buffer : .weights
            return TensorInfo(name: e.name, shape: e.shape, dtype: e.dtype,
                              byteOrder: e.dtype.byteSize == 1 ? .notApplicable : .little,
                              layout: "contiguous", role: role, layer: layer, variable: variable, orientation: orientation)
        }
    }
}

/// Loads from a mapped safetensors file with zero copies until decoding.
private func loadEntry<R>(_ file: FileBytes, _ header: SafetensorsHeader, _ entry: SafetensorsHeader.Entry,
                          _ info: TensorInfo, limits: ReaderLimits, path: String,
                          _ body: (UnsafeRawBufferPointer, TensorInfo) throws -> R) throws -> R {
    try TensorBytes.checkLoadable(info, limits: limits, path: path)
    return try file.withBytes(offset: header.dataStart + entry.begin, count: entry.end - entry.begin,
                              place: "tensor '\(entry.name)'") { try body($0, info) }
}

/// One `.safetensors` file as a `TensorStore` (format `.safetensors`). Tensors are listed in
/// data order; loads slice the memory-mapped file. Immutable after `init`: thread-safe.
public final class SafetensorsTensorStore: TensorStore {
    public let path: String
    public var format: ModelFormat { .safetensors }
    public let tensors: [TensorInfo]
    public var architectureJSON: String? { nil }
    /// The file's `__metadata__` (string → string), if any.
    public let metadata: [String: String]?
    let limits: ReaderLimits
    private let file: FileBytes
    private let header: SafetensorsHeader
    private let index: [String: Int]

    public init(path: String, limits: ReaderLimits = ReaderLimits()) throws {
        self.path = path
        self.limits = limits
        file = try FileBytes(path: path)
        header = try SafetensorsHeader.read(file, limits: limits)
        metadata = header.metadata
        tensors = header.tensorInfos()
        var index: [String: Int] = [:]
        for (k, e) in header.entries.enumerated() { index[e.name] = k }
        self.index = index
    }

    private func with<R>(_ name: String, _ body: (UnsafeRawBufferPointer, TensorInfo) throws -> R) throws -> R {
        guard let k = index[name] else { _ = try info(name); throw WeightFileError(.missing, path: path, place: "tensor '\(name)'") }
        return try loadEntry(file, header, header.entries[k], tensors[k], limits: limits, path: path, body)
    }

    public func loadFloat64(_ name: String) throws -> [Double] { try with(name) { TensorBytes.float64($0, $1, fortranOrder: false) } }
    public func loadFloat32(_ name: String) throws -> [Float] { try with(name) { TensorBytes.float32($0, $1, fortranOrder: false) } }
    public func loadNativeBytes(_ name: String) throws -> [UInt8] { try with(name) { TensorBytes.native($0, $1, fortranOrder: false) } }

    /// The absolute byte range of a tensor's data in the file (for writers that patch a copy).
    public func dataRange(of name: String) -> Range<Int>? {
        guard let k = index[name] else { return nil }
        let e = header.entries[k]
        return (header.dataStart + e.begin)..<(header.dataStart + e.end)
    }
}

/// A sharded checkpoint: `model.safetensors.index.json` plus the shard files it names, which
/// must be plain file names in the index's folder (no `/`, `..` or absolute paths). Every shard
/// is opened and its header validated when the store is created (listing needs every shape);
/// shards are memory-mapped, so no tensor data is read until a load. The index's `weight_map`
/// is authoritative: each tensor it lists must be in its shard; tensors a shard holds that the
/// index does not list are not part of the checkpoint and are ignored. Tensors are listed
/// shard by shard (shard names sorted), in data order inside each shard.
public final class SafetensorsShardedStore: TensorStore {
    public let path: String
    public var format: ModelFormat { .safetensorsSharded }
    public let tensors: [TensorInfo]
    public var architectureJSON: String? { nil }
    /// The index's `metadata` object (e.g. `total_size`), as parsed.
    public let indexMetadata: JSONValue?
    /// Shard file names, sorted.
    public let shardNames: [String]
    let limits: ReaderLimits
    private struct Shard {
        let file: FileBytes
        let header: SafetensorsHeader
    }
    private let shards: [String: Shard]
    /// Tensor name → (shard name, entry index in that shard, index in `tensors`).
    private let locations: [String: (shard: String, entry: Int, info: Int)]

    public init(indexPath: String, limits: ReaderLimits = ReaderLimits()) throws {
        path = indexPath
        self.limits = limits
        let (metadata, byShard) = try ShardIndex.read(indexPath, limits: limits)
        indexMetadata = metadata
        let folder = ShardIndex.folder(of: indexPath)
        var shards: [String: Shard] = [:]
        var infos: [TensorInfo] = []
        var locations: [String: (shard: String, entry: Int, info: Int)] = [:]
        let names = byShard.keys.sorted()
        for shardName in names {
            let file: FileBytes
            do {
                file = try FileBytes(path: folder + shardName)
            } catch let e as WeightFileError {
                // Name the index the user gave, then the shard it points to.
                throw WeightFileError(e.kind, path: indexPath, place: "shard '\(shardName)'",
                                      detail: e.detail ?? "cannot open")
            }
            let header = try SafetensorsHeader.read(file, limits: limits)
            shards[shardName] = Shard(file: file, header: header)
            let wanted = Set(byShard[shardName] ?? [])
            let shardInfos = header.tensorInfos()
            var found = Set<String>()
            for (k, info) in shardInfos.enumerated() where wanted.contains(info.name) {
                locations[info.name] = (shardName, k, infos.count)
                infos.append(info)
                found.insert(info.name)
            }
            if let absent = wanted.subtracting(found).sorted().first {
                throw WeightFileError(.malformed, path: indexPath, place: "index weight_map '\(absent)'",
                                      expected: "tensor '\(absent)' in shard '\(shardName)'", found: "no such tensor in that shard")
            }
        }
        shardNames = names
        self.shards = shards
        self.locations = locations
        tensors = infos
    }

    /// Shard references must stay inside the index's folder.
    static func checkShardName(_ shard: String, tensor: String, indexPath: String) throws {
        let bad = shard.isEmpty || shard == "." || shard == ".." || shard.contains("/") || shard.contains("\\")
            || shard.utf8.contains(0)
        guard !bad else {
            throw WeightFileError(.malformed, path: indexPath, place: "index weight_map '\(tensor)'",
                                  expected: "a plain file name in the index's folder",
                                  found: "'\(shard.prefix(80))'")
        }
    }

    private func with<R>(_ name: String, _ body: (UnsafeRawBufferPointer, TensorInfo) throws -> R) throws -> R {
        guard let loc = locations[name], let shard = shards[loc.shard] else {
            throw WeightFileError(.missing, path: path, place: "tensor '\(name)'", detail: "no tensor of that name in the checkpoint")
        }
        return try loadEntry(shard.file, shard.header, shard.header.entries[loc.entry], tensors[loc.info],
                             limits: limits, path: shard.file.path, body)
    }

    public func loadFloat64(_ name: String) throws -> [Double] { try with(name) { TensorBytes.float64($0, $1, fortranOrder: false) } }
    public func loadFloat32(_ name: String) throws -> [Float] { try with(name) { TensorBytes.float32($0, $1, fortranOrder: false) } }
    public func loadNativeBytes(_ name: String) throws -> [UInt8] { try with(name) { TensorBytes.native($0, $1, fortranOrder: false) } }
}
