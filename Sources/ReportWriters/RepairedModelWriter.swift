import Foundation
import HDF5Kit
import WeightFiles
import ZIPFoundation

/// Writes a repaired model (`spectral-audit repair -o OUT`) in the input's own format, changing
/// only the data of the replaced tensors; every other byte of content — other tensors, attributes,
/// headers, configs, zip members — is carried over unchanged:
/// - HDF5 (Keras `.h5`, `.weights.h5`, generic): a byte copy of the input (`sendfile`), opened for
///   update, each replaced dataset overwritten in place in its own datatype (`writeStoredBytes`);
/// - `.keras`: the zip rebuilt member by member in the original order with each member's own
///   compression; `model.weights.h5` is the updated copy of the inner HDF5 file, `config.json` and
///   the rest are the original bytes;
/// - safetensors: the input's bytes with the replaced tensors' data ranges overwritten (header,
///   metadata, order and dtypes untouched; f16/bf16 rounded to nearest even by `ElementEncoding`);
/// - npz: members rebuilt in order with each member's compression (stored or deflated); a replaced
///   member keeps its NPY header and gets new data in that header's dtype, byte order and memory order;
/// - npy: the header kept, the data replaced.
/// The input is only ever opened for reading; the output goes through `AtomicOutput` (temporary
/// file in the destination folder, fsync, rename).
public enum RepairedModelWriter {
    public static func write(input: String, format: ModelFormat, tensors: [TensorInfo],
                             replacements: [String: [Double]], to path: String, force: Bool) throws {
        try AtomicOutput.checkDestination(path, force: force, protected: [input])
        let infos = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for name in replacements.keys where infos[name] == nil {
            throw AtomicOutput.Failure(path: path, reason: "no tensor '\(name)' in \(input)")
        }
        if format == .safetensorsSharded {
            throw AtomicOutput.Failure(path: path, reason: "sharded safetensors checkpoints cannot be written as one file")
        }
        // Everything read from the input (and every input error: exit 65/66) happens before the
        // output exists; inside `AtomicOutput.write` only writing remains (errors: exit 73).
        var zipMembers: [(Entry, Data)] = []
        var content = Data()
        switch format {
        case .kerasZip:
            zipMembers = try members(input)
            guard zipMembers.contains(where: { $0.0.path == KerasZip.weightsMember }) else {
                throw WeightFileError(.malformed, path: input, place: "zip member '\(KerasZip.weightsMember)'", expected: "present", found: "missing")
            }
        case .npz:
            zipMembers = try members(input)
            for k in zipMembers.indices {
                let member = zipMembers[k].0.path
                guard member.hasSuffix(".npy"), let values = replacements[String(member.dropLast(4))] else { continue }
                zipMembers[k].1 = try replacingNPYData(zipMembers[k].1, values: values, path: input, place: "member '\(member)'")
            }
        case .safetensors:
            content = try patchedSafetensors(input: input, infos: infos, replacements: replacements)
        case .npy:
            content = try Data(contentsOf: URL(fileURLWithPath: input))
            if let name = try NPYTensorStore(path: input).tensors.first?.name, let values = replacements[name] {
                content = try replacingNPYData(content, values: values, path: input, place: "header")
            }
        default:
            break
        }
        try AtomicOutput.write(to: path) { tmp in
            do {
                switch format {
                case .kerasZip:
                    try updateKerasZip(zipMembers, to: tmp, infos: infos, replacements: replacements)
                case .npz:
                    try writeZip(zipMembers, to: tmp)
                case .safetensors, .npy:
                    try content.write(to: URL(fileURLWithPath: tmp), options: .withoutOverwriting)
                default:
                    try FileCopy.copy(from: input, to: tmp)
                    try updateHDF5(tmp, infos: infos, replacements: replacements)
                }
            } catch let e as HDF5Error {
                throw AtomicOutput.Failure(path: path, reason: e.reason)
            }
        }
    }

    /// Overwrites the replaced datasets of an HDF5 file we own (a fresh copy).
    static func updateHDF5(_ file: String, infos: [String: TensorInfo], replacements: [String: [Double]]) throws {
        let f = try HDF5File.openForUpdate(ownCopy: file)
        let root = try f.root
        for (name, values) in replacements.sorted(by: { $0.key < $1.key }) {
            let info = infos[name]!
            let bytes = try ElementEncoding.encode(values, shape: info.shape, dtype: info.dtype, byteOrder: info.byteOrder)
            let d = try root.openDataset(name)
            try bytes.withUnsafeBytes { try d.writeStoredBytes($0) }
        }
        try f.flush()
        try f.close()
    }

