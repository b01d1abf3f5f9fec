/// A validated GGUF header (see `GGUFFormat`): metadata, tensor descriptions and where each
/// tensor's bytes are. Every count and size read from the file is checked against the bytes left
/// and against `ReaderLimits` before anything is allocated.
struct GGUFHeader: Sendable {
    struct Entry: Sendable {
        var name: String
        /// `ne` as stored: fastest dimension first.
        var ne: [Int]
        var type: GGUFFormat.TensorType
        /// Absolute offset in the file and stored size.
        var offset: Int
        var bytes: Int
    }

    var version: UInt32
    var metadata: [String: MetadataValue]
    var metadataKeys: [String]
    var alignment: Int
    var dataStart: Int
    /// File order.
    var entries: [Entry]

    static func read(_ file: FileBytes, limits: ReaderLimits) throws -> GGUFHeader {
        try withExtendedLifetime(file) {
            var r = GGUFCursor(all: file.all, path: file.path, limits: limits)
            return try r.header()
        }
    }
}

/// Sequential little-endian reads with bounds checks; errors name the byte where they happened.
struct GGUFCursor {
    let all: UnsafeRawBufferPointer
    let path: String
    let limits: ReaderLimits
    var position = 0
    var valuesRead = 0

    init(all: UnsafeRawBufferPointer, path: String, limits: ReaderLimits) {
        self.all = all
        self.path = path
        self.limits = limits
    }

    func error(_ place: String, expected: String, found: String, kind: WeightFileError.Kind = .malformed) -> WeightFileError {
        WeightFileError(kind, path: path, place: place, expected: expected, found: found)
    }

