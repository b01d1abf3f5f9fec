import XCTest
@testable import LinearAlgebra

/// `LowRank.productSingularValues` (the LoRA thin-factor path) against `dgesdd` on the formed
/// product s·B·A, and the thin SVD's reconstruction.
final class LowRankTests: XCTestCase {
    /// Deterministic pseudo-random matrix (LCG), entries in [-1, 1).
    func random(_ rows: Int, _ cols: Int, seed: UInt64) -> Matrix {
        var x = seed &* 6364136223846793005 &+ 1442695040888963407
        let values = (0..<(rows * cols)).map { _ -> Double in
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return Double(x >> 11) / Double(1 << 53) * 2 - 1
        }
        return Matrix(rows: rows, cols: cols, storage: values)
    }

    func formed(_ b: Matrix, _ a: Matrix, _ s: Double) throws -> Matrix {
        var d = try b.multiplied(by: a)
        for i in d.storage.indices { d.storage[i] *= s }
        return d
    }

    func testThinFactorsMatchTheFormedProduct() throws {
        for (m, n, r, s) in [(16, 12, 4, 2.0), (40, 7, 3, 0.75), (5, 30, 8, 4.0), (9, 9, 1, -1.5), (3, 4, 6, 1.0)] {
            let b = random(m, r, seed: UInt64(m * 100 + r))
            let a = random(r, n, seed: UInt64(n * 100 + r))
            let thin = try LowRank.productSingularValues(b: b, a: a, scale: s)
            let full = try SVD.singularValues(try formed(b, a, s), method: .gesdd).values
            XCTAssertEqual(thin.count, min(r, m, n))
            for (i, v) in thin.enumerated() {
                XCTAssertEqual(v, full[i], accuracy: 1e-12 * full[0], "m \(m) n \(n) r \(r) σ_\(i)")
            }
            // The formed product's remaining values are rounding noise (rank ≤ r).
            for v in full.dropFirst(thin.count) { XCTAssertLessThan(v, 1e-12 * full[0]) }
        }
    }

    func testRankDeficientAndZeroFactors() throws {
        // B with two equal columns: rank(ΔW) = 1 although r = 2.
        var b = random(6, 2, seed: 3)
        for i in 0..<6 { b.storage[i * 2 + 1] = b.storage[i * 2] }
        let a = random(2, 5, seed: 4)
        let thin = try LowRank.productSingularValues(b: b, a: a, scale: 1)
        let full = try SVD.singularValues(try formed(b, a, 1), method: .gesdd).values
        XCTAssertEqual(thin[0], full[0], accuracy: 1e-12 * full[0])
        XCTAssertLessThan(thin[1], 1e-12 * full[0])
        let zero = try LowRank.productSingularValues(b: Matrix(rows: 4, cols: 2), a: a.transposed().transposed(), scale: 3)
        XCTAssertEqual(zero.max() ?? 0, 0)
        XCTAssertThrowsError(try LowRank.productSingularValues(b: random(3, 2, seed: 1), a: random(3, 3, seed: 2), scale: 1))
    }

    func testThinSVDReconstructs() throws {
        let w = random(7, 5, seed: 9)
        let (u, s, vt) = try SVD.thin(w)
        XCTAssertEqual(u.rows, 7); XCTAssertEqual(u.cols, 5); XCTAssertEqual(vt.rows, 5); XCTAssertEqual(vt.cols, 5)
        var us = u
        for i in 0..<7 { for j in 0..<5 { us.storage[i * 5 + j] *= s[j] } }
        let back = try us.multiplied(by: vt)
        for (x, y) in zip(back.storage, w.storage) { XCTAssertEqual(x, y, accuracy: 1e-13) }
        // Projection onto all singular vectors keeps the whole Frobenius mass.
        let inside = try LowRank.projectedFrobeniusSquared(left: u, w, right: vt.transposed())
        XCTAssertEqual(inside, w.frobeniusSquared, accuracy: 1e-12 * w.frobeniusSquared)
    }
}
