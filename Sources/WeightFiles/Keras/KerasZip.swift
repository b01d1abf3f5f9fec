import Foundation
import HDF5Kit
import ZIPFoundation

/// Keras 3 `.keras` files: a zip holding `config.json` (the architecture), `metadata.json` and
/// `model.weights.h5` (a Keras 3 weights file). The weights file is opened in memory with HDF5's
/// core driver; nothing is extracted to disk.
public enum KerasZip {
    public static let configMember = "config.json"
    public static let weightsMember = "model.weights.h5"

    /// True when the zip at `path` has the two members that make it a `.keras` file.
    static func isKerasArchive(_ archive: Archive) -> Bool {
        archive[configMember] != nil && archive[weightsMember] != nil
    }

    public static func open(path: String, limits: ReaderLimits = ReaderLimits()) throws -> HDF5TensorStore {
        try PathCheck.requireReadableFile(path)
        let archive: Archive
        try ZIPDirectory.validate(path: path, limits: limits)
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw WeightFileError(.malformed, path: path, place: "zip directory", expected: "a readable zip archive",
                                  found: "\(error)")
        }
        guard let configEntry = archive[configMember] else {
            throw WeightFileError(.malformed, path: path, place: "zip member '\(configMember)'", expected: "present", found: "missing")
        }
        guard let weightsEntry = archive[weightsMember] else {
            throw WeightFileError(.malformed, path: path, place: "zip member '\(weightsMember)'", expected: "present", found: "missing")
        }
        let configData = try extract(configEntry, from: archive, path: path, cap: limits.maxHeaderBytes, limits: limits)
        guard let config = String(data: configData, encoding: .utf8) else {
            throw WeightFileError(.malformed, path: path, place: "zip member '\(configMember)'", expected: "UTF-8 JSON", found: "invalid UTF-8")
        }
        let weights = try extract(weightsEntry, from: archive, path: path, cap: limits.maxDecompressedBytes, limits: limits)
        let file: HDF5File
        do {
            file = try HDF5Watchdog.guarded(seconds: limits.maxHDF5Seconds, file: path, activity: "opening \(weightsMember)") {
                try HDF5File.openImage([UInt8](weights), name: path + "#" + weightsMember)
            }
        } catch let e as HDF5Error {
            throw WeightFileError(.malformed, path: path, place: "zip member '\(weightsMember)'",
                                  expected: "an HDF5 file", found: e.reason)
        }
        return try HDF5TensorStore(file: file, displayPath: path, architecture: config, zipFormat: true, limits: limits,
                                   inMemoryImageBytes: weights.count)
    }

    /// Extracts one member into memory, refusing more than `cap` bytes or a compression ratio
    /// above the limit (zip bombs), checked on the declared size before and the real size during.
    static func extract(_ entry: Entry, from archive: Archive, path: String, cap: Int, limits: ReaderLimits) throws -> Data {
        let place = "zip member '\(entry.path)'"
        let declared = entry.uncompressedSize
        guard declared <= UInt64(cap) else {
            throw WeightFileError(.limitExceeded, path: path, place: place, expected: "at most \(cap) bytes",
                                  found: "\(declared) bytes declared")
        }
        if entry.compressedSize > 0, declared / max(entry.compressedSize, 1) > UInt64(limits.maxCompressionRatio) {
            throw WeightFileError(.limitExceeded, path: path, place: place,
                                  expected: "a compression ratio of at most \(limits.maxCompressionRatio)",
                                  found: "\(declared / entry.compressedSize)")
        }
        var data = Data()
        data.reserveCapacity(Int(declared))
        do {
            _ = try archive.extract(entry, skipCRC32: false) { chunk in
                guard data.count + chunk.count <= Int(declared) else {
                    throw WeightFileError(.malformed, path: path, place: place,
                                          expected: "\(declared) bytes as declared", found: "more")
                }
                data.append(chunk)
            }
        } catch let e as WeightFileError {
            throw e
        } catch {
            throw WeightFileError(.malformed, path: path, place: place, expected: "a readable member", found: "\(error)")
        }
        return data
    }
}