    /// Every member of a zip, in order: (entry, uncompressed bytes).
    static func members(_ input: String) throws -> [(Entry, Data)] {
        let archive: Archive
        do {
            archive = try Archive(url: URL(fileURLWithPath: input), accessMode: .read)
        } catch {
            throw WeightFileError(.malformed, path: input, place: "zip directory", expected: "a readable zip archive", found: "\(error)")
        }
        // Every member is carried over, including those the readers skip: the same size and
        // compression-ratio limits as the readers apply, and never more bytes than declared.
        let limits = ReaderLimits()
        var out: [(Entry, Data)] = []
        for entry in archive {
            let place = "zip member '\(entry.path)'"
            let declared = entry.uncompressedSize
            guard declared <= UInt64(limits.maxDecompressedBytes),
                  entry.compressedSize == 0 || declared / max(entry.compressedSize, 1) <= UInt64(limits.maxCompressionRatio) else {
                throw WeightFileError(.limitExceeded, path: input, place: place,
                                      expected: "at most \(limits.maxDecompressedBytes) bytes and a compression ratio of at most \(limits.maxCompressionRatio)",
                                      found: "\(declared) bytes from \(entry.compressedSize)")
            }
            var data = Data()
            do {
                _ = try archive.extract(entry, skipCRC32: false) { chunk in
                    guard data.count + chunk.count <= Int(declared) else {
                        throw WeightFileError(.malformed, path: input, place: place, expected: "\(declared) bytes as declared", found: "more")
                    }
                    data.append(chunk)
                }
            } catch let e as WeightFileError {
                throw e
            } catch {
                throw WeightFileError(.malformed, path: input, place: place, expected: "a readable member", found: "\(error)")
            }
            out.append((entry, data))
        }
        return out
    }

    /// Writes `members` to a new zip at `path` with each member's original compression and date.
    static func writeZip(_ members: [(Entry, Data)], to path: String) throws {
        let archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .create)
        for (entry, data) in members {
            let date = entry.fileAttributes[.modificationDate] as? Date ?? Date(timeIntervalSince1970: 315_532_800)
            try archive.addEntry(with: entry.path, type: entry.type, uncompressedSize: Int64(data.count),
                                 modificationDate: date, compressionMethod: entry.isCompressed ? .deflate : .none) { position, size in
                data.subdata(in: Int(position)..<(Int(position) + size))
            }
        }
    }

    /// The `.keras` members with `model.weights.h5` updated, written to `tmp`.
    static func updateKerasZip(_ members: [(Entry, Data)], to tmp: String, infos: [String: TensorInfo],
                               replacements: [String: [Double]]) throws {
        var all = members
        let k = all.firstIndex { $0.0.path == KerasZip.weightsMember }!
        // The inner HDF5 file is updated as a scratch file of its own beside `tmp`, inside the
        // output's private temporary folder (removed with it on failure or interrupt).
        let inner = tmp + ".weights.h5"
        defer { unlink(inner) }
        let fd = open(inner, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw AtomicOutput.Failure(path: inner, reason: String(cString: strerror(errno))) }
        let bytes = all[k].1
        let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        guard written == bytes.count else { throw AtomicOutput.Failure(path: inner, reason: "short write") }
        try updateHDF5(inner, infos: infos, replacements: replacements)
        all[k].1 = try Data(contentsOf: URL(fileURLWithPath: inner))
        try writeZip(all, to: tmp)
    }

    /// The safetensors file's bytes with the replaced tensors' data ranges overwritten.
    static func patchedSafetensors(input: String, infos: [String: TensorInfo], replacements: [String: [Double]]) throws -> Data {
        let store = try SafetensorsTensorStore(path: input)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: input)))
        for (name, values) in replacements {
            let info = infos[name]!
            guard let range = store.dataRange(of: name) else { continue }
            let data = try ElementEncoding.encode(values, shape: info.shape, dtype: info.dtype, byteOrder: .little)
            guard data.count == range.count else {
                throw WeightFileError(.malformed, path: input, place: "tensor '\(name)'", expected: "\(data.count) bytes", found: "\(range.count)")
            }
            bytes.replaceSubrange(range, with: data)
        }
        return Data(bytes)
    }

    /// An NPY file's bytes with new data (header unchanged).
    static func replacingNPYData(_ npy: Data, values: [Double], path: String, place: String) throws -> Data {
        let header = try npy.withUnsafeBytes { try NPYHeader.parse(bytes: $0, path: path, place: place) }
        let data = try ElementEncoding.encode(values, shape: header.shape, dtype: header.dtype, byteOrder: header.byteOrder,
                                              fortranOrder: header.fortranOrder)
        var out = npy.prefix(header.dataOffset)
        out.append(contentsOf: data)
        out.append(npy.suffix(from: npy.startIndex + header.dataOffset + header.dataByteCount))
        return Data(out)
    }
}
