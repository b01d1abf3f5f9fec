/// A parsed `.npy` header (see `NPYFormat`). Parsed by hand, never evaluated.
public struct NPYHeader: Sendable, Hashable {
    public var major: UInt8
    public var minor: UInt8
    public var dtype: DType
    public var byteOrder: ByteOrder
    public var fortranOrder: Bool
    public var shape: [Int]
    /// Offset of the first element from the start of the `.npy` bytes.
    public var dataOffset: Int
    /// `product(shape) · itemsize`, overflow-checked.
    public var dataByteCount: Int

    /// Length of the prelude plus header dict, read from the first bytes of a `.npy`
    /// (`prelude` needs `NPYFormat.maxPreludeLength` bytes, fewer if the file is shorter).
    /// - Parameter place: where these bytes are, for errors (`header`, `member 'w.npy'`).
    public static func totalHeaderLength(prelude: UnsafeRawBufferPointer, path: String, place: String,
                                         limits: ReaderLimits = ReaderLimits()) throws -> Int {
        let version = try readVersion(prelude, path: path, place: place)
        guard prelude.count >= version.preludeLength else {
            throw WeightFileError(.malformed, path: path, place: place,
                                  expected: "a \(version.preludeLength)-byte prelude (magic, version, header length)",
                                  found: "\(prelude.count) bytes")
        }
        let hl = version.lengthFieldBytes == 2
            ? Int(prelude.le(UInt16.self, at: 8))
            : Int(prelude.le(UInt32.self, at: 8))
        guard hl <= limits.maxHeaderBytes else {
            throw WeightFileError(.limitExceeded, path: path, place: "\(place) length at byte 8",
                                  expected: "at most \(limits.maxHeaderBytes) header bytes (ReaderLimits.maxHeaderBytes)",
                                  found: "\(hl)")
        }
        return version.preludeLength + hl
    }

    private static func readVersion(_ b: UnsafeRawBufferPointer, path: String, place: String) throws -> NPYFormat.Version {
        let m = NPYFormat.magic
        guard b.count >= m.count, zip(b.prefix(m.count), m).allSatisfy({ $0 == $1 }) else {
            let shown = b.prefix(m.count).map { $0 >= 0x20 && $0 < 0x7F ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
            throw WeightFileError(.malformed, path: path, place: "\(place) magic at byte 0",
                                  expected: "\\x93NUMPY", found: b.isEmpty ? "an empty file" : "'\(shown)'")
        }
        guard b.count >= NPYFormat.magicAndVersionLength else {
            throw WeightFileError(.malformed, path: path, place: "\(place) version at byte 6",
                                  expected: "2 version bytes", found: "end of data")
        }
        let major = b[6], minor = b[7]
        guard let v = NPYFormat.versions.first(where: { $0.major == major && $0.minor == minor }) else {
            throw WeightFileError(.unsupported, path: path, place: "\(place) version at byte 6",
                                  expected: "format version 1.0, 2.0 or 3.0", found: "\(major).\(minor)")
        }
        return v
    }

    /// Parses a complete `.npy` header from `bytes` (which start at the magic and hold at least
    /// the whole header; they may also hold the data).
    /// - Parameter place: where these bytes are, for errors (`header`, `member 'w.npy'`).
    public static func parse(bytes: UnsafeRawBufferPointer, path: String, place: String = "header",
                             limits: ReaderLimits = ReaderLimits()) throws -> NPYHeader {
        let total = try totalHeaderLength(prelude: UnsafeRawBufferPointer(rebasing: bytes.prefix(NPYFormat.maxPreludeLength)),
                                          path: path, place: place, limits: limits)
        let version = try readVersion(bytes, path: path, place: place)
        guard bytes.count >= total else {
            throw WeightFileError(.malformed, path: path, place: "\(place) length at byte 8",
                                  expected: "a header ending at byte \(total)",
                                  found: "only \(bytes.count) bytes (header length past end of data)")
        }
        var p = DictParser(bytes: UnsafeRawBufferPointer(rebasing: bytes[version.preludeLength..<total]),
                           base: version.preludeLength, path: path, place: place)
        let fields = try p.parse(maxRank: limits.maxRank)
        guard let count = CheckedSize.product(fields.shape),
              let byteCount = CheckedSize.bytes(count: count, elementSize: fields.dtype.byteSize),
              byteCount <= Int.max - total else {
            throw WeightFileError(.malformed, path: path, place: "\(place) shape",
                                  expected: "a shape whose byte size fits in 64 bits",
                                  found: "(\(fields.shape.map(String.init).joined(separator: ", "))) of \(fields.dtype.rawValue)")
        }
        return NPYHeader(major: version.major, minor: version.minor, dtype: fields.dtype, byteOrder: fields.byteOrder,
                         fortranOrder: fields.fortranOrder, shape: fields.shape, dataOffset: total,
                         dataByteCount: byteCount)
    }

    /// `contiguous`, plus `+fortran_order` when the data is column-major.
    public var layout: String { fortranOrder && shape.count > 1 ? "contiguous+fortran_order" : "contiguous" }
}

/// Hand-written parser of numpy's header dict: `{'descr': '<f4', 'fortran_order': False,
/// 'shape': (3, 4), }` with keys in any order, optional trailing comma, whitespace padding.
private struct DictParser {
    let bytes: UnsafeRawBufferPointer
    /// Offset of `bytes` inside the file/member, for error positions.
    let base: Int
    let path: String
    let place: String
    var i = 0

