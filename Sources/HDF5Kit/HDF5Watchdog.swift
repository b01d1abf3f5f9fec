import Foundation

/// A deadline around work inside libhdf5 that may never return.
///
/// libhdf5 (1.10, Debian bookworm) loops forever on some corrupt files: the fuzzer found a 17 KB
/// file whose variable-length string attribute sends `H5Aread` → `H5HG_read` spinning in the
/// metadata cache (fixtures/hostile/fuzz/hdf5/libhdf5-global-heap-hang.h5). A call into C cannot
/// be cancelled, so when a guarded phase overruns its deadline `onStall` runs on a watchdog
/// thread; the default prints one line naming the file on stderr and ends the process with exit
/// code 65 (EX_DATAERR), because for a CI gate a hang is worse than a refusal. A program that owns
/// temporary files installs its own `onStall` that removes them first.
public enum HDF5Watchdog {
    /// Runs on the watchdog thread with a one-line description; expected not to return.
    nonisolated(unsafe) public static var onStall: @Sendable (String) -> Void = defaultStall

    /// The default `onStall`: `<program>: <message>` on stderr, then `_exit(65)`.
    public static let defaultStall: @Sendable (String) -> Void = { message in
        let program = CommandLine.arguments.first.map { URL(fileURLWithPath: $0).lastPathComponent } ?? "hdf5"
        FileHandle.standardError.write(Data("\(program): \(message)\n".utf8))
        _exit(65)
    }

    private final class Token: @unchecked Sendable {
        let lock = NSLock()
        var finished = false
    }

    /// Runs `body`; if it has not returned after `seconds`, calls `onStall` with
    /// "`file`: libhdf5 did not return within N s while `activity` (corrupt or hostile file)".
    /// A non-finite or non-positive `seconds` disables the deadline.
    public static func guarded<T>(seconds: Double, file: String, activity: String, _ body: () throws -> T) rethrows -> T {
        guard seconds.isFinite, seconds > 0 else { return try body() }
        let token = Token()
        let message = "\(file): libhdf5 did not return within \(Int(seconds.rounded(.up))) s while \(activity) (corrupt or hostile file)"
        let item = DispatchWorkItem {
            token.lock.lock()
            let stalled = !token.finished
            token.lock.unlock()
            if stalled { onStall(message) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: item)
        defer {
            token.lock.lock()
            token.finished = true
            token.lock.unlock()
            item.cancel()
        }
        return try body()
    }
}
