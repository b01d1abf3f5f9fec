import LinearAlgebra
import XCTest

/// `LowRank.productSingularValues` at the scales real heads and adapters reach (tiny and huge
/// entries, a factor as wide as the product): still dgesdd on the formed product to 1e-12·σ_1.
final class ThinProductScaleTests: XCTestCase {
    private func random(_ rows: Int, _ cols: Int, seed: inout UInt64, scale: Double = 1) -> Matrix {
        var s = [Double]()
        for _ in 0..<(rows * cols) {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            s.append((Double(seed >> 11) / Double(1 << 53) - 0.5) * scale)
        }
        return Matrix(rows: rows, cols: cols, storage: s)
    }

    func testExtremeScalesEqualDenseSVD() throws {
        var seed: UInt64 = 7
        for (m, r, n, scale) in [(40, 4, 30, 1.0), (16, 4, 16, 1e-200), (5, 5, 9, 1.0), (64, 1, 3, 1e150), (12, 3, 12, 1.0)] {
            let b = random(m, r, seed: &seed, scale: scale), a = random(r, n, seed: &seed)
            let thin = try LowRank.productSingularValues(b: b, a: a, scale: 1)
            let dense = try SVD.singularValues(try b.multiplied(by: a), method: .gesdd).values
            XCTAssertEqual(thin.count, min(r, m, n))
            for i in 0..<thin.count {
                XCTAssertEqual(thin[i], dense[i], accuracy: 1e-12 * dense[0], "\(m)×\(r)×\(n) σ_\(i + 1)")
            }
        }
    }
}
