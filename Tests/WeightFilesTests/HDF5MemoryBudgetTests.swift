import WeightFiles
import XCTest

/// The probe's memory rule (`HDF5MemoryBudget`): 256 MiB + 2 · file size + 6 · in-memory image
/// + 16 · largest tensor.
final class HDF5MemoryBudgetTests: XCTestCase {
    func testBudgetIsTheAllowancePlusTheImageAndTheLargestTensor() {
        XCTAssertEqual(HDF5MemoryBudget(fileSize: 45_000).bytes, (256 << 20) + 90_000)
        XCTAssertEqual(HDF5MemoryBudget(fileSize: 1000, largestTensorElements: 30522 * 384).bytes,
                       (256 << 20) + 2000 + 16 * 30522 * 384)
        XCTAssertEqual(HDF5MemoryBudget(fileSize: 1000, inMemoryImageBytes: 5000).bytes, (256 << 20) + 2000 + 30000)
        XCTAssertEqual(HDF5MemoryBudget(fileSize: Int.max / 2, largestTensorElements: Int.max / 8).bytes, Int.max)
    }

    func testOverBudgetIsAOneLineMalformedRefusalNamingTheStage() throws {
        let budget = HDF5MemoryBudget(fileSize: 45_000)
        XCTAssertNoThrow(try budget.check(used: budget.bytes, stage: "listing the objects", path: "m.h5", fileSize: 45_000))
        XCTAssertNoThrow(try budget.check(used: nil, stage: "listing the objects", path: "m.h5", fileSize: 45_000))
        XCTAssertThrowsError(try budget.check(used: 1_940_000_000, stage: "reading the stored audit", path: "m.h5", fileSize: 45_000)) { error in
            let e = error as? WeightFileError
            XCTAssertEqual(e?.kind, .malformed)
            let text = "\(error)"
            XCTAssertFalse(text.contains("\n"))
            XCTAssertTrue(text.contains("m.h5"), text)
            XCTAssertTrue(text.contains("1850 MB of memory reading the stored audit of this 0.04 MB file"), text)
            XCTAssertTrue(text.contains("more than the 256 MB"), text)
        }
    }
}
