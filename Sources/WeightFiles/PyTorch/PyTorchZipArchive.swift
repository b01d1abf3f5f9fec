import Foundation
import ZIPFoundation

/// The zip layer of a PyTorch zip checkpoint, through ZIPFoundation: the member list (unique
/// names, at most `limits.maxMembers`), the archive's top folder (the one holding `data.pkl`),
/// and whole-member reads with sizes checked before anything is allocated (declared size against
/// the caller's cap, compression ratio against `limits.maxCompressionRatio`), the inflated size
/// checked against the declared one while reading, and the CRC-32 checked at the end (libdeflate). Stored and
/// deflated members, data descriptors and ZIP64 records are ZIPFoundation's.
///
/// Thread safety: ZIPFoundation's `Archive` reads through one `FILE*`, so reads are serialised
/// by a lock; the listing is immutable after `init`.
final class PyTorchZipArchive: @unchecked Sendable {
    let path: String
    /// The top folder, without the slash (`archive`, or the file's stem).
    let prefix: String
    let limits: ReaderLimits
    private let archive: Archive
    private let members: [String: Entry]
    /// Member names in archive order.
    let names: [String]
    private let lock = NSLock()
    /// Size of the file when opened: no member's compressed size may exceed it.
    private let fileSize: Int

    /// True when the zip at `path` has a `<folder>/data.pkl` member (a torch.save or
    /// torch.jit.save archive). Never throws: anything unreadable is "no".
    static func isPyTorchArchive(_ path: String) -> Bool {
        guard ZIPDirectory.isWellFormed(path: path), let archive = try? Archive(url: URL(fileURLWithPath: path), accessMode: .read) else { return false }
        return isPyTorchArchive(archive)
    }

    /// The same test on an archive whose directory `ZIPDirectory` has already validated.
    static func isPyTorchArchive(_ archive: Archive) -> Bool {
        var seen = 0
        for entry in archive {
            seen += 1
            if seen > 100_000 { return false }
            if topFolder(ofDataPickle: entry.path) != nil { return true }
        }
        return false
    }

    /// `X` for a member named `X/data.pkl` (X one plain path component).
    static func topFolder(ofDataPickle name: String) -> String? {
        guard name.hasSuffix("/data.pkl") else { return nil }
        let folder = String(name.dropLast("/data.pkl".count))
        guard !folder.isEmpty, !folder.contains("/"), folder != ".", folder != ".." else { return nil }
        return folder
    }

    init(path: String, limits: ReaderLimits) throws {
        self.path = path
        self.limits = limits
        fileSize = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
        try ZIPDirectory.validate(path: path, limits: limits)
        do {
            archive = try Archive(url: URL(fileURLWithPath: path), accessMode: .read)
        } catch {
            throw WeightFileError(.malformed, path: path, place: "zip archive", detail: "ZIPFoundation cannot open it (\(error))")
        }
        var members: [String: Entry] = [:]
        var names: [String] = []
        var folders: [String] = []
        for entry in archive {
            guard names.count < limits.maxMembers else {
                throw WeightFileError(.limitExceeded, path: path, place: "zip central directory",
                                      expected: "at most \(limits.maxMembers) members (ReaderLimits.maxMembers)", found: "more")
            }
            let name = entry.path
            guard members[name] == nil else {
                throw WeightFileError(.malformed, path: path, place: "member '\(PickleMachine.shown(name))'",
                                      expected: "unique member names", found: "the name twice")
            }
            members[name] = entry
            names.append(name)
            if let f = PyTorchZipArchive.topFolder(ofDataPickle: name) { folders.append(f) }
        }
        guard folders.count == 1, let folder = folders.first else {
            throw WeightFileError(.malformed, path: path, place: "zip archive",
                                  expected: "one '<folder>/data.pkl' member (a torch.save archive)",
                                  found: folders.isEmpty ? "none" : "\(folders.count) (\(folders.prefix(3).map { PickleMachine.shown($0) }.joined(separator: ", ")))")
        }
        prefix = folder
        self.members = members
        self.names = names
    }

