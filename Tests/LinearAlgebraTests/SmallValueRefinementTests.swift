import Foundation
import XCTest
@testable import LinearAlgebra

/// `SVD.refinedSmallValues` (method `gram_qr_inverse`): a large layer whose Gram cannot resolve
/// its smallest singular values gets them from the inverse of a triangular factor instead of
/// `dgesdd`. Reference: matrices with known singular values, `A = H₁ · diag(s) · H₂` with
/// Householder reflectors `H = I − 2vvᵀ/vᵀv` (orthogonal), so σ(A) = s exactly up to the
/// rounding of forming A (absolute `≈ c·ε·σ_1`). Also compared with `dgesdd` in process.
final class SmallValueRefinementTests: XCTestCase {
    /// Row-major `rows × cols` matrix `H_rows · D · H_cols` with D holding `s` on its diagonal.
    func knownSpectrum(rows m: Int, cols n: Int, s: [Double]) -> Matrix {
        var a = [Double](repeating: 0, count: m * n)
        for (i, v) in s.enumerated() { a[i * n + i] = v }
        // Left reflector: a ← a − 2 u (uᵀ a)/(uᵀu), u[i] = sin(0.37 i + 1) + 0.1.
        let u = (0..<m).map { sin(0.37 * Double($0) + 1) + 0.1 }
        let uu = u.reduce(0) { $0 + $1 * $1 }
        var w = [Double](repeating: 0, count: n)
        for i in 0..<m where u[i] != 0 { for j in 0..<n { w[j] += u[i] * a[i * n + j] } }
        for i in 0..<m { let f = 2 * u[i] / uu; for j in 0..<n { a[i * n + j] -= f * w[j] } }
        // Right reflector: a ← a − 2 (a v) vᵀ/(vᵀv), v[j] = cos(0.71 j) − 0.2.
        let v = (0..<n).map { cos(0.71 * Double($0)) - 0.2 }
        let vv = v.reduce(0) { $0 + $1 * $1 }
        for i in 0..<m {
            var d = 0.0
            for j in 0..<n { d += a[i * n + j] * v[j] }
            let f = 2 * d / vv
            for j in 0..<n { a[i * n + j] -= f * v[j] }
        }
        return Matrix(rows: m, cols: n, storage: a)
    }

    /// Spectrum: a bulk between 0.5 and 2, three spikes up to 40, and `tiny` small values.
    func spectrum(_ p: Int, tiny: [Double]) -> [Double] {
        var s = (0..<p).map { 0.5 + 1.5 * Double($0 % 97) / 96 }
        s[0] = 40; s[1] = 25; s[2] = 10
        for (k, t) in tiny.enumerated() { s[p - 1 - k] = t }
        return s
    }

    func check(rows: Int, cols: Int, tiny: [Double], file: StaticString = #filePath, line: UInt = #line) throws {
        let p = min(rows, cols)
        let s = spectrum(p, tiny: tiny)
        let a = knownSpectrum(rows: rows, cols: cols, s: s)
        let result = try SVD.singularValues(a)
        XCTAssertEqual(result.method, .gramQRInverse, "\(rows)×\(cols): the Gram guard must fail and the refinement certify", file: file, line: line)
        XCTAssertTrue(result.isComplete)
        let expected = s.sorted(by: >)
        XCTAssertEqual(result.values.count, p)
        let eps = Double.ulpOfOne, sigma1 = expected[0]
        let kappa = sigma1 / expected[p - 1]
        for i in 0..<p {
            let e = expected[i], got = result.values[i]
            // Large values: the Gram's error p·ε·σ₁²/(2σ_i) plus forming A (c·ε·σ₁). Small ones:
            // the refinement's e_j plus forming A (ε·σ₁/σ_j relative), with a factor 10 of slack.
            let ratio = e / expected[p - 1]
            let bound = e >= 0.4
                ? 10 * Double(p) * eps * sigma1 * sigma1 / e + 10 * Double(p) * eps * sigma1
                : 10 * e * Double(p) * eps * (kappa * ratio + ratio * ratio / 2) + 10 * Double(p) * eps * sigma1
            XCTAssertLessThanOrEqual(abs(got - e), bound, "σ[\(i)] of \(rows)×\(cols): \(got) vs \(e)", file: file, line: line)
        }
        // σ_min to far better than the 1e-4 certificate (forming A and QR: ≈ √p·ε·σ₁ absolute), and against dgesdd.
        XCTAssertEqual(result.values[p - 1], expected[p - 1], accuracy: 1e-7 * expected[p - 1], file: file, line: line)
        let gesdd = try SVD.singularValues(a, method: .gesdd).values
        for i in 0..<p {
            XCTAssertLessThanOrEqual(abs(gesdd[i] - result.values[i]), 1e-12 * sigma1 + 1e-9 * gesdd[i],
                                     "σ[\(i)] vs dgesdd", file: file, line: line)
        }
        // Normwise quantities as on the dgesdd path, to 1e-12 relative.
        let frobRefined = result.values.reduce(0) { $0 + $1 * $1 }, frobGesdd = gesdd.reduce(0) { $0 + $1 * $1 }
        XCTAssertEqual(frobRefined, frobGesdd, accuracy: 1e-12 * frobGesdd, file: file, line: line)
        XCTAssertEqual(result.values[0], gesdd[0], accuracy: 1e-12 * gesdd[0], file: file, line: line)
    }

