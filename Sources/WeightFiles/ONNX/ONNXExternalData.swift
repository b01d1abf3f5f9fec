import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves `data_location = EXTERNAL` tensors (onnx/external_data_helper.py): `location` is a
/// path relative to the model's folder, `offset` (default 0) and `length` (default: the tensor's
/// size) are decimal byte counts. Data files must stay inside the model's folder: empty
/// locations, absolute paths, `..` components, backslashes, NUL bytes and any path whose real
/// path (symlinks resolved) leaves the folder are refused. Each data file is opened read-only and
/// memory-mapped once, however many tensors it holds.
final class ONNXExternalData: @unchecked Sendable {
    let modelPath: String
    private let folder: String
    private var files: [String: FileBytes] = [:]
    private var realFolder: String?

    init(modelPath: String) {
        self.modelPath = modelPath
        if let slash = modelPath.lastIndex(of: "/") { folder = String(modelPath[...slash]) } else { folder = "./" }
    }

    /// The mapped file and the offset of a tensor's `byteCount` bytes.
    func resolve(_ entries: [Onnx_StringStringEntryProto], byteCount: Int, place: String) throws -> (FileBytes, Int) {
        var keys: [String: String] = [:]
        for e in entries { keys[e.key] = e.value }
        guard let location = keys[ONNXFormat.keyLocation] else {
            throw WeightFileError(.malformed, path: modelPath, place: "\(place) external_data",
                                  expected: "a 'location' key", found: "keys \(entries.map(\.key).prefix(8))")
        }
        try checkLocation(location, place: place)
        let offset = try number(keys[ONNXFormat.keyOffset], key: ONNXFormat.keyOffset, place: place) ?? 0
        let length = try number(keys[ONNXFormat.keyLength], key: ONNXFormat.keyLength, place: place) ?? byteCount
        guard length == byteCount else {
            throw WeightFileError(.malformed, path: modelPath, place: "\(place) external_data length",
                                  expected: "\(byteCount) bytes (shape × data_type)", found: "\(length)")
        }
        let file = try open(location, place: place)
        guard offset <= file.count, byteCount <= file.count - offset else {
            throw WeightFileError(.malformed, path: modelPath, place: "\(place) external_data '\(location)'",
                                  expected: "\(byteCount) bytes at offset \(offset)", found: "a file of \(file.count) bytes")
        }
        return (file, offset)
    }

    private func number(_ text: String?, key: String, place: String) throws -> Int? {
        guard let text else { return nil }
        guard !text.isEmpty, text.utf8.count <= 19, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let v = Int(text) else {
            throw WeightFileError(.malformed, path: modelPath, place: "\(place) external_data \(key)",
                                  expected: "a non-negative decimal integer", found: "'\(text.prefix(40))'")
        }
        return v
    }

    /// The textual rules: a relative path without `..`, `\` or NUL.
    func checkLocation(_ location: String, place: String) throws {
        let parts = location.split(separator: "/", omittingEmptySubsequences: false)
        let bad = location.isEmpty || location.hasPrefix("/") || location.contains("\\") || location.utf8.contains(0)
            || parts.contains("..") || parts.allSatisfy({ $0 == "." || $0.isEmpty })
        guard !bad else {
            throw WeightFileError(.malformed, path: modelPath, place: "\(place) external_data location",
                                  expected: "a relative path inside the model's folder (no '..', no absolute path)",
                                  found: "'\(location.prefix(80))'")
        }
    }

    private func open(_ location: String, place: String) throws -> FileBytes {
        if let f = files[location] { return f }
        let full = folder + location
        guard let real = realPath(full) else {
            throw WeightFileError(.missing, path: modelPath, place: "\(place) external_data '\(location.prefix(80))'",
                                  detail: "no such file next to the model")
        }
        if realFolder == nil { realFolder = realPath(folder) }
        guard let root = realFolder, real.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
            throw WeightFileError(.malformed, path: modelPath, place: "\(place) external_data location",
                                  expected: "a file inside the model's folder", found: "'\(location.prefix(80))' resolving outside it (symlink)")
        }
        let file: FileBytes
        do {
            file = try FileBytes(path: real)
        } catch let e as WeightFileError {
            throw WeightFileError(e.kind, path: modelPath, place: "\(place) external_data '\(location.prefix(80))'",
                                  detail: e.detail ?? "cannot open")
        }
        files[location] = file
        return file
    }

    private func realPath(_ p: String) -> String? {
        guard let r = realpath(p, nil) else { return nil }
        defer { free(r) }
        return String(cString: r)
    }
}
