import TestSupport
import XCTest
@testable import LinearAlgebra

/// Lanczos top-k against full spectra. Every check uses the tolerance the result itself states:
/// each returned θ_i must lie within `tolerance·θ_1` (estimate) and within `certificate`
/// (residual bound) of the true σ_i, and θ_i ≤ σ_i (interlacing).
final class LanczosTests: XCTestCase {
    /// `H_u D H_v` with Householder reflections: an m×n matrix with exactly the singular values `d`.
    func knownSpectrum(m: Int, n: Int, d: [Double], seed: UInt64) -> Matrix {
        var rng = SplitMix64(seed: seed)
        func reflector(_ k: Int) -> [Double] {
            let v = (0..<k).map { _ in rng.nextSigned() }
            let nn = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return v.map { $0 / nn }
        }
        var a = Matrix(rows: m, cols: n)
        for i in 0..<d.count { a[i, i] = d[i] }
        for _ in 0..<2 {
            let u = reflector(m), v = reflector(n)
            // a ← (I − 2uuᵀ) a (I − 2vvᵀ)
            let ua = (0..<n).map { j in (0..<m).reduce(0) { $0 + u[$1] * a[$1, j] } }
            for i in 0..<m { for j in 0..<n { a[i, j] -= 2 * u[i] * ua[j] } }
            let av = (0..<m).map { i in (0..<n).reduce(0) { $0 + a[i, $1] * v[$1] } }
            for i in 0..<m { for j in 0..<n { a[i, j] -= 2 * av[i] * v[j] } }
        }
        return a
    }

    func assertWithinStatedTolerance(_ r: SingularValueResult, exact: [Double], _ label: String,
                                     file: StaticString = #filePath, line: UInt = #line) {
        guard let tol = r.tolerance, let cert = r.certificate, let theta1 = r.values.first else {
            return XCTFail("\(label): approximate result without tolerance/certificate", file: file, line: line)
        }
        for (i, th) in r.values.enumerated() {
            // rigorous residual bracket, and the (estimated) stated tolerance
            XCTAssertLessThanOrEqual(abs(th - exact[i]), cert + 1e-13 * exact[0], "\(label) certificate", file: file, line: line)
            XCTAssertLessThanOrEqual(abs(th - exact[i]), tol * theta1 + 1e-13 * exact[0],
                                     "\(label) θ_\(i + 1) = \(th) vs σ = \(exact[i])", file: file, line: line)
            XCTAssertLessThanOrEqual(th, exact[i] * (1 + 1e-13) + 1e-300, "\(label): interlacing", file: file, line: line)
        }
    }

    func testTopKAgreesWithNumpySpectrumWithinStatedTolerance() throws {
        let c = SpectraFixtures.matrixCase("random_200x150")
        let a = Matrix(rows: c.rows, cols: c.cols, storage: SpectraFixtures.doubles(c.file))
        for k in [1, 3, 8] {
            let r = try SVD.topK(a, k: k, tolerance: 1e-10, strategy: .lanczos)
            XCTAssertEqual(r.method, .lanczosTopK)
            XCTAssertFalse(r.isComplete)
            XCTAssertEqual(r.values.count, k)
            XCTAssertLessThanOrEqual(r.tolerance ?? 1, 1e-10)
            assertWithinStatedTolerance(r, exact: c.singularValues, "200x150 k=\(k)")
        }
    }

    func testTopKOnClusteredKnownSpectrum() throws {
        // top values 10, 9.99, 9.98, then a slowly decaying tail: a hard case for Krylov methods
        var d = [10.0, 9.99, 9.98]
        for i in 0..<297 { d.append(9.0 * pow(0.99, Double(i))) }
        let a = knownSpectrum(m: 320, n: 300, d: d, seed: 7)
        let r = try SVD.topK(a, k: 3, tolerance: 1e-9, strategy: .lanczos)
        XCTAssertEqual(r.method, .lanczosTopK)
        assertWithinStatedTolerance(r, exact: d, "clustered")
        // and a loose tolerance really is looser (the check above is not vacuous)
        let loose = try SVD.topK(a, k: 3, tolerance: 1e-3, strategy: .lanczos)
        XCTAssertLessThan(loose.iterations ?? .max, r.iterations ?? 0)
        assertWithinStatedTolerance(loose, exact: d, "clustered, loose")
    }

    func testSpectralNormBracketContainsSigmaMax() throws {
        var d = [Double]()
        for i in 0..<150 { d.append(3.0 / (1 + Double(i))) }
        let a = knownSpectrum(m: 150, n: 180, d: d, seed: 11)
        let r = try SVD.spectralNorm(a, tolerance: 1e-12, strategy: .lanczos)
        XCTAssertEqual(r.values.count, 1)
        let theta = r.values[0], cert = try XCTUnwrap(r.certificate)
        XCTAssertLessThanOrEqual(theta, 3 * (1 + 1e-14))          // lower bound
        XCTAssertGreaterThanOrEqual(theta + cert, 3 * (1 - 1e-14)) // upper bound
        XCTAssertEqual(theta, 3, accuracy: 1e-12 * 3)
    }

