import XCTest
@testable import LinearAlgebra

/// `Lanczos.symmetricExtremes`' `minBracket` and `SymmetricEigen` against matrices whose spectra
/// are known exactly.
final class SymmetricBracketTests: XCTestCase {
    /// `diag(1, 1.0001, …, 1.0399, 100)`: λ_max = 100 converges within a few products, the
    /// clustered bottom (λ_min = 1) does not within a budget of 5 at tolerance 1e-6 (absolute 1e-4).
    /// A bracket of width within the tolerance settles λ_min as soon as λ_max converges, reporting
    /// min(hi, θ_min) and its distance to lo; a wide bracket changes nothing.
    func testBracketSettlesTheBottomOnlyWhenNarrow() throws {
        let n = 401
        let d = (0..<n).map { $0 == n - 1 ? 100.0 : 1 + 1e-4 * Double($0) }
        let apply: ([Double]) -> [Double] = { v in (0..<n).map { d[$0] * v[$0] } }
        let plain = try Lanczos.symmetricExtremes(dimension: n, tolerance: 1e-6, maxIterations: 300, seed: 3, minBudget: 5, apply: apply)
        XCTAssertTrue(plain.convergedMax)
        XCTAssertFalse(plain.convergedMin)
        XCTAssertFalse(plain.minFromBracket)
        let narrow = try Lanczos.symmetricExtremes(dimension: n, tolerance: 1e-6, maxIterations: 300, seed: 3, minBudget: 5,
                                                   minBracket: 1.0...(1.0 + 5e-5), apply: apply)
        XCTAssertTrue(narrow.convergedMin && narrow.minFromBracket && narrow.converged)
        XCTAssertGreaterThanOrEqual(narrow.lambdaMin, 1)
        XCTAssertLessThanOrEqual(narrow.lambdaMin, 1 + 5e-5)
        XCTAssertEqual(narrow.errorMin, narrow.lambdaMin - 1, accuracy: 1e-15)
        XCTAssertLessThanOrEqual(narrow.iterations, plain.iterations)
        XCTAssertEqual(narrow.lambdaMax, 100, accuracy: 1e-4)
        let wide = try Lanczos.symmetricExtremes(dimension: n, tolerance: 1e-6, maxIterations: 300, seed: 3, minBudget: 5,
                                                 minBracket: 1.0...1.5, apply: apply)
        XCTAssertEqual(wide, plain)
    }

    /// Eigenpairs of a symmetric matrix built as Q diag(d) Qᵀ with a Householder Q.
    func testSymmetricEigenRecoversKnownPairs() throws {
        let n = 7, d: [Double] = [-2, 0.5, 1, 3, 3.5, 10, 11]
        var rng = SplitMix64(seed: 9)
        var u = (0..<n).map { _ in rng.nextSigned() }
        let un = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
        u = u.map { $0 / un }
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n {
            var s = 0.0
            for k in 0..<n {
                let qik = (i == k ? 1 : 0) - 2 * u[i] * u[k], qjk = (j == k ? 1 : 0) - 2 * u[j] * u[k]
                s += qik * d[k] * qjk
            }
            a[i * n + j] = s
        } }
        let e = try SymmetricEigen.decompose(a, n: n)
        for k in 0..<n {
            XCTAssertEqual(e.values[k], d[k], accuracy: 1e-13)
            let v = Array(e.vectors[(k * n)..<((k + 1) * n)])
            XCTAssertEqual(v.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-13)
            for i in 0..<n {
                let av = (0..<n).reduce(0.0) { $0 + a[i * n + $1] * v[$1] }
                XCTAssertEqual(av, d[k] * v[i], accuracy: 1e-12)
            }
        }
        XCTAssertThrowsError(try SymmetricEigen.decompose([1, 2, 3], n: 2))
        XCTAssertThrowsError(try SymmetricEigen.decompose([1, .nan, .nan, 1], n: 2))
    }
}