    func testSquareLayerRefinedInsteadOfGesdd() throws {
        try check(rows: 1024, cols: 1024, tiny: [2e-4, 7e-4])  // κ = 2e5: Gram guard fails (needs κ < 3e4)
    }

    func testClusteredSmallValuesAreAllFound() throws {
        // Two values 1e-8 apart relative (the Gram cannot tell them apart) and a third: the block
        // iteration must return both copies, not the same one twice.
        try check(rows: 1024, cols: 1024, tiny: [2e-4, 2.000000004e-4, 5e-4])
    }

    func testSubspaceIterationMatchesTheDenseEigenvaluesWithinItsResidual() throws {
        let a = knownSpectrum(rows: 1024, cols: 1024, s: spectrum(1024, tiny: [2e-4, 3e-4, 3.0000001e-4]))
        var (t, upper) = try a.storage.withUnsafeBufferPointer { try LAPACKCalls.triangularFactor($0, rows: 1024, cols: 1024, scale: 1) }
        XCTAssertTrue(try LAPACKCalls.invertTriangular(&t, n: 1024, upper: upper))
        let found = try XCTUnwrap(try SVD.largestInverseGramEigenvalues(inverse: t, n: 1024, upper: upper, count: 3))
        XCTAssertLessThanOrEqual(found.residual, 1e-10 * found.values[0])
        XCTAssertTrue(try LAPACKCalls.inverseProduct(&t, n: 1024, upper: upper))
        let dense = try LAPACKCalls.symmetricEigenvalues(&t, n: 1024, upper: upper).suffix(3).reversed()
        for (f, d) in zip(found.values, dense) {
            XCTAssertEqual(f, d, accuracy: found.residual + 1e-12 * dense.first!, "Ritz value vs dense eigenvalue")
        }
    }

    func testWideLayerUsesQRAndTallLayerUsesLQ() throws {
        try check(rows: 1024, cols: 1100, tiny: [3e-4])   // cols ≥ rows: QR of Aᵀ's column-major view, R upper
        try check(rows: 1100, cols: 1024, tiny: [3e-4])   // cols < rows: LQ, L lower
    }

    func testStreamedAccumulatorFailureIsCompletedTheSameWay() throws {
        let a = knownSpectrum(rows: 1100, cols: 1024, s: spectrum(1024, tiny: [3e-4]))
        var acc = GramAccumulator(order: 1024)
        a.storage.withUnsafeBufferPointer { acc.addRows($0, rows: 1100) }
        XCTAssertNil(try acc.singularValues())
        let lambda = try XCTUnwrap(acc.failedEigenvalues)
        let streamed = try SVD.afterFailedGram(a, gramEigenvalues: lambda)
        let direct = try SVD.singularValues(a)
        XCTAssertEqual(streamed.method, .gramQRInverse)
        for i in 0..<1024 { XCTAssertEqual(streamed.values[i], direct.values[i], accuracy: 1e-12 * direct.values[0] + 1e-9 * direct.values[i]) }
    }

    func testRankDeficientLayerStillGoesToGesdd() throws {
        // An exact zero singular value: no certificate (κ·p·ε far above 1e-4, or a zero pivot).
        let a = knownSpectrum(rows: 1024, cols: 1024, s: spectrum(1024, tiny: [0]))
        let result = try SVD.singularValues(a)
        XCTAssertEqual(result.method, .gesdd)
        XCTAssertLessThan(result.values[1023], 1e-12)
    }

    func testSmallLayersKeepTheDgesddFallback() throws {
        // Below refinementMinimumOrder (every golden): unchanged behaviour.
        let a = knownSpectrum(rows: 300, cols: 300, s: spectrum(300, tiny: [1e-5]))
        XCTAssertEqual(try SVD.singularValues(a).method, .gesdd)
        XCTAssertEqual(SVD.refinementMinimumOrder, 1024)
    }
}
