#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A weight file opened read-only and memory-mapped read-only, so tensors are sliced out of the
/// page cache without reading the whole file. The mapping lives as long as the object and is
/// unmapped once, in `deinit`.
///
/// Thread safety: immutable after `init`; any number of threads may read through it at once.
/// A file truncated by another process while it is mapped makes reads past the new end fault
/// (SIGBUS): that is the price of zero-copy reads and applies to every mmap-based reader.
public final class FileBytes: @unchecked Sendable {
    /// The path as the user gave it (used in every error message).
    public let path: String
    /// Size of the file in bytes when it was opened.
    public let count: Int
    private let base: UnsafeRawPointer?

    /// Opens `path` read-only (never for writing) and maps it.
    /// - Throws: `.missing` when nothing exists at `path`; `.unreadable` for a directory, a
    ///   non-regular file, missing permission or an I/O error.
    public init(path: String) throws {
        self.path = path
        let fd = try FileBytes.openReadOnly(path)
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw FileBytes.errnoError(path, errno, place: "file")
        }
        let size = Int(st.st_size)
        count = size
        guard size > 0 else {
            base = nil
            return
        }
        let mapped = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw WeightFileError(.unreadable, path: path, place: "file",
                                  detail: "cannot memory-map the file (\(FileBytes.describe(errno)))")
        }
        base = UnsafeRawPointer(mapped)
    }

    deinit {
        if let base { _ = munmap(UnsafeMutableRawPointer(mutating: base), count) }
    }

    /// The whole file. Valid only while `self` is alive: use inside `withExtendedLifetime` or
    /// through the `with…` methods.
    var all: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// Calls `body` with bytes `offset ..< offset + length`, or throws `.malformed` naming
    /// `place` when that range is not inside the file.
    public func withBytes<R>(offset: Int, count length: Int, place: String,
                             _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let slice = try bytes(offset: offset, count: length, place: place)
        defer { release(offset: offset, count: length) }
        return try withExtendedLifetime(self) { try body(slice) }
    }

    /// Drops the mapping's pages wholly inside `offset ..< offset + length` from this process
    /// (`MADV_DONTNEED`), once a tensor has been converted: the data stays in the page cache,
    /// but no longer counts in the process's memory, so a model is streamed one tensor at a
    /// time instead of accumulating in the resident set. Pages are read again on demand.
    func release(offset: Int, count length: Int) {
        #if os(Linux)
        guard let base, length > 0, offset >= 0, offset <= count - length else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset + page - 1) / page * page
        let end = (offset + length) / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
        #endif
    }

    /// Bytes `offset ..< offset + length` (bounds-checked). The buffer is valid only while
    /// `self` is alive.
    func bytes(offset: Int, count length: Int, place: String) throws -> UnsafeRawBufferPointer {
        guard offset >= 0, length >= 0, offset <= count, length <= count - offset else {
            throw WeightFileError(.malformed, path: path, place: place,
                                  expected: "\(length) bytes at byte \(offset)",
                                  found: "a file of \(count) bytes")
        }
        guard length > 0, let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + offset, count: length)
    }

    /// Asks the kernel to read ahead `offset ..< offset + length` (a hint; errors are ignored).
    func willNeed(offset: Int, count length: Int) {
        #if os(Linux)
        guard let base, length > 0, offset >= 0, offset <= count - length else { return }
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (offset / page) * page
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), offset + length - start, MADV_WILLNEED)
        #endif
    }

    // MARK: - Opening and errno

    /// `open(path, O_RDONLY)` with errors classified as `missing` or `unreadable`; refuses
    /// anything that is not a regular file.
    static func openReadOnly(_ path: String) throws -> Int32 {
        var fd: Int32
        repeat { fd = open(path, O_RDONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw errnoError(path, errno, place: "file") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            _ = close(fd)
            throw errnoError(path, e, place: "file")
        }
        let type = st.st_mode & S_IFMT
        guard type == S_IFREG else {
            _ = close(fd)
            throw WeightFileError(.unreadable, path: path, place: "file", expected: "a regular file",
                                  found: type == S_IFDIR ? "a directory" : "a special file")
        }
        return fd
    }

    static func errnoError(_ path: String, _ code: Int32, place: String) -> WeightFileError {
        switch code {
        case ENOENT, ENOTDIR:
            return WeightFileError(.missing, path: path, place: place, detail: "no such file")
        case EISDIR:
            return WeightFileError(.unreadable, path: path, place: place, expected: "a regular file",
                                   found: "a directory")
        default:
            return WeightFileError(.unreadable, path: path, place: place,
                                   detail: "cannot open for reading (\(describe(code)))")
        }
    }

    static func describe(_ code: Int32) -> String {
        guard let s = strerror(code) else { return "errno \(code)" }
        return String(cString: s)
    }
}

extension UnsafeRawBufferPointer {
    /// Little-endian unsigned integer at `offset` (caller guarantees bounds).
    @inline(__always)
    func le<T: FixedWidthInteger>(_ type: T.Type, at offset: Int) -> T {
        T(littleEndian: loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}
