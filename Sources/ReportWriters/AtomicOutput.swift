import Foundation

/// Writes an output file so that the final name only ever holds a complete file: the bytes go to
/// a file inside a private temporary folder in the destination folder, are flushed to disk, and
/// the file is renamed over the final name. On any failure the folder is removed.
///
/// The folder (`.NAME.tmp-PID-RANDOM`, mode 0700) is created and registered under one lock before
/// any writer touches it, so an interrupt (`removeInFlightBeforeExit`) always knows every
/// temporary: removing the folder removes whatever a writer created in it, and a writer that
/// would create its file after that finds no folder to create it in.
public enum AtomicOutput {
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var reason: String
        public var description: String { "\(path): cannot write output: \(reason)" }
    }

    /// Temporary folders of outputs currently being written, so a signal handler can remove them.
    nonisolated(unsafe) public static var inFlight = Set<String>()
    private static let lock = NSLock()

    /// The temporary folder's path next to `path`: `.NAME.tmp-PID-RANDOM`.
    public static func temporaryPath(for path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let dir = url.deletingLastPathComponent().path
        let name = url.lastPathComponent
        let tag = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        return dir + "/." + name + ".tmp-\(getpid())-" + tag
    }

    /// Refuses to overwrite an existing file unless `force`, and refuses to write over `protected`
    /// paths (the input). Resolves symlinks before comparing.
    public static func checkDestination(_ path: String, force: Bool, protected: [String]) throws {
        let target = URL(fileURLWithPath: path).resolvingSymlinksInPath().standardizedFileURL.path
        for p in protected where URL(fileURLWithPath: p).resolvingSymlinksInPath().standardizedFileURL.path == target {
            throw Failure(path: path, reason: "refusing to write over the input file")
        }
        if isSpecialFile(path) { return }
        if FileManager.default.fileExists(atPath: path) && !force {
            throw Failure(path: path, reason: "file exists (pass --force to replace it)")
        }
        let dir = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw Failure(path: path, reason: "folder '\(dir)' does not exist")
        }
    }

    /// True for an existing destination that is not a regular file or directory (`/dev/null`,
    /// `/dev/stdout`, a FIFO from process substitution): written in place, never renamed over.
    public static func isSpecialFile(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        let type = st.st_mode & S_IFMT
        return type == S_IFCHR || type == S_IFIFO || type == S_IFSOCK
    }

    /// Runs `produce` on a temporary path (inside the private folder; the same file name as
    /// `path`), fsyncs the result, then renames it to `path`. Special files (see `isSpecialFile`)
    /// are written directly.
    public static func write(to path: String, _ produce: (String) throws -> Void) throws {
        if isSpecialFile(path) {
            do { try produce(path) } catch let f as Failure { throw f } catch { throw Failure(path: path, reason: "\(error)") }
            return
        }
        let folder = temporaryPath(for: path)
        lock.lock()
        guard mkdir(folder, 0o700) == 0 else {
            let e = errno
            lock.unlock()
            throw Failure(path: path, reason: "cannot create temporary folder: \(String(cString: strerror(e)))")
        }
        inFlight.insert(folder)
        lock.unlock()
        let tmp = folder + "/" + URL(fileURLWithPath: path).lastPathComponent
        do {
            try produce(tmp)
            let fd = open(tmp, O_RDONLY)
            if fd >= 0 {
                let rc = fsync(fd)
                close(fd)
                if rc != 0 { throw Failure(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))") }
            } else {
                throw Failure(path: path, reason: "cannot reopen temporary file: \(String(cString: strerror(errno)))")
            }
            // Under the lock: an interrupt's `removeInFlightBeforeExit` either runs before (then this
            // thread waits for the process to end, the temporary already gone) or after the rename
            // (then the output under its final name is complete) — never between a removal and a
            // rename that would fail and report a write error instead of the interrupt.
            lock.lock()
            let renamed = rename(tmp, path) == 0, renameErrno = errno
            if renamed { removeFolder(folder); inFlight.remove(folder) }
            lock.unlock()
            guard renamed else {
                throw Failure(path: path, reason: "rename failed: \(String(cString: strerror(renameErrno)))")
            }
        } catch {
            // Also under the lock: when an interrupt removed the folder under this writer (its file
            // then could not be created or renamed), the interrupt holds the lock until `_exit`, so
            // its exit code, not this write error, ends the process.
            lock.lock()
            removeFolder(folder)
            inFlight.remove(folder)
            lock.unlock()
            if let f = error as? Failure { throw f }
            throw Failure(path: path, reason: "\(error)")
        }
    }

    /// Removes a temporary folder and whatever a writer created in it.
    private static func removeFolder(_ folder: String) {
        try? FileManager.default.removeItem(atPath: folder)
    }

    /// Writes `data` atomically.
    public static func write(_ data: Data, to path: String) throws {
        if isSpecialFile(path) {
            guard let h = FileHandle(forWritingAtPath: path) else {
                throw Failure(path: path, reason: String(cString: strerror(errno)))
            }
            defer { try? h.close() }
            do { try h.write(contentsOf: data) } catch { throw Failure(path: path, reason: "\(error)") }
            return
        }
        try write(to: path) { tmp in
            // Plain POSIX writes to our own temporary name (FileManager.createFile would write
            // through a second temporary file of its own, which a signal could leave behind).
            let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
            guard fd >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
            defer { close(fd) }
            try writeAll(fd, data, path: path)
        }
    }

    /// Removes every temporary folder still in flight (with what writers created in it), and
    /// cuts every append in flight back to the file's earlier length (for SIGINT/SIGTERM handlers
    /// and the HDF5 watchdog). The lock is kept: no other thread can then rename an output into
    /// place, start a new one or report a failed one, so the caller must end the process right
    /// after (`_exit`).
    public static func removeInFlightBeforeExit() {
        lock.lock()
        for p in inFlight { removeFolder(p) }
        for (p, size) in appendsInFlight { _ = truncate(p, size) }
    }

    /// Files being appended to, with their length before the append.
    nonisolated(unsafe) static var appendsInFlight: [String: off_t] = [:]

    static func trackAppend(_ path: String, originalSize: off_t?) {
        lock.lock()
        appendsInFlight[path] = originalSize
        lock.unlock()
    }
}