    /// The member `<prefix>/<relative>`, if present.
    func entry(_ relative: String) -> Entry? { members[prefix + "/" + relative] }

    func size(_ relative: String) -> Int? {
        entry(relative).map { Int(clamping: $0.uncompressedSize) }
    }

    func isCompressed(_ relative: String) -> Bool { entry(relative)?.isCompressed ?? false }

    /// True when some member's name starts with `<prefix>/<relative>`.
    func hasMember(startingWith relative: String) -> Bool {
        let p = prefix + "/" + relative
        return names.contains { $0.hasPrefix(p) }
    }

    /// The whole member `<prefix>/<relative>`, at most `maxBytes` bytes.
    func read(_ relative: String, maxBytes: Int, what: String) throws -> [UInt8] {
        let name = prefix + "/" + relative
        let place = "member '\(PickleMachine.shown(name))'"
        guard let e = members[name] else {
            throw WeightFileError(.malformed, path: path, place: place, expected: "the member for \(what)", found: "no such member")
        }
        guard e.type == .file else {
            throw WeightFileError(.malformed, path: path, place: place, expected: "a file member", found: e.type == .symlink ? "a symbolic link" : "a directory")
        }
        guard e.uncompressedSize <= UInt64(maxBytes), e.uncompressedSize <= UInt64(limits.maxDecompressedBytes) else {
            throw WeightFileError(.limitExceeded, path: path, place: place,
                                  expected: "at most \(min(maxBytes, limits.maxDecompressedBytes)) bytes", found: "\(e.uncompressedSize) bytes declared")
        }
        guard e.compressedSize <= UInt64(fileSize), e.isCompressed || e.compressedSize == e.uncompressedSize else {
            throw WeightFileError(.malformed, path: path, place: place,
                                  expected: e.isCompressed ? "a compressed size within the file's \(fileSize) bytes" : "a stored member of equal compressed and uncompressed sizes within the file's \(fileSize) bytes",
                                  found: "\(e.compressedSize) → \(e.uncompressedSize) bytes")
        }
        if e.isCompressed {
            let allowed = max(e.compressedSize, 1).multipliedReportingOverflow(by: UInt64(limits.maxCompressionRatio))
            guard allowed.overflow || e.uncompressedSize <= allowed.partialValue || e.uncompressedSize <= 1 << 16 else {
                throw WeightFileError(.limitExceeded, path: path, place: place,
                                      expected: "a compression ratio of at most \(limits.maxCompressionRatio) (ReaderLimits.maxCompressionRatio)",
                                      found: "\(e.compressedSize) → \(e.uncompressedSize) bytes")
            }
        }
        let size = Int(e.uncompressedSize)
        var out = [UInt8]()
        out.reserveCapacity(size)
        struct Overflow: Error {}
        lock.lock()
        defer { lock.unlock() }
        do {
            // ZIPFoundation's CRC-32 is table-driven Swift (~10× slower than reading here);
            // libdeflate's (`Inflate.crc32`) checks the same bytes below.
            _ = try archive.extract(e, bufferSize: 1 << 20, skipCRC32: true) { chunk in
                guard chunk.count <= size - out.count else { throw Overflow() }
                out.append(contentsOf: chunk)
            }
        } catch is Overflow {
            throw WeightFileError(.malformed, path: path, place: place, expected: "\(size) bytes (the declared size)", found: "more (reading stopped)")
        } catch {
            throw WeightFileError(.malformed, path: path, place: place, detail: "cannot read the member (\(error))")
        }
        guard out.count == size else {
            throw WeightFileError(.malformed, path: path, place: place, expected: "\(size) bytes (the declared size)", found: "\(out.count) (truncated)")
        }
        let crc = out.withUnsafeBytes { Inflate.crc32($0) }
        guard crc == e.checksum else {
            throw WeightFileError(.malformed, path: path, place: place, expected: "CRC-32 \(String(e.checksum, radix: 16))", found: String(crc, radix: 16))
        }
        return out
    }
}
