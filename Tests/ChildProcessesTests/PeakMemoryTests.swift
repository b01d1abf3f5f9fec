import ChildProcesses
import XCTest

/// `PeakMemory` against allocations of known size: the HDF5 probe's memory rule depends on it
/// seeing a stage's peak (not its end state) and not charging one stage with an earlier one's.
final class PeakMemoryTests: XCTestCase {
    private let size = 96 << 20

    /// Touches `size` bytes, then frees them: the measured peak must contain them all.
    private func touchAndFree() {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: size)
        for i in stride(from: 0, to: size, by: 4096) { p[i] = 1 }
        p.deallocate()
    }

    func testMeasuresThePeakOfAStageThatFreedItsMemory() throws {
        #if os(Linux)
        let (_, bytes) = PeakMemory.measure { touchAndFree() }
        let used = try XCTUnwrap(bytes)
        XCTAssertGreaterThanOrEqual(used, size - (4 << 20))
        XCTAssertLessThan(used, size + (64 << 20))
        #else
        throw XCTSkip("VmHWM is Linux's")
        #endif
    }

    func testAResetPeakDoesNotChargeALaterStageWithAnEarlierOne() throws {
        #if os(Linux)
        touchAndFree()
        guard PeakMemory.resetPeak() else { throw XCTSkip("/proc/self/clear_refs not writable here") }
        let (_, bytes) = PeakMemory.measure { _ = (0..<1000).reduce(0, +) }
        XCTAssertLessThan(try XCTUnwrap(bytes), 16 << 20)
        #else
        throw XCTSkip("VmHWM is Linux's")
        #endif
    }
}
