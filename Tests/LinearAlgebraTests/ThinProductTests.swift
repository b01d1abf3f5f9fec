import LinearAlgebra
import XCTest

/// σ(A·B) from thin factors equals dgesdd on the formed product.
final class ThinProductTests: XCTestCase {
    private func random(_ rows: Int, _ cols: Int, seed: inout UInt64, scale: Double = 1) -> Matrix {
        var s = [Double]()
        for _ in 0..<(rows * cols) {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            s.append((Double(seed >> 11) / Double(1 << 53) - 0.5) * scale)
        }
        return Matrix(rows: rows, cols: cols, storage: s)
    }

    func testEqualsDenseSVD() throws {
        var seed: UInt64 = 7
        for (m, r, n, scale) in [(40, 4, 30, 1.0), (16, 4, 16, 1e-200), (5, 5, 9, 1.0), (64, 1, 3, 1e150), (12, 3, 12, 1.0)] {
            let a = random(m, r, seed: &seed, scale: scale), b = random(r, n, seed: &seed)
            let thin = try ThinProduct.singularValues(a, b)
            let dense = try SVD.singularValues(try a.multiplied(by: b), method: .gesdd).values
            XCTAssertEqual(thin.count, min(m, n))
            for i in 0..<thin.count {
                XCTAssertEqual(thin[i], dense[i], accuracy: 1e-12 * dense[0], "\(m)×\(r)×\(n) σ_\(i + 1)")
            }
        }
    }

    func testRankDeficientAndZeroFactors() throws {
        var seed: UInt64 = 9
        let a = random(20, 3, seed: &seed)
        let zero = Matrix(rows: 3, cols: 10, repeating: 0)
        XCTAssertEqual(try ThinProduct.singularValues(a, zero), [Double](repeating: 0, count: 10))
        // Rank 1 core: the remaining values are zero to rounding.
        let col = random(20, 1, seed: &seed)
        let a2 = Matrix(rows: 20, cols: 3, storage: (0..<60).map { col.storage[$0 / 3] })
        let s = try ThinProduct.singularValues(a2, random(3, 10, seed: &seed))
        XCTAssertGreaterThan(s[0], 0)
        XCTAssertLessThan(s[1], 1e-13 * s[0])
        var bad = a
        bad.storage[0] = .nan
        XCTAssertThrowsError(try ThinProduct.singularValues(bad, random(3, 10, seed: &seed)))
    }
}
