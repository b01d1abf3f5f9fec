import Foundation
import ZIPFoundation

/// A NumPy `.npz` (a zip of `.npy` members, stored by `np.savez`, deflated by
/// `np.savez_compressed`, ZIP64 extra fields as numpy writes them) as a `TensorStore`.
///
/// Tensor names are member names without `.npy` (nested paths kept); members not ending in
/// `.npy` and directory entries are not tensors and are skipped. Listing reads only each
/// member's npy header (the first bytes, inflated up to the header's end for deflated members);
/// loading one tensor reads or inflates that member only and checks its CRC-32.
/// Stored members are sliced straight from the memory-mapped file.
///
/// Thread safety: everything is immutable after `init`; each load uses its own zlib stream.
public final class NPZTensorStore: TensorStore {
    public let path: String
    public var format: ModelFormat { .npz }
    public let tensors: [TensorInfo]
    public var architectureJSON: String? { nil }
    let limits: ReaderLimits
    /// Whether loads check each member's CRC-32 (zlib's `crc32`, ~2 GB/s here: for stored
    /// members it costs more than slicing and decoding together).
    public let verifyChecksums: Bool
    private let file: FileBytes
    private let entries: [String: (member: ZIPMember, header: NPYHeader)]

    /// Bytes inflated first to find a deflated member's header length.
    static let headerProbeBytes = 4096

    /// - Parameter verifyChecksums: check each member's CRC-32 when it is loaded (default, as
    ///   numpy does); false skips that pass over the data.
    public init(path: String, limits: ReaderLimits = ReaderLimits(), verifyChecksums: Bool = true) throws {
        self.path = path
        self.limits = limits
        self.verifyChecksums = verifyChecksums
        let file = try FileBytes(path: path)
        self.file = file
        let members = try ZIPDirectory.read(file, limits: limits)
        try NPZTensorStore.crossCheck(members, path: path)
        var infos: [TensorInfo] = []
        var entries: [String: (member: ZIPMember, header: NPYHeader)] = [:]
        for m in members {
            guard m.name.hasSuffix(".npy"), !m.name.hasSuffix("/") else { continue }
            let header = try NPZTensorStore.readHeader(m, file: file, limits: limits)
            let name = String(m.name.dropLast(4))
            let (layer, variable) = NPZTensorStore.split(name)
            infos.append(TensorInfo(name: name, shape: header.shape, dtype: header.dtype, byteOrder: header.byteOrder,
                                    layout: (m.isStored ? "stored+" : "deflated+") + header.layout,
                                    role: TensorBytes.defaultRole(header.dtype), layer: layer, variable: variable))
            entries[name] = (m, header)
        }
        self.tensors = infos
        self.entries = entries
    }

    /// `a/b/c` → (`a/b`, `c`); else `dense1.weight` → (`dense1`, `weight`); else (nil, name).
    static func split(_ name: String) -> (String?, String?) {
        let separator: Character? = name.contains("/") ? "/" : (name.contains(".") ? "." : nil)
        guard let separator, let cut = name.lastIndex(of: separator) else { return (nil, name) }
        let layer = String(name[..<cut]), variable = String(name[name.index(after: cut)...])
        return (layer.isEmpty ? nil : layer, variable)
    }