// MARK: - Appending (issue 15: `--markdown` onto `$GITHUB_STEP_SUMMARY`, `--markdown-append`)

extension AtomicOutput {
    /// Appends `data` to `path`, never losing what the file held: the bytes are produced in full
    /// before the file is touched, written with `O_APPEND` in one loop and flushed; on any
    /// failure the file is truncated back to its original length. When the file ends without a
    /// newline, a newline goes first; when it is not empty, a blank line separates the two.
    /// A missing file is created atomically, as by `write(_:to:)`.
    public static func append(_ data: Data, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            try write(data, to: path)
            return
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
        let regular = (st.st_mode & S_IFMT) == S_IFREG
        let original = regular ? st.st_size : 0
        var bytes = Data()
        if original > 0 {
            // Read the last byte through a separate read-only descriptor.
            var last: UInt8 = 0x0A
            let rfd = open(path, O_RDONLY | O_CLOEXEC)
            if rfd >= 0 {
                _ = pread(rfd, &last, 1, original - 1)
                close(rfd)
            }
            bytes.append(contentsOf: last == 0x0A ? [0x0A] : [0x0A, 0x0A])
        }
        bytes.append(data)
        if regular { trackAppend(path, originalSize: original) }
        defer { if regular { trackAppend(path, originalSize: nil) } }
        do {
            try writeAll(fd, bytes, path: path)
            if regular && fsync(fd) != 0 {
                throw Failure(path: path, reason: "fsync failed: \(String(cString: strerror(errno)))")
            }
        } catch {
            if regular { _ = ftruncate(fd, original) }
            if let f = error as? Failure { throw f }
            throw Failure(path: path, reason: "\(error)")
        }
    }

    /// Writes all of `data` to `fd` with plain POSIX writes, retrying on EINTR and short writes.
    private static func writeAll(_ fd: Int32, _ data: Data, path: String) throws {
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw Failure(path: path, reason: String(cString: strerror(errno)))
                }
                offset += n
            }
        }
    }
}
