import Foundation

/// A deadline around work inside libhdf5 that may never return.
///
/// libhdf5 (1.10, Debian bookworm) loops forever on some corrupt files: the fuzzer found a 17 KB
/// file whose variable-length string attribute sends `H5Aread` → `H5HG_read` spinning in the
/// metadata cache (fixtures/hostile/fuzz/hdf5/libhdf5-global-heap-hang.h5). A call into C cannot
/// be cancelled, so when a guarded phase overruns its deadline the library reports it and the
/// program decides: `onStall` runs on a watchdog thread with a one-line description (the CLI
/// removes outputs in progress, prints the line and exits 65, because for a CI gate a hang is
/// worse than a refusal). Without a handler nothing is ended from here: the stall is remembered
/// and, if the call does return after all, `guarded` throws `Stall`.
public enum HDF5Watchdog {
    /// Runs on the watchdog thread with a one-line description when a guarded phase overruns.
    /// Installed by programs (process policy stays in executables); nil by default.
    nonisolated(unsafe) public static var onStall: (@Sendable (String) -> Void)? = nil

    /// A guarded phase overran its deadline (thrown if it returns after all and no handler ended
    /// the process).
    public struct Stall: Error, CustomStringConvertible, Sendable {
        public let message: String
        public var description: String { message }
    }

    private final class Token: @unchecked Sendable {
        let lock = NSLock()
        var finished = false
        var stalled = false
    }

    /// Runs `body`; if it has not returned after `seconds`, calls `onStall` with
    /// "`file`: libhdf5 did not return within N s while `activity` (corrupt or hostile file)", and
    /// throws `Stall` with that message once `body` returns. A non-finite or non-positive
    /// `seconds` disables the deadline.
    public static func guarded<T>(seconds: Double, file: String, activity: String, _ body: () throws -> T) throws -> T {
        guard seconds.isFinite, seconds > 0 else { return try body() }
        let token = Token()
        let message = "\(file): libhdf5 did not return within \(Int(seconds.rounded(.up))) s while \(activity) (corrupt or hostile file)"
        let item = DispatchWorkItem {
            token.lock.lock()
            let stalled = !token.finished
            token.stalled = stalled
            token.lock.unlock()
            if stalled { onStall?(message) }
        }
        DispatchQueue.global().asyncAfter(deadline: .now() + seconds, execute: item)
        func finish() -> Bool {
            token.lock.lock()
            token.finished = true
            let stalled = token.stalled
            token.lock.unlock()
            item.cancel()
            return stalled
        }
        let value: T
        do {
            value = try body()
        } catch {
            _ = finish()
            throw error
        }
        if finish() { throw Stall(message: message) }
        return value
    }
}
