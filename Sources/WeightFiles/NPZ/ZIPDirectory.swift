/// The parts of the ZIP format (APPNOTE 6.3) an `.npz` needs, read strictly from the mapped
/// file: end-of-central-directory record (and its ZIP64 form), central directory entries with
/// their ZIP64 extra fields, and each member's local header to find where its data starts.
///
/// ZIPFoundation 0.9.20 reads the same structures, but does not expose where a member's data
/// starts (needed to slice stored members from the map without copying) and its entry iterator
/// silently stops at the first unreadable central-directory entry. `NPZTensorStore` still opens
/// the file with ZIPFoundation's `Archive` and requires both readings to agree.
struct ZIPMember: Sendable, Hashable {
    var name: String
    var method: UInt16
    var flags: UInt16
    var crc32: UInt32
    var compressedSize: Int
    var uncompressedSize: Int
    var localHeaderOffset: Int
    var dataOffset: Int

    var isStored: Bool { method == ZIPFormat.methodStored }
}

enum ZIPFormat {
    static let localHeaderSignature: UInt32 = 0x0403_4B50
    static let centralHeaderSignature: UInt32 = 0x0201_4B50
    static let endOfCentralDirectorySignature: UInt32 = 0x0605_4B50
    static let zip64EndOfCentralDirectorySignature: UInt32 = 0x0606_4B50
    static let zip64LocatorSignature: UInt32 = 0x0706_4B50
    static let localHeaderSize = 30
    static let centralHeaderSize = 46
    static let endOfCentralDirectorySize = 22
    static let zip64LocatorSize = 20
    static let zip64EndOfCentralDirectorySize = 56
    static let maxCommentLength = 0xFFFF
    static let zip64ExtraID: UInt16 = 0x0001
    static let methodStored: UInt16 = 0
    static let methodDeflated: UInt16 = 8
    static let flagEncrypted: UInt16 = 1 << 0
    static let flagUTF8: UInt16 = 1 << 11
}