    init(bytes: UnsafeRawBufferPointer, base: Int, path: String, place: String) {
        self.bytes = bytes
        self.base = base
        self.path = path
        self.place = place
    }

    struct Fields {
        var dtype: DType
        var byteOrder: ByteOrder
        var fortranOrder: Bool
        var shape: [Int]
    }

    func error(_ expected: String, kind: WeightFileError.Kind = .malformed, found: String? = nil) -> WeightFileError {
        WeightFileError(kind, path: path, place: "\(place) byte \(base + i)", expected: expected, found: found ?? describe())
    }

    func describe() -> String {
        guard i < bytes.count else { return "end of header" }
        let c = bytes[i]
        return c >= 0x21 && c < 0x7F ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
    }

    var current: UInt8? { i < bytes.count ? bytes[i] : nil }

    mutating func skipSpace() {
        while let c = current, c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D { i += 1 }
    }

    mutating func expect(_ c: Character) throws {
        skipSpace()
        guard current == c.asciiValue else { throw error("'\(c)'") }
        i += 1
    }

    /// A quoted string without escapes (numpy never writes escapes in these headers).
    mutating func quoted() throws -> String {
        skipSpace()
        guard let q = current, q == UInt8(ascii: "'") || q == UInt8(ascii: "\"") else { throw error("a quoted string") }
        i += 1
        let start = i
        while let c = current, c != q {
            guard c != UInt8(ascii: "\\"), c >= 0x20 else { throw error("a plain quoted string") }
            i += 1
        }
        guard current == q else { throw error("a closing quote") }
        let s = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
        i += 1
        return s
    }