    func testMatrixFreeOperatorGivesTheSameValues() throws {
        let c = SpectraFixtures.matrixCase("random_200x150")
        let a = Matrix(rows: c.rows, cols: c.cols, storage: SpectraFixtures.doubles(c.file))
        let viaMatrix = try Lanczos.topK(Lanczos.Operator(matrix: a), k: 4, tolerance: 1e-11)
        let at = a.transposed()
        let op = Lanczos.Operator(rows: a.rows, cols: a.cols, apply: { x, y in
            let r = a.applied(to: Array(x)); for i in 0..<r.count { y[i] = r[i] }
        }, applyTranspose: { y, x in
            let r = at.applied(to: Array(y)); for i in 0..<r.count { x[i] = r[i] }
        })
        let free = try Lanczos.topK(op, k: 4, tolerance: 1e-11)
        for (u, v) in zip(viaMatrix.values, free.values) { XCTAssertEqual(u, v, accuracy: 1e-11 * viaMatrix.values[0]) }
    }

    /// A wide operator (fewer rows than columns, as a classification head's Jacobian) whose Krylov
    /// basis exhausts the short side: the values must be A's, not those of the narrow-side
    /// bidiagonal B_m (which missed the β_m term and was once returned as converged).
    func testWideOperatorExhaustingTheShortSideIsExact() throws {
        let d: [Double] = [3, 2.5, 1, 0.5, 0.25]
        let a = knownSpectrum(m: 5, n: 40, d: d, seed: 11)
        let r = try Lanczos.topK(Lanczos.Operator(matrix: a), k: 2, tolerance: 1e-12)
        assertWithinStatedTolerance(r, exact: d, "wide 5×40")
        XCTAssertEqual(r.values[0], 3, accuracy: 1e-12)
        XCTAssertEqual(r.values[1], 2.5, accuracy: 1e-12)
        let tall = try Lanczos.topK(Lanczos.Operator(matrix: a.transposed()), k: 2, tolerance: 1e-12)
        for (u, v) in zip(r.values, tall.values) { XCTAssertEqual(u, v, accuracy: 1e-12) }
    }

    func testRankDeficientOperatorBreaksDownCleanly() throws {
        // rank 2 (two outer products), ask for 4 values: two must be ~0, no throw
        var a = Matrix(rows: 120, cols: 100)
        for i in 0..<120 { for j in 0..<100 { a[i, j] = sin(Double(i + 1)) * cos(Double(j)) + 0.5 * Double((i * j) % 7) / 7 } }
        let full = try SVD.singularValues(a, method: .gesdd).values
        let r = try SVD.topK(a, k: 4, tolerance: 1e-10, strategy: .lanczos)
        XCTAssertEqual(r.method, .lanczosTopK)
        for i in 0..<4 { XCTAssertEqual(r.values[i], full[i], accuracy: 1e-9 * full[0], "σ_\(i + 1)") }
    }

    func testAutomaticStrategyFollowsTheCostModel() throws {
        XCTAssertFalse(SVD.denseIsCheaper(rows: 2048, cols: 2048, k: 1))
        XCTAssertTrue(SVD.denseIsCheaper(rows: 768, cols: 3072, k: 1))
        let c = SpectraFixtures.matrixCase("random_200x150")
        let a = Matrix(rows: c.rows, cols: c.cols, storage: SpectraFixtures.doubles(c.file))
        let auto = try SVD.spectralNorm(a)
        XCTAssertEqual(auto.method, SVD.denseIsCheaper(rows: 200, cols: 150, k: 1) ? .gramSyevd : .lanczosTopK)
        XCTAssertEqual(auto.values[0], c.singularValues[0], accuracy: 1e-10 * c.singularValues[0])
        let dense = try SVD.topK(a, k: 3, strategy: .dense)
        XCTAssertEqual(dense.method, .gramSyevd)
        XCTAssertNil(dense.tolerance)
        XCTAssertFalse(dense.isComplete)
    }

    func testNotConvergedIsReportedForMatrixFreeOperators() {
        let c = SpectraFixtures.matrixCase("random_200x150")
        let a = Matrix(rows: c.rows, cols: c.cols, storage: SpectraFixtures.doubles(c.file))
        XCTAssertThrowsError(try Lanczos.topK(Lanczos.Operator(matrix: a), k: 3, tolerance: 1e-14, maxIterations: 5)) {
            guard case LinearAlgebraError.notConverged = $0 else { return XCTFail("\($0)") }
        }
    }
}
