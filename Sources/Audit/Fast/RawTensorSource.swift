import Foundation
import WeightFiles
#if canImport(Glibc)
import Glibc
#endif

/// Reads the tensors of a safetensors checkpoint (single file or sharded index) with `pread`
/// in chunks, instead of through the store's memory map: a large audit then never has the whole
/// checkpoint resident in its address space (mapped file pages count towards the process's RSS
/// once touched; pages read with `pread` stay in the kernel's page cache only). Only byte ranges
/// are located here — the store has already validated headers, names, dtypes and shapes.
/// Immutable after `init`; `pread` is safe from any number of threads.
final class RawTensorSource: @unchecked Sendable {
    struct Location {
        let fd: Int32
        let offset: Int
        let bytes: Int
        let info: TensorInfo
    }

    private var fds: [Int32] = []
    private var locations: [String: Location] = [:]

    /// nil for formats other than safetensors (callers then use the store).
    init?(store: any TensorStore) {
        if store is any DerivedTensorStore { return nil }  // e.g. a merged LoRA: not the file's bytes
        var files: [(path: String, names: Set<String>?)] = []
        switch store.format {
        case .safetensors:
            files = [(store.path, nil)]
        case .safetensorsSharded:
            guard let data = FileManager.default.contents(atPath: store.path),
                  let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                  let map = root["weight_map"] as? [String: String] else { return nil }
            let folder = (store.path as NSString).deletingLastPathComponent
            var byShard: [String: Set<String>] = [:]
            for (tensor, shard) in map { byShard[shard, default: []].insert(tensor) }
            files = byShard.keys.sorted().map { ((folder as NSString).appendingPathComponent($0), byShard[$0]) }
        default:
            return nil
        }
        let infos = Dictionary(store.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for file in files {
            let fd = open(file.path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { close(); return nil }
            fds.append(fd)
            var lenBytes = [UInt8](repeating: 0, count: 8)
            guard pread(fd, &lenBytes, 8, 0) == 8 else { close(); return nil }
            let headerLength = lenBytes.enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
            guard headerLength > 0, headerLength < 1 << 31 else { close(); return nil }
            var header = [UInt8](repeating: 0, count: headerLength)
            guard pread(fd, &header, headerLength, 8) == headerLength,
                  let json = try? JSONSerialization.jsonObject(with: Data(header)) as? [String: Any] else { close(); return nil }
            for (name, value) in json where name != "__metadata__" {
                if let wanted = file.names, !wanted.contains(name) { continue }
                guard let entry = value as? [String: Any], let offsets = entry["data_offsets"] as? [Int], offsets.count == 2,
                      let info = infos[name] else { continue }
                locations[name] = Location(fd: fd, offset: 8 + headerLength + offsets[0], bytes: offsets[1] - offsets[0], info: info)
            }
        }
    }

    deinit { close() }

    private func close() {
        for fd in fds { _ = Glibc.close(fd) }
        fds = []
    }

    func location(_ name: String) -> Location? {
        guard let loc = locations[name], loc.bytes == loc.info.byteCount, loc.info.dtype.isFloatingPoint else { return nil }
        return loc
    }

    /// Decodes elements `first ..< first + out.count` (stored order) of the tensor into `out`.
    /// `scratch` is reused between calls (grown as needed).
    func read(_ loc: Location, first: Int, into out: UnsafeMutableBufferPointer<Double>, scratch: inout [UInt8]) throws {
        let size = loc.info.dtype.byteSize
        let length = out.count * size
        if scratch.count < length {
            // Not zero-filled (issue 20: memset was 2 % of an audit's instructions): `pread`
            // fills exactly the bytes decoded below, and a short read throws before decoding.
            scratch = [UInt8](unsafeUninitializedCapacity: length) { _, n in n = length }
        }
        var done = 0
        try scratch.withUnsafeMutableBytes { buf in
            while done < length {
                let r = pread(loc.fd, buf.baseAddress! + done, length - done, off_t(loc.offset + first * size + done))
                if r < 0 && errno == EINTR { continue }
                guard r > 0 else {
                    throw WeightFileError(.unreadable, path: loc.info.name, place: "tensor '\(loc.info.name)'",
                                          detail: "short read at byte \(loc.offset + first * size + done)")
                }
                done += r
            }
            ElementDecoding.decode(UnsafeRawBufferPointer(rebasing: buf[0..<length]), dtype: loc.info.dtype,
                                   byteOrder: loc.info.byteOrder, into: out)
        }
    }

    /// The whole tensor as Float64 (stored order), read in chunks.
    func loadFloat64(_ loc: Location) throws -> [Double] {
        let n = loc.info.elementCount
        var scratch: [UInt8] = []
        let chunk = 1 << 22
        return try [Double](unsafeUninitializedCapacity: n) { buffer, initialized in
            var first = 0
            while first < n {
                let c = Swift.min(chunk, n - first)
                try read(loc, first: first, into: UnsafeMutableBufferPointer(rebasing: buffer[first..<(first + c)]), scratch: &scratch)
                first += c
            }
            initialized = n
        }
    }
}