    mutating func word() -> String {
        let start = i
        while let c = current, (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_") { i += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
    }

    mutating func parse(maxRank: Int) throws -> Fields {
        try expect("{")
        var descr: (DType, ByteOrder)?
        var fortran: Bool?
        var shape: [Int]?
        var seen = Set<String>()
        while true {
            skipSpace()
            if current == UInt8(ascii: "}") {
                i += 1
                break
            }
            let keyStart = i
            let key = try quoted()
            guard NPYFormat.requiredKeys.contains(key) else {
                i = keyStart
                throw error("one of the keys 'descr', 'fortran_order', 'shape'", found: "key '\(key.prefix(40))'")
            }
            guard seen.insert(key).inserted else {
                i = keyStart
                throw error("each key once", found: "key '\(key)' repeated")
            }
            try expect(":")
            skipSpace()
            switch key {
            case NPYFormat.keyDescr: descr = try parseDescr()
            case NPYFormat.keyFortranOrder: fortran = try parseBool()
            default: shape = try parseShape(maxRank: maxRank)
            }
            skipSpace()
            if current == UInt8(ascii: ",") {
                i += 1
            } else if current != UInt8(ascii: "}") {
                throw error("',' or '}'")
            }
        }
        skipSpace()
        guard i == bytes.count else { throw error("only padding after the header dict") }
        let missing = NPYFormat.requiredKeys.subtracting(seen).sorted()
        guard let (dtype, order) = descr, let fortran, let shape, missing.isEmpty else {
            throw WeightFileError(.malformed, path: path, place: place,
                                  expected: "keys 'descr', 'fortran_order' and 'shape'",
                                  found: "no " + missing.map { "'\($0)'" }.joined(separator: ", "))
        }
        return Fields(dtype: dtype, byteOrder: order, fortranOrder: fortran, shape: shape)
    }

    mutating func parseBool() throws -> Bool {
        let start = i
        switch word() {
        case "True": return true
        case "False": return false
        case let w:
            i = start
            throw error("True or False", found: w.isEmpty ? describe() : "'\(w)'")
        }
    }

    mutating func parseDescr() throws -> (DType, ByteOrder) {
        if current == UInt8(ascii: "[") {
            throw error("a simple dtype string", kind: .unsupported, found: "a structured dtype (record arrays are not weights)")
        }
        let start = i
        let s = try quoted()
        let (path, place, base) = (self.path, self.place, self.base)
        let fail = { (kind: WeightFileError.Kind, why: String?) -> WeightFileError in
            WeightFileError(kind, path: path, place: "\(place) descr at byte \(base + start)",
                            expected: kind == .malformed ? "a numpy dtype such as '<f4'" : nil,
                            found: "'\(s.prefix(40))'", detail: why)
        }
        var u = Array(s.utf8)
        var orderChar: UInt8?
        if let f = u.first, [NPYFormat.littleEndianChar, NPYFormat.bigEndianChar, NPYFormat.notApplicableChar,
                             NPYFormat.nativeChar].contains(f) {
            orderChar = f
            u.removeFirst()
        }
        guard let k = u.first, (k >= 0x41 && k <= 0x5A) || (k >= 0x61 && k <= 0x7A) else { throw fail(.malformed, nil) }
        let kind = Character(Unicode.Scalar(k))
        let digits = u.dropFirst()
        var size: Int?
        if !digits.isEmpty, digits.count <= 3, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
            size = Int(String(decoding: digits, as: UTF8.self))
        }
        if kind == "O", digits.isEmpty || size == 8 { throw fail(.unsupported, NPYFormat.unsupportedKindReason(kind, itemSize: size)) }
        guard let size else { throw fail(.malformed, nil) }
        guard let dtype = NPYFormat.dtype(kind: kind, itemSize: size) else {
            if let why = NPYFormat.unsupportedKindReason(kind, itemSize: size) { throw fail(.unsupported, why) }
            throw fail(.malformed, "unknown dtype")
        }
        let order: ByteOrder
        if dtype.byteSize == 1 {
            order = .notApplicable
        } else {
            switch orderChar {
            case NPYFormat.littleEndianChar: order = .little
            case NPYFormat.bigEndianChar: order = .big
            case NPYFormat.nativeChar: order = ByteOrder.native
            default: throw fail(.malformed, "a multi-byte dtype needs '<' or '>'")
            }
        }
        return (dtype, order)
    }

