import Foundation
import HDF5Kit
import ZIPFoundation

/// Opens any supported weight file, choosing the reader from the file's first bytes (never its
/// extension): HDF5 signature → HDF5/Keras; `PK` → `.keras` zip or `.npz`; `\x93NUMPY` → `.npy`;
/// `GGUF` → GGUF; an 8-byte length followed by `{` → safetensors; a JSON object with `weight_map` → sharded
/// safetensors index. PyTorch: a zip with a `<folder>/data.pkl` member → `torch.save` /
/// TorchScript archive; the legacy pickle magic (`80 02 8a 0a` + 0x1950a86a20f9469cfc6c) →
/// legacy `torch.save`; an index whose first shard is one of those → sharded PyTorch.
/// `0x08` + a one-byte `ir_version` + a ModelProto field tag → ONNX.
public enum ModelFile {
    public static func open(_ path: String, limits: ReaderLimits = ReaderLimits()) throws -> any TensorStore {
        try PathCheck.requireReadableFile(path)
        let prefix = try readPrefix(path, count: 16)
        if HDF5File.hasSignature(prefix) {
            return try HDF5TensorStore(path: path, limits: limits)
        }
        if prefix.starts(with: [0x50, 0x4B]) {
            // The strict directory reading first: its one-line error names the bad record, and
            // ZIPFoundation (used below) never sees a malformed directory (ZIPDirectory+Gate).
            try ZIPDirectory.validate(path: path, limits: limits)
            // One ZIPFoundation view of the validated directory decides the kind (not a
            // re-validation per kind, as the path-taking checks do for callers that have none).
            if let archive = try? Archive(url: URL(fileURLWithPath: path), accessMode: .read) {
                if KerasZip.isKerasArchive(archive) { return try KerasZip.open(path: path, limits: limits) }
                if PyTorchZipArchive.isPyTorchArchive(archive) { return try openPyTorchZip(path, limits: limits) }
            }
            return try openNPZ(path, limits: limits)
        }
        if prefix.starts(with: PyTorchFormat.legacyMagicPrefix.prefix(prefix.count)) && prefix.count >= 14 {
            return try openPyTorchLegacy(path, limits: limits)
        }
        if prefix.starts(with: [0x93] + Array("NUMPY".utf8)) {
            return try openNPY(path, limits: limits)
        }
        if prefix.starts(with: GGUFFormat.magic) {
            return try openGGUF(path, limits: limits)
        }
        if ONNXFormat.looksLikeModel(prefix) {
            return try openONNX(path, limits: limits)
        }
        if let first = prefix.first(where: { !($0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09) }), first == UInt8(ascii: "{") {
            if PyTorchShardedStore.isPyTorchIndex(path, limits: limits) { return try openShardedPyTorch(path, limits: limits) }
            return try openShardedSafetensors(path, limits: limits)
        }
        if prefix.count >= 9 && prefix[8] == UInt8(ascii: "{") {
            return try openSafetensors(path, limits: limits)
        }
        let shown = prefix.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
        throw WeightFileError(.malformed, path: path, place: "byte 0",
                              expected: "a weight file (HDF5/Keras, .keras, NPY, NPZ, safetensors, GGUF, PyTorch, ONNX)",
                              found: prefix.isEmpty ? "an empty file" : "bytes \(shown)")
    }

    /// The first `count` bytes of a file (fewer if it is shorter).
    public static func readPrefix(_ path: String, count: Int) throws -> [UInt8] {
        try PathCheck.requireReadableFile(path)
        guard let h = FileHandle(forReadingAtPath: path) else {
            throw WeightFileError(.unreadable, path: path, place: "path", detail: "cannot open for reading")
        }
        defer { try? h.close() }
        do {
            return [UInt8](try h.read(upToCount: count) ?? Data())
        } catch {
            throw WeightFileError(.unreadable, path: path, place: "byte 0", detail: "\(error)")
        }
    }

    /// True for a zip holding a Keras `config.json` + `model.weights.h5` (an HDF5 file inside).
    public static func isKerasZip(_ path: String) throws -> Bool {
        guard ZIPDirectory.isWellFormed(path: path), let archive = try? Archive(url: URL(fileURLWithPath: path), accessMode: .read) else { return false }
        return KerasZip.isKerasArchive(archive)
    }
}