    var remaining: Int { all.count - position }

    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        guard n <= remaining else {
            throw error("\(what()) at byte \(position)", expected: "\(n) bytes", found: "\(remaining) bytes to the end of the file (truncated)")
        }
        guard position + n <= limits.maxHeaderBytes else {
            throw error("\(what()) at byte \(position)", expected: "a header of at most \(limits.maxHeaderBytes) bytes (ReaderLimits.maxHeaderBytes)",
                        found: "more", kind: .limitExceeded)
        }
    }

    mutating func u32(_ what: @autoclosure () -> String) throws -> UInt32 {
        try need(4, what())
        defer { position += 4 }
        return all.le(UInt32.self, at: position)
    }

    mutating func u64(_ what: @autoclosure () -> String) throws -> UInt64 {
        try need(8, what())
        defer { position += 8 }
        return all.le(UInt64.self, at: position)
    }

    /// A count that must fit what is left of the file at `minimumSize` bytes per item.
    mutating func count(_ what: String, minimumSize: Int, cap: Int, capName: String) throws -> Int {
        let at = position
        let n = try u64(what)
        guard n <= UInt64(cap) else {
            throw error("\(what) at byte \(at)", expected: "at most \(cap) (ReaderLimits.\(capName))", found: "\(n)", kind: .limitExceeded)
        }
        let count = Int(n)
        guard count <= remaining / max(1, minimumSize) else {
            throw error("\(what) at byte \(at)", expected: "at most \(remaining / max(1, minimumSize)) (the bytes left allow no more)",
                        found: "\(count)")
        }
        return count
    }

    mutating func rawString(_ what: @autoclosure () -> String) throws -> UnsafeRawBufferPointer {
        let at = position
        let n = try u64("\(what()) length")
        guard n <= UInt64(remaining) else {
            throw error("\(what()) length at byte \(at)", expected: "at most \(remaining) (the bytes left)", found: "\(n)")
        }
        try need(Int(n), what())
        defer { position += Int(n) }
        return UnsafeRawBufferPointer(rebasing: all[position..<(position + Int(n))])
    }

    /// A key or tensor name: valid UTF-8, no NUL.
    mutating func name(_ what: String) throws -> String {
        let at = position
        let raw = try rawString(what)
        guard let s = String(validating: raw, as: UTF8.self), !raw.contains(0) else {
            throw error("\(what) at byte \(at)", expected: "UTF-8 text without NUL", found: "invalid bytes")
        }
        return s
    }

    mutating func header() throws -> GGUFHeader {
        try need(4, "magic")
        guard Array(all[0..<4]) == GGUFFormat.magic else {
            let shown = all[0..<4].map { String(format: "%02x", $0) }.joined(separator: " ")
            throw error("magic at byte 0", expected: "\"GGUF\" (47 47 55 46)", found: shown)
        }
        position = 4
        let version = try u32("version")
        guard GGUFFormat.supportedVersions.contains(version) else {
            if GGUFFormat.supportedVersions.contains(version.byteSwapped) {
                throw error("version at byte 4", expected: "a little-endian GGUF file", found: "a big-endian one (not read)", kind: .unsupported)
            }
            throw error("version at byte 4", expected: "GGUF version 2 or 3", found: "\(version)",
                        kind: version == 1 ? .unsupported : .malformed)
        }
        // An entry takes at least: name length 8, n_dims 4, type 4, offset 8.
        let tensorCount = try count("tensor count", minimumSize: 24, cap: limits.maxMembers, capName: "maxMembers")
        let kvCount = try count("metadata count", minimumSize: 12, cap: limits.maxMetadataValues, capName: "maxMetadataValues")
        var metadata: [String: MetadataValue] = [:]
        var keys: [String] = []
        for k in 0..<kvCount {
            let at = position
            let key = try name("metadata key \(k)")
            guard metadata[key] == nil else {
                throw error("metadata key '\(key.prefix(80))' at byte \(at)", expected: "unique keys", found: "a duplicate")
            }
            let typeAt = position
            let type = try valueType("metadata '\(key.prefix(80))' type")
            let value = try self.value(type, key: key, typeAt: typeAt, depth: 0)
            metadata[key] = value
            keys.append(key)
        }
        var alignment = GGUFFormat.defaultAlignment
        if let a = metadata[GGUFFormat.alignmentKey] {
            guard case .unsigned(let v, .u32) = a, v > 0, v & (v - 1) == 0, v <= 1 << 30 else {
                throw error("metadata '\(GGUFFormat.alignmentKey)'", expected: "a u32 power of two", found: "\(a.type.rawValue) \(a.summary.prefix(40))")
            }
            alignment = Int(v)
        }
        var infos: [(name: String, ne: [Int], type: GGUFFormat.TensorType, offset: UInt64, at: Int)] = []
        infos.reserveCapacity(tensorCount)
        var names = Set<String>()
        for k in 0..<tensorCount {
            let at = position
            let tensorName = try name("tensor \(k) name")
            let place = "tensor '\(tensorName.prefix(120))'"
            guard names.insert(tensorName).inserted else {
                throw error("\(place) at byte \(at)", expected: "unique tensor names", found: "a duplicate")
            }
            let dimsAt = position
            let nDims = try u32("\(place) n_dims")
            guard nDims <= UInt32(GGUFFormat.maxDimensions), Int(nDims) <= limits.maxRank else {
                throw error("\(place) n_dims at byte \(dimsAt)", expected: "at most \(GGUFFormat.maxDimensions) dimensions", found: "\(nDims)")
            }
            var ne: [Int] = []
            for _ in 0..<Int(nDims) {
                let dAt = position
                let d = try u64("\(place) dimension")
                guard d <= UInt64(Int64.max) else {
                    throw error("\(place) dimension at byte \(dAt)", expected: "a dimension below 2^63", found: "\(d)")
                }
                ne.append(Int(d))
            }
            let typeAt = position
            let typeID = try u32("\(place) type")
            guard let type = GGUFFormat.tensorTypes[typeID] else {
                throw error("\(place) type at byte \(typeAt)", expected: "a ggml tensor type", found: "unknown type \(typeID)")
            }
            let offset = try u64("\(place) offset")
            infos.append((tensorName, ne, type, offset, at))
        }
        let dataStart = (position + alignment - 1) / alignment * alignment
        guard dataStart <= all.count else {
            throw error("data section at byte \(dataStart)", expected: "tensor data after the header (padded to \(alignment))",
                        found: "a file of \(all.count) bytes (truncated)")
        }
        var entries: [GGUFHeader.Entry] = []
        entries.reserveCapacity(infos.count)
        for info in infos {
            let place = "tensor '\(info.name.prefix(120))'"
            guard let elements = CheckedSize.product(info.ne) else {
                throw error("\(place) shape", expected: "an element count below 2^63", found: "ne \(info.ne) (overflows)")
            }
            let first = info.ne.first ?? 1
            guard first % info.type.blockElements == 0 else {
                throw error("\(place) shape", expected: "ne[0] a multiple of \(info.type.name)'s block of \(info.type.blockElements)",
                            found: "ne \(info.ne)")
            }
            guard let bytes = CheckedSize.bytes(count: elements / info.type.blockElements, elementSize: info.type.blockBytes) else {
                throw error("\(place) shape", expected: "a byte size below 2^63", found: "ne \(info.ne) of \(info.type.name)")
            }
            guard info.offset % UInt64(alignment) == 0 else {
                throw error("\(place) offset", expected: "a multiple of the alignment \(alignment)", found: "\(info.offset)")
            }
            guard info.offset <= UInt64(all.count - dataStart), bytes <= all.count - dataStart - Int(info.offset) else {
                throw error("\(place) offset", expected: "\(bytes) bytes inside the data section (\(all.count - dataStart) bytes at byte \(dataStart))",
                            found: "offset \(info.offset) (past the end of the file)")
            }
            entries.append(GGUFHeader.Entry(name: info.name, ne: info.ne, type: info.type, offset: dataStart + Int(info.offset), bytes: bytes))
        }
        // Tensors must not share bytes (ggml lays them out one after another).
        let sorted = entries.sorted { ($0.offset, $0.bytes) < ($1.offset, $1.bytes) }
        for (a, b) in zip(sorted, sorted.dropFirst()) where a.bytes > 0 && b.bytes > 0 && b.offset < a.offset + a.bytes {
            throw error("tensor '\(b.name.prefix(120))' offset", expected: "data after the end of tensor '\(a.name.prefix(120))' (byte \(a.offset + a.bytes))",
                        found: "byte \(b.offset) (overlapping tensors)")
        }
        return GGUFHeader(version: version, metadata: metadata, metadataKeys: keys, alignment: alignment,
                          dataStart: dataStart, entries: entries)
    }

    mutating func valueType(_ what: String) throws -> GGUFFormat.ValueType {
        let at = position
        let raw = try u32(what)
        guard let t = GGUFFormat.ValueType(rawValue: raw) else {
            throw error("\(what) at byte \(at)", expected: "a GGUF value type (0–12)", found: "\(raw)")
        }
        return t
    }

    mutating func value(_ type: GGUFFormat.ValueType, key: String, typeAt: Int, depth: Int) throws -> MetadataValue {
        valuesRead += 1
        guard valuesRead <= limits.maxMetadataValues else {
            throw error("metadata '\(key.prefix(80))' at byte \(position)",
                        expected: "at most \(limits.maxMetadataValues) metadata values (ReaderLimits.maxMetadataValues)", found: "more",
                        kind: .limitExceeded)
        }
        // Built only when an error is thrown: this runs once per array element.
        var what: String { "metadata '\(key.prefix(80))'" }
        switch type {
        case .uint8: try need(1, what); position += 1; return .unsigned(UInt64(all[position - 1]), .u8)
        case .int8: try need(1, what); position += 1; return .signed(Int64(Int8(bitPattern: all[position - 1])), .i8)
        case .bool:
            try need(1, what)
            let b = all[position]
            guard b <= 1 else { throw error("\(what) at byte \(position)", expected: "a bool (0 or 1)", found: "\(b)") }
            position += 1
            return .bool(b == 1)
        case .uint16:
            try need(2, what); defer { position += 2 }
            return .unsigned(UInt64(all.le(UInt16.self, at: position)), .u16)
        case .int16:
            try need(2, what); defer { position += 2 }
            return .signed(Int64(Int16(bitPattern: all.le(UInt16.self, at: position))), .i16)
        case .uint32: return .unsigned(UInt64(try u32(what)), .u32)
        case .int32: return .signed(Int64(Int32(bitPattern: try u32(what))), .i32)
        case .float32: return .float(Double(Float(bitPattern: try u32(what))), .f32)
        case .uint64: return .unsigned(try u64(what), .u64)
        case .int64: return .signed(Int64(bitPattern: try u64(what)), .i64)
        case .float64: return .float(Double(bitPattern: try u64(what)), .f64)
        case .string:
            // Values are only listed: invalid UTF-8 is shown with replacement characters.
            return .string(String(decoding: try rawString(what), as: UTF8.self))
        case .array:
            guard depth < limits.maxMetadataDepth else {
                throw error("\(what) at byte \(typeAt)", expected: "arrays nested at most \(limits.maxMetadataDepth) deep (ReaderLimits.maxMetadataDepth)",
                            found: "deeper", kind: .limitExceeded)
            }
            let elementType = try valueType("\(what) element type")
            let n = try count("\(what) element count", minimumSize: elementType.minimumSize,
                              cap: limits.maxMetadataValues, capName: "maxMetadataValues")
            var out: [MetadataValue] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try value(elementType, key: key, typeAt: typeAt, depth: depth + 1)) }
            return .array(elementType: MetadataValue.Scalar(elementType), out)
        }
    }
}

extension MetadataValue.Scalar {
    init(_ t: GGUFFormat.ValueType) {
        switch t {
        case .uint8: self = .u8
        case .int8: self = .i8
        case .uint16: self = .u16
        case .int16: self = .i16
        case .uint32: self = .u32
        case .int32: self = .i32
        case .float32: self = .f32
        case .bool: self = .bool
        case .string: self = .string
        case .array: self = .array
        case .uint64: self = .u64
        case .int64: self = .i64
        case .float64: self = .f64
        }
    }
}