    mutating func parseShape(maxRank: Int) throws -> [Int] {
        guard current == UInt8(ascii: "(") else { throw error("a tuple such as (3, 4)") }
        i += 1
        var dims: [Int] = []
        var needComma = false
        while true {
            skipSpace()
            guard let c = current else { throw error("')'") }
            if c == UInt8(ascii: ")") {
                // `(3)` is an int in Python, not a tuple.
                if dims.count == 1 && needComma { throw error("',' after the only dimension (a 1-tuple is written (n,))") }
                i += 1
                return dims
            }
            if needComma {
                guard c == UInt8(ascii: ",") else { throw error("',' or ')'") }
                i += 1
                needComma = false
                if dims.count == 1 { skipSpace(); if current == UInt8(ascii: ")") { i += 1; return dims } }
                continue
            }
            let start = i
            var negative = false
            if c == UInt8(ascii: "-") { negative = true; i += 1 }
            let digitsStart = i
            var v = 0
            var overflow = false
            while let d = current, d >= 0x30, d <= 0x39 {
                let (m, o1) = v.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int(d - 0x30))
                overflow = overflow || o1 || o2
                v = a
                i += 1
            }
            guard i > digitsStart else { throw error("a dimension (non-negative integer)") }
            if current == UInt8(ascii: "L") { i += 1 }  // Python 2 long literal in old files
            let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            guard !negative else {
                i = start
                throw error("a non-negative dimension", found: text)
            }
            guard !overflow else {
                i = start
                throw error("a dimension that fits in 64 bits", found: text)
            }
            dims.append(v)
            guard dims.count <= maxRank else {
                throw WeightFileError(.limitExceeded, path: path, place: "\(place) shape",
                                      expected: "at most \(maxRank) dimensions (ReaderLimits.maxRank)", found: "more")
            }
            needComma = true
        }
    }
}

/// One `.npy` file as a `TensorStore`: a single tensor named after the file stem
/// (`dense.weight.npy` → `dense.weight`). The file is memory-mapped; loads decode from the map.
public final class NPYTensorStore: TensorStore {
    public let path: String
    public var format: ModelFormat { .npy }
    public let tensors: [TensorInfo]
    public var architectureJSON: String? { nil }
    public let header: NPYHeader
    let limits: ReaderLimits
    private let file: FileBytes

    public init(path: String, limits: ReaderLimits = ReaderLimits()) throws {
        self.path = path
        self.limits = limits
        let file = try FileBytes(path: path)
        self.file = file
        let header = try NPYHeader.parse(bytes: file.all, path: path, place: "header", limits: limits)
        try withExtendedLifetime(file) {
            let expectedEnd = header.dataOffset + header.dataByteCount
            guard file.count == expectedEnd else {
                throw WeightFileError(.malformed, path: path, place: "data at byte \(header.dataOffset)",
                                      expected: "\(header.dataByteCount) bytes for shape (\(header.shape.map(String.init).joined(separator: ", "))) of \(header.dtype.rawValue)",
                                      found: "\(file.count - header.dataOffset) bytes",
                                      detail: file.count < expectedEnd ? "data truncated" : "trailing bytes after the array (several arrays appended to one file?)")
            }
        }
        self.header = header
        tensors = [TensorInfo(name: NPYTensorStore.stem(of: path), shape: header.shape, dtype: header.dtype,
                              byteOrder: header.byteOrder, layout: header.layout,
                              role: TensorBytes.defaultRole(header.dtype))]
    }

    /// The file name without folders and without a trailing `.npy`.
    static func stem(of path: String) -> String {
        let name = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
        return name.lowercased().hasSuffix(".npy") ? String(name.dropLast(4)) : name
    }

    private func withData<R>(_ name: String, _ body: (UnsafeRawBufferPointer, TensorInfo) throws -> R) throws -> R {
        let info = try self.info(name)
        try TensorBytes.checkLoadable(info, limits: limits, path: path)
        return try file.withBytes(offset: header.dataOffset, count: header.dataByteCount, place: "tensor '\(name)'") {
            try body($0, info)
        }
    }

    public func loadFloat64(_ name: String) throws -> [Double] {
        try withData(name) { TensorBytes.float64($0, $1, fortranOrder: header.fortranOrder) }
    }

    public func loadFloat32(_ name: String) throws -> [Float] {
        try withData(name) { TensorBytes.float32($0, $1, fortranOrder: header.fortranOrder) }
    }

    public func loadNativeBytes(_ name: String) throws -> [UInt8] {
        try withData(name) { TensorBytes.native($0, $1, fortranOrder: header.fortranOrder) }
    }
}
