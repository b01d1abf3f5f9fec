import XCTest
@testable import LinearAlgebra

final class MatrixTests: XCTestCase {
    func testTransposeIsRowMajor() {
        let a = Matrix(rows: 2, cols: 3, storage: [1, 2, 3, 4, 5, 6])
        let t = a.transposed()
        XCTAssertEqual(t.rows, 3)
        XCTAssertEqual(t.cols, 2)
        XCTAssertEqual(t.storage, [1, 4, 2, 5, 3, 6])
        XCTAssertEqual(t[2, 1], 6)
        XCTAssertEqual(t.transposed(), a)
    }

    func testAllFinite() {
        XCTAssertTrue(Matrix(rows: 1, cols: 2, storage: [1, 2]).allFinite)
        XCTAssertFalse(Matrix(rows: 1, cols: 2, storage: [1, .nan]).allFinite)
        XCTAssertFalse(Matrix(rows: 1, cols: 2, storage: [.infinity, 2]).allFinite)
    }
}