    /// ZIPFoundation must read the same members (names, sizes, compression) as `ZIPDirectory`.
    private static func crossCheck(_ members: [ZIPMember], path: String) throws {
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw WeightFileError(.malformed, path: path, place: "zip archive",
                                  detail: "ZIPFoundation cannot open it (\(error))")
        }
        var seen = 0
        for entry in archive {
            guard seen < members.count else { seen += 1; break }
            let m = members[seen]
            guard entry.path == m.name, entry.uncompressedSize == UInt64(m.uncompressedSize),
                  entry.compressedSize == UInt64(m.compressedSize), entry.isCompressed == !m.isStored else {
                throw WeightFileError(.malformed, path: path, place: "member '\(m.name)'",
                                      expected: "the same entry for both zip readers",
                                      found: "ZIPFoundation reads '\(entry.path)' (\(entry.compressedSize) → \(entry.uncompressedSize) bytes)")
            }
            seen += 1
        }
        guard seen == members.count else {
            throw WeightFileError(.malformed, path: path, place: "zip central directory",
                                  expected: "\(members.count) readable entries", found: "\(seen) read by ZIPFoundation")
        }
    }

    private static func memberError(_ m: ZIPMember, _ path: String, _ failure: Inflate.Failure) -> WeightFileError {
        let place = "member '\(m.name)'"
        switch failure {
        case .corrupt(let why):
            return WeightFileError(.malformed, path: path, place: place, detail: "corrupt deflate data (\(why))")
        case .truncated:
            return WeightFileError(.malformed, path: path, place: place, expected: "\(m.uncompressedSize) bytes after inflating",
                                   found: "fewer (truncated deflate data)")
        case .longerThanDeclared:
            return WeightFileError(.malformed, path: path, place: place, expected: "\(m.uncompressedSize) bytes after inflating",
                                   found: "more (extraction stopped)")
        case .trailingInput:
            return WeightFileError(.malformed, path: path, place: place, expected: "the deflate stream to end with the member",
                                   found: "compressed bytes after its end")
        }
    }

    /// Inflates the first `count` bytes of a deflated member.
    private static func inflatePrefix(_ m: ZIPMember, count: Int, file: FileBytes, path: String) throws -> [UInt8] {
        let input = try file.bytes(offset: m.dataOffset, count: m.compressedSize, place: "member '\(m.name)'")
        var produced = 0
        var failure: Inflate.Failure?
        let out = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            do throws(Inflate.Failure) {
                produced = try Inflate.inflate(input, into: UnsafeMutableRawBufferPointer(buffer), wholeStream: false)
            } catch {
                failure = error
                produced = 0
            }
            // Zero what was not produced so the array is fully initialised.
            if produced < count, let base = buffer.baseAddress {
                (base + produced).initialize(repeating: 0, count: count - produced)
            }
            initialized = count
        }
        withExtendedLifetime(file) {}
        if let failure { throw memberError(m, path, failure) }
        return Array(out.prefix(produced))
    }

    /// The npy header of member `m`, checked against the member's declared size.
    private static func readHeader(_ m: ZIPMember, file: FileBytes, limits: ReaderLimits) throws -> NPYHeader {
        let path = file.path
        let place = "member '\(m.name)'"
        let header: NPYHeader
        if m.isStored {
            let bytes = try file.bytes(offset: m.dataOffset, count: m.compressedSize, place: place)
            header = try withExtendedLifetime(file) {
                try NPYHeader.parse(bytes: bytes, path: path, place: place, limits: limits)
            }
        } else {
            var prefix = try inflatePrefix(m, count: min(headerProbeBytes, m.uncompressedSize), file: file, path: path)
            let total = try prefix.withUnsafeBytes {
                try NPYHeader.totalHeaderLength(prelude: UnsafeRawBufferPointer(rebasing: $0.prefix(NPYFormat.maxPreludeLength)),
                                                path: path, place: place, limits: limits)
            }
            if total > prefix.count, prefix.count < m.uncompressedSize {
                prefix = try inflatePrefix(m, count: min(total, m.uncompressedSize), file: file, path: path)
            }
            header = try prefix.withUnsafeBytes { try NPYHeader.parse(bytes: $0, path: path, place: place, limits: limits) }
        }
        let expected = header.dataOffset + header.dataByteCount
        guard expected == m.uncompressedSize else {
            throw WeightFileError(.malformed, path: path, place: "\(place) data",
                                  expected: "\(expected) bytes (npy header plus shape (\(header.shape.map(String.init).joined(separator: ", "))) of \(header.dtype.rawValue))",
                                  found: "a member of \(m.uncompressedSize) bytes",
                                  detail: expected > m.uncompressedSize ? "data truncated" : "trailing bytes after the array")
        }
        return header
    }

    /// Calls `body` with the tensor's element bytes: a slice of the map for stored members, an
    /// inflated copy for deflated ones; CRC-32 verified either way.
    private func withData<R>(_ name: String, _ body: (UnsafeRawBufferPointer, TensorInfo, NPYHeader) throws -> R) throws -> R {
        let info = try self.info(name)
        guard let (m, header) = entries[name] else {
            throw WeightFileError(.missing, path: path, place: "tensor '\(name)'", detail: "no tensor of that name in the file")
        }
        try TensorBytes.checkLoadable(info, limits: limits, path: path)
        let place = "member '\(m.name)'"
        if m.isStored {
            return try file.withBytes(offset: m.dataOffset, count: m.compressedSize, place: place) { member in
                if verifyChecksums {
                    let crc = Inflate.crc32(member)
                    guard crc == m.crc32 else { throw crcMismatch(m, found: crc) }
                }
                let data = UnsafeRawBufferPointer(rebasing: member[header.dataOffset..<(header.dataOffset + header.dataByteCount)])
                return try body(data, info, header)
            }
        }
        let input = try file.bytes(offset: m.dataOffset, count: m.compressedSize, place: place)
        defer { file.release(offset: m.dataOffset, count: m.compressedSize) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: m.uncompressedSize, alignment: 64)
        defer { buffer.deallocate() }
        do throws(Inflate.Failure) {
            _ = try Inflate.inflate(input, into: buffer, wholeStream: true)
        } catch {
            throw NPZTensorStore.memberError(m, path, error)
        }
        withExtendedLifetime(file) {}
        let member = UnsafeRawBufferPointer(buffer)
        if verifyChecksums {
            let crc = Inflate.crc32(member)
            guard crc == m.crc32 else { throw crcMismatch(m, found: crc) }
        }
        return try body(UnsafeRawBufferPointer(rebasing: member[header.dataOffset..<(header.dataOffset + header.dataByteCount)]),
                        info, header)
    }

    public func loadFloat64(_ name: String) throws -> [Double] {
        try withData(name) { TensorBytes.float64($0, $1, fortranOrder: $2.fortranOrder) }
    }

    public func loadFloat32(_ name: String) throws -> [Float] {
        if let fused = try storedFloat32Fused(name) { return fused }
        return try withData(name) { TensorBytes.float32($0, $1, fortranOrder: $2.fortranOrder) }
    }

    private func crcMismatch(_ m: ZIPMember, found: UInt32) -> WeightFileError {
        WeightFileError(.malformed, path: path, place: "member '\(m.name)'",
                        expected: "CRC-32 \(String(m.crc32, radix: 16))", found: String(found, radix: 16))
    }

    /// A stored member holding native-order, C-order float32: checksummed and copied out in one
    /// pass (`Inflate.crc32(_:copyingFrom:to:)`). nil when the member does not qualify.
    private func storedFloat32Fused(_ name: String) throws -> [Float]? {
        let info = try self.info(name)
        guard verifyChecksums, let (m, header) = entries[name], m.isStored, info.dtype == .float32,
              info.byteOrder == .notApplicable || info.byteOrder == ByteOrder.native,
              !(header.fortranOrder && info.shape.count > 1) else { return nil }
        try TensorBytes.checkLoadable(info, limits: limits, path: path)
        let n = info.elementCount
        guard header.dataByteCount == n * 4 else { return nil }
        let place = "member '\(m.name)'"
        return try file.withBytes(offset: m.dataOffset, count: m.compressedSize, place: place) { member in
            var crc: UInt32 = 0
            let out = [Float](unsafeUninitializedCapacity: n) { buffer, initialized in
                TensorBytes.adviseHugePages(buffer.baseAddress, n * 4)
                let prefix = UnsafeRawBufferPointer(rebasing: member[0..<(header.dataOffset + header.dataByteCount)])
                if let dst = buffer.baseAddress {
                    crc = Inflate.crc32(prefix, copyingFrom: header.dataOffset, to: UnsafeMutableRawPointer(dst))
                }
                initialized = n
            }
            // The member is exactly header + data (checked when listing); n == 0 has nothing to copy.
            if n == 0 { crc = Inflate.crc32(member) }
            guard crc == m.crc32 else { throw crcMismatch(m, found: crc) }
            return out
        }
    }

    public func loadNativeBytes(_ name: String) throws -> [UInt8] {
        try withData(name) { TensorBytes.native($0, $1, fortranOrder: $2.fortranOrder) }
    }
}
