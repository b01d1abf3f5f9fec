import XCTest
@testable import WeightFiles

/// The parallel, sliced CRC-32 used for npz members equals zlib's one-pass value
/// (reference: Python `zlib.crc32(bytes(i % 251 for i in range(N)))`).
final class CRCTests: XCTestCase {
    func testSlicedCRCEqualsOnePassValue() {
        var big = [UInt8](repeating: 0, count: 9_000_000)
        for i in big.indices { big[i] = UInt8(i % 251) }
        XCTAssertGreaterThan(big.count, Inflate.parallelThreshold, "exercises the parallel path")
        XCTAssertEqual(big.withUnsafeBytes { Inflate.crc32($0) }, 2_477_984_755)
        let small = Array(big.prefix(1000))
        XCTAssertEqual(small.withUnsafeBytes { Inflate.crc32($0) }, 1_914_128_038)
        XCTAssertEqual([UInt8]().withUnsafeBytes { Inflate.crc32($0) }, 0)
    }

    /// The one-pass CRC + copy gives the same CRC and copies exactly the tail, on both paths.
    func testCRCWhileCopyingEqualsCRCAndCopies() {
        for count in [1000, 9_000_000] {
            var bytes = [UInt8](repeating: 0, count: count)
            for i in bytes.indices { bytes[i] = UInt8(i % 251) }
            let from = 77
            var copy = [UInt8](repeating: 0, count: count - from)
            let crc = bytes.withUnsafeBytes { b in copy.withUnsafeMutableBytes { Inflate.crc32(b, copyingFrom: from, to: $0.baseAddress!) } }
            XCTAssertEqual(crc, bytes.withUnsafeBytes { Inflate.crc32($0) }, "\(count)")
            XCTAssertEqual(copy, Array(bytes[from...]), "\(count)")
        }
    }
}