enum ZIPDirectory {
    /// Every member of the archive in central-directory order, validated: inside the file, not
    /// overlapping, stored or deflated, not encrypted, names valid and unique, sizes within
    /// `limits` (count, per-member and total decompressed size, compression ratio).
    static func read(_ file: FileBytes, limits: ReaderLimits) throws -> [ZIPMember] {
        let path = file.path
        let all = file.all
        return try withExtendedLifetime(file) {
            func bad(_ place: String, _ expected: String, _ found: String, _ detail: String? = nil) -> WeightFileError {
                WeightFileError(.malformed, path: path, place: place, expected: expected, found: found, detail: detail)
            }
            // End of central directory: the last record whose comment runs exactly to the end.
            let n = all.count
            var eocd = -1
            if n >= ZIPFormat.endOfCentralDirectorySize {
                let lowest = max(0, n - ZIPFormat.endOfCentralDirectorySize - ZIPFormat.maxCommentLength)
                var k = n - ZIPFormat.endOfCentralDirectorySize
                while k >= lowest {
                    if all.le(UInt32.self, at: k) == ZIPFormat.endOfCentralDirectorySignature,
                       k + ZIPFormat.endOfCentralDirectorySize + Int(all.le(UInt16.self, at: k + 20)) == n {
                        eocd = k
                        break
                    }
                    k -= 1
                }
            }
            guard eocd >= 0 else {
                throw bad("zip end of central directory", "an end-of-central-directory record in the last 64 KiB",
                          "none (not a zip archive, or truncated)")
            }
            let place = "zip end of central directory at byte \(eocd)"
            let disk = all.le(UInt16.self, at: eocd + 4), cdDisk = all.le(UInt16.self, at: eocd + 6)
            var entriesOnDisk = Int(all.le(UInt16.self, at: eocd + 8))
            var entries = Int(all.le(UInt16.self, at: eocd + 10))
            var cdSize = Int(all.le(UInt32.self, at: eocd + 12))
            var cdOffset = Int(all.le(UInt32.self, at: eocd + 16))
            var cdLimit = eocd  // the central directory must end before this
            let locator = eocd - ZIPFormat.zip64LocatorSize
            if locator >= 0, all.le(UInt32.self, at: locator) == ZIPFormat.zip64LocatorSignature {
                let recordOffset64 = all.le(UInt64.self, at: locator + 8)
                // Room for the record first: `locator - size` is negative in a tiny file, and
                // converting that to UInt64 traps (fuzz/npz/zip64-locator-near-start.npz).
                guard locator >= ZIPFormat.zip64EndOfCentralDirectorySize,
                      recordOffset64 <= UInt64(locator - ZIPFormat.zip64EndOfCentralDirectorySize) else {
                    throw bad("zip64 end-of-central-directory locator at byte \(locator)",
                              "a record offset before byte \(locator)", "\(recordOffset64)")
                }
                let r = Int(recordOffset64)
                guard all.le(UInt32.self, at: r) == ZIPFormat.zip64EndOfCentralDirectorySignature else {
                    throw bad("zip64 end of central directory at byte \(r)", "signature PK\\x06\\x06", "other bytes")
                }
                let disk64 = all.le(UInt32.self, at: r + 16), cdDisk64 = all.le(UInt32.self, at: r + 20)
                guard disk64 == 0, cdDisk64 == 0 else {
                    throw WeightFileError(.unsupported, path: path, place: "zip64 end of central directory",
                                          expected: "a single-disk archive", found: "disk \(disk64)")
                }
                let e64a = all.le(UInt64.self, at: r + 24), e64 = all.le(UInt64.self, at: r + 32)
                let s64 = all.le(UInt64.self, at: r + 40), o64 = all.le(UInt64.self, at: r + 48)
                guard e64a <= UInt64(Int.max), e64 <= UInt64(Int.max), s64 <= UInt64(Int.max), o64 <= UInt64(Int.max) else {
                    throw bad("zip64 end of central directory at byte \(r)", "sizes below 2^63", "larger values")
                }
                entriesOnDisk = Int(e64a)
                entries = Int(e64)
                cdSize = Int(s64)
                cdOffset = Int(o64)
                cdLimit = r
            } else {
                guard disk == 0, cdDisk == 0 else {
                    throw WeightFileError(.unsupported, path: path, place: place, expected: "a single-disk archive",
                                          found: "disk \(disk) of a split archive")
                }
            }
            guard entries == entriesOnDisk else {
                throw bad(place, "as many entries on this disk as in total", "\(entriesOnDisk) and \(entries)")
            }
            guard entries <= limits.maxMembers else {
                throw WeightFileError(.limitExceeded, path: path, place: place,
                                      expected: "at most \(limits.maxMembers) members (ReaderLimits.maxMembers)",
                                      found: "\(entries)")
            }
            guard cdOffset <= cdLimit, cdSize <= cdLimit - cdOffset else {
                throw bad(place, "a central directory inside the file, before byte \(cdLimit)",
                          "\(cdSize) bytes at byte \(cdOffset)", "truncated or corrupt central directory")
            }
            guard entries <= cdSize / ZIPFormat.centralHeaderSize else {
                throw bad(place, "room for \(entries) central directory entries", "\(cdSize) bytes")
            }
            let cdEnd = cdOffset + cdSize
            var members: [ZIPMember] = []
            members.reserveCapacity(entries)
            var names = Set<String>()
            var totalUncompressed = 0
            var pos = cdOffset
            for index in 0..<entries {
                let eplace = "zip central directory entry \(index) at byte \(pos)"
                guard cdEnd - pos >= ZIPFormat.centralHeaderSize,
                      all.le(UInt32.self, at: pos) == ZIPFormat.centralHeaderSignature else {
                    throw bad(eplace, "a central directory entry (PK\\x01\\x02)", "other bytes",
                              "truncated or corrupt central directory")
                }
                let flags = all.le(UInt16.self, at: pos + 8)
                let method = all.le(UInt16.self, at: pos + 10)
                let crc = all.le(UInt32.self, at: pos + 16)
                var csize = UInt64(all.le(UInt32.self, at: pos + 20))
                var usize = UInt64(all.le(UInt32.self, at: pos + 24))
                let nameLength = Int(all.le(UInt16.self, at: pos + 28))
                let extraLength = Int(all.le(UInt16.self, at: pos + 30))
                let commentLength = Int(all.le(UInt16.self, at: pos + 32))
                var diskStart = UInt32(all.le(UInt16.self, at: pos + 34))
                var localOffset = UInt64(all.le(UInt32.self, at: pos + 42))
                let variable = nameLength + extraLength + commentLength
                guard cdEnd - pos - ZIPFormat.centralHeaderSize >= variable else {
                    throw bad(eplace, "name, extra field and comment inside the central directory",
                              "\(variable) bytes past its end")
                }
                let nameStart = pos + ZIPFormat.centralHeaderSize
                let nameBytes = UnsafeRawBufferPointer(rebasing: all[nameStart..<(nameStart + nameLength)])
                guard let name = String(validating: nameBytes, as: UTF8.self),
                      flags & ZIPFormat.flagUTF8 != 0 || nameBytes.allSatisfy({ $0 < 0x80 }) else {
                    throw bad(eplace, "an ASCII or UTF-8 member name", "other bytes")
                }
                let mplace = "member '\(name)'"
                // ZIP64 extra field: present values replace the 0xFFFF… placeholders, in order.
                var e = nameStart + nameLength
                let extraEnd = e + extraLength
                while extraEnd - e >= 4 {
                    let id = all.le(UInt16.self, at: e), size = Int(all.le(UInt16.self, at: e + 2))
                    guard extraEnd - e - 4 >= size else { throw bad(mplace, "extra fields inside the entry", "a field running past it") }
                    if id == ZIPFormat.zip64ExtraID {
                        var f = e + 4
                        let fEnd = f + size
                        func next() throws -> UInt64 {
                            guard fEnd - f >= 8 else { throw bad(mplace, "a complete ZIP64 extra field", "\(size) bytes") }
                            defer { f += 8 }
                            return all.le(UInt64.self, at: f)
                        }
                        if usize == 0xFFFF_FFFF { usize = try next() }
                        if csize == 0xFFFF_FFFF { csize = try next() }
                        if localOffset == 0xFFFF_FFFF { localOffset = try next() }
                        if diskStart == 0xFFFF { guard fEnd - f >= 4 else { throw bad(mplace, "a complete ZIP64 extra field", "\(size) bytes") }
                            diskStart = all.le(UInt32.self, at: f) }
                    }
                    e += 4 + size
                }
                guard diskStart == 0 else {
                    throw WeightFileError(.unsupported, path: path, place: mplace, expected: "a single-disk archive",
                                          found: "disk \(diskStart)")
                }
                guard usize <= UInt64(Int.max), csize <= UInt64(Int.max), localOffset <= UInt64(Int.max) else {
                    throw bad(mplace, "sizes and offsets below 2^63", "larger values")
                }
                guard flags & ZIPFormat.flagEncrypted == 0 else {
                    throw WeightFileError(.unsupported, path: path, place: mplace, expected: "an unencrypted member",
                                          found: "an encrypted one")
                }
                guard method == ZIPFormat.methodStored || method == ZIPFormat.methodDeflated else {
                    throw WeightFileError(.unsupported, path: path, place: mplace,
                                          expected: "compression method 0 (stored) or 8 (deflate)", found: "method \(method)")
                }
                let cs = Int(csize), us = Int(usize), lo = Int(localOffset)
                if method == ZIPFormat.methodStored, cs != us {
                    throw bad(mplace, "equal compressed and uncompressed sizes for a stored member", "\(cs) and \(us)")
                }
                // Zip bombs: per member and total declared size, and the compression ratio.
                guard us <= limits.maxDecompressedBytes else {
                    throw WeightFileError(.limitExceeded, path: path, place: mplace,
                                          expected: "at most \(limits.maxDecompressedBytes) bytes decompressed (ReaderLimits.maxDecompressedBytes)",
                                          found: "\(us) declared")
                }
                let (allowed, overflow) = max(cs, 1).multipliedReportingOverflow(by: limits.maxCompressionRatio)
                guard overflow || us <= allowed else {
                    throw WeightFileError(.limitExceeded, path: path, place: mplace,
                                          expected: "a compression ratio of at most \(limits.maxCompressionRatio) (ReaderLimits.maxCompressionRatio)",
                                          found: "\(us) bytes from \(cs) (ratio \(us / max(cs, 1)))")
                }
                totalUncompressed += us
                guard totalUncompressed <= limits.maxDecompressedBytes else {
                    throw WeightFileError(.limitExceeded, path: path, place: mplace,
                                          expected: "at most \(limits.maxDecompressedBytes) bytes decompressed in total (ReaderLimits.maxDecompressedBytes)",
                                          found: "\(totalUncompressed) so far")
                }
                // Local header: same name and method; data follows its name and extra field.
                guard lo <= cdOffset, cdOffset - lo >= ZIPFormat.localHeaderSize,
                      all.le(UInt32.self, at: lo) == ZIPFormat.localHeaderSignature else {
                    throw bad(mplace, "a local file header (PK\\x03\\x04) at byte \(lo)", "other bytes")
                }
                let localMethod = all.le(UInt16.self, at: lo + 8)
                let localName = Int(all.le(UInt16.self, at: lo + 26)), localExtra = Int(all.le(UInt16.self, at: lo + 28))
                let dataOffset = lo + ZIPFormat.localHeaderSize + localName + localExtra
                guard dataOffset <= cdOffset, cs <= cdOffset - dataOffset else {
                    throw bad(mplace, "member data before the central directory (byte \(cdOffset))",
                              "\(cs) bytes at byte \(dataOffset)")
                }
                guard localName == nameLength,
                      memcmpEqual(all, lo + ZIPFormat.localHeaderSize, nameStart, nameLength) else {
                    throw bad(mplace, "the same name in the local header and the central directory", "a different name")
                }
                guard localMethod == method else {
                    throw bad(mplace, "the same compression method in both headers", "\(localMethod) and \(method)")
                }
                guard names.insert(name).inserted else {
                    throw bad(mplace, "unique member names", "'\(name)' twice")
                }
                members.append(ZIPMember(name: name, method: method, flags: flags, crc32: crc, compressedSize: cs,
                                         uncompressedSize: us, localHeaderOffset: lo, dataOffset: dataOffset))
                pos = extraEnd + commentLength
            }
            guard pos == cdEnd else {
                throw bad(place, "\(entries) entries filling the \(cdSize)-byte central directory",
                          "\(cdEnd - pos) bytes left over")
            }
            // Members must not overlap (overlapping members are a zip-bomb technique).
            let byOffset = members.sorted { $0.localHeaderOffset < $1.localHeaderOffset }
            for (a, b) in zip(byOffset, byOffset.dropFirst()) where a.dataOffset + a.compressedSize > b.localHeaderOffset {
                throw bad("member '\(b.name)'", "members that do not overlap",
                          "it starts inside member '\(a.name)'")
            }
            return members
        }
    }

    private static func memcmpEqual(_ all: UnsafeRawBufferPointer, _ a: Int, _ b: Int, _ n: Int) -> Bool {
        for k in 0..<n where all[a + k] != all[b + k] { return false }
        return true
    }
}
