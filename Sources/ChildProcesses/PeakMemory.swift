import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// This process's resident memory and its high-water mark, for the HDF5 probe's memory rule
/// (`HDF5MemoryBudget`): the probe child and the `hdf5` fuzz target's containment server measure
/// how much memory each stage of libhdf5 reading took.
///
/// Linux only: `VmRSS` and `VmHWM` of `/proc/self/status` (kB), and the high-water mark's reset
/// by writing `5` to `/proc/self/clear_refs` (Linux ≥ 4.0, proc(5)), which sets `VmHWM` to the
/// current `VmRSS`. Elsewhere nothing is measured (nil).
public enum PeakMemory {
    /// Resident bytes now and the high-water mark since the last reset (or since exec).
    public static func current() -> (resident: Int, peak: Int)? {
        #if os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        var resident: Int?, peak: Int?
        for line in text.split(separator: "\n") {
            if line.hasPrefix("VmRSS:") { resident = kilobytes(line) }
            if line.hasPrefix("VmHWM:") { peak = kilobytes(line) }
        }
        guard let resident, let peak else { return nil }
        return (resident, peak)
        #else
        return nil
        #endif
    }

    /// Sets the high-water mark to the current resident size; false where the kernel does not
    /// allow it (then `measure` counts from the older, higher mark: an overestimate).
    @discardableResult
    public static func resetPeak() -> Bool {
        #if os(Linux)
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var five: UInt8 = 0x35
        return write(fd, &five, 1) == 1
        #else
        return false
        #endif
    }

    /// Runs `body` and returns its result with the memory it took: the high-water mark after it
    /// minus the resident size before it (never negative); nil when not measurable.
    public static func measure<T>(_ body: () throws -> T) rethrows -> (value: T, bytes: Int?) {
        resetPeak()
        let before = current()
        let value = try body()
        guard let before, let after = current() else { return (value, nil) }
        return (value, max(0, after.peak - before.resident))
    }

    private static func kilobytes(_ line: Substring) -> Int? {
        line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first
            .flatMap { Int($0) }.map { $0 * 1024 }
    }
}
