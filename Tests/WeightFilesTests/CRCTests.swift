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
}
