import XCTest
@testable import LinearAlgebra

/// `Lanczos.symmetricExtremesTwoPass` against LAPACK (`dsyev` through `SymmetricEigen`) on dense
/// symmetric matrices `Q diag(d) Qᵀ`: random indefinite, clustered at both ends, and long runs in
/// which global orthogonality is lost (more steps than the dimension: ghosts are certain). Checks
/// the statements the result makes: ρ_max ≤ λ_max and λ_min ≤ ρ_min (Rayleigh quotients), the true
/// residuals bracket an eigenvalue, and the stated error estimates hold against the exact extremes.
final class TwoPassLanczosTests: XCTestCase {
    /// Dense `Q diag(d) Qᵀ` (Q a product of three seeded Householder reflectors), row-major.
    func symmetric(_ d: [Double], seed: UInt64) -> [Double] {
        let n = d.count
        var a = [Double](repeating: 0, count: n * n)
        for i in 0..<n { a[i * n + i] = d[i] }
        var rng = SplitMix64(seed: seed)
        for _ in 0..<3 {
            var u = (0..<n).map { _ in rng.nextSigned() }
            let un = u.reduce(0) { $0 + $1 * $1 }.squareRoot()
            u = u.map { $0 / un }
            // a ← H a H, H = I − 2uuᵀ
            let au = (0..<n).map { i in (0..<n).reduce(0.0) { $0 + a[i * n + $1] * u[$1] } }
            let uau = (0..<n).reduce(0.0) { $0 + u[$1] * au[$1] }
            for i in 0..<n { for j in 0..<n {
                a[i * n + j] += -2 * au[i] * u[j] - 2 * u[i] * au[j] + 4 * uau * u[i] * u[j]
            } }
        }
        return a
    }

    func apply(_ a: [Double], _ n: Int) -> ([Double]) -> [Double] {
        { v in (0..<n).map { i in (0..<n).reduce(0.0) { $0 + a[i * n + $1] * v[$1] } } }
    }

    /// The exact extremes (LAPACK), and the checks every result must pass.
    func check(_ d: [Double], seed: UInt64, tolerance: Double, maxIterations: Int = 300, label: String,
               file: StaticString = #filePath, line: UInt = #line) throws -> Lanczos.TwoPassResult {
        let n = d.count, a = symmetric(d, seed: seed)
        let exact = try SymmetricEigen.decompose(a, n: n).values
        let lo = exact.first!, hi = exact.last!, scale = max(abs(lo), abs(hi))
        let r = try Lanczos.symmetricExtremesTwoPass(dimension: n, tolerance: tolerance, maxIterations: maxIterations,
                                                     seed: 7, apply: apply(a, n))
        let e = r.extremes
        let slack = 1e-12 * scale
        XCTAssertTrue(e.converged, "\(label): not converged after \(e.iterations) steps", file: file, line: line)
        XCTAssertLessThanOrEqual(e.lambdaMax, hi + slack, "\(label): ρ_max ≤ λ_max", file: file, line: line)
        XCTAssertGreaterThanOrEqual(e.lambdaMin, lo - slack, "\(label): ρ_min ≥ λ_min", file: file, line: line)
        XCTAssertLessThanOrEqual(hi - e.lambdaMax, e.errorMax + slack, "\(label): λ_max error estimate", file: file, line: line)
        XCTAssertLessThanOrEqual(e.lambdaMin - lo, e.errorMin + slack, "\(label): λ_min error estimate", file: file, line: line)
        XCTAssertLessThanOrEqual(e.errorMax, tolerance * scale * (1 + 1e-12), file: file, line: line)
        XCTAssertLessThanOrEqual(e.errorMin, tolerance * scale * (1 + 1e-12), file: file, line: line)
        // The true residual brackets SOME eigenvalue (rigorous).
        for (rho, res) in [(e.lambdaMax, r.residualMax), (e.lambdaMin, r.residualMin)] {
            let nearest = exact.map { abs($0 - rho) }.min()!
            XCTAssertLessThanOrEqual(nearest, res + slack, "\(label): residual bracket", file: file, line: line)
        }
        XCTAssertEqual(r.products, 2 * e.iterations + 1, file: file, line: line)
        return r
    }

    func testRandomIndefiniteSpectrum() throws {
        var rng = SplitMix64(seed: 11)
        let d = (0..<300).map { _ in 5 * rng.nextSigned() } + [9.5, -7.25]
        let r = try check(d, seed: 1, tolerance: 1e-10, label: "indefinite")
        XCTAssertLessThan(r.extremes.iterations, 300)
    }

    /// Both ends clustered (gaps 1e-3 relative at the top, 1e-4 at the bottom): the extremes still
    /// converge within the tolerance; the answer agrees with the stored-basis Lanczos.
    func testClusteredEnds() throws {
        let top = (0..<6).map { 10 - 1e-2 * Double($0) }
        let bottom = (0..<6).map { -3 + 1e-3 * Double($0) }
        let middle = (0..<200).map { -2 + 10 * Double($0) / 200 }
        let d = top + middle + bottom
        let r = try check(d, seed: 2, tolerance: 1e-10, label: "clustered")
        let a = symmetric(d, seed: 2)
        let full = try Lanczos.symmetricExtremes(dimension: d.count, tolerance: 1e-10, maxIterations: 300, seed: 7, apply: apply(a, d.count))
        XCTAssertEqual(r.extremes.lambdaMax, full.lambdaMax, accuracy: 1e-9 * 10)
        XCTAssertEqual(r.extremes.lambdaMin, full.lambdaMin, accuracy: 1e-9 * 10)
    }

    /// n = 40 with one isolated top value and a tightly clustered bottom at 1e-13: the run takes more
    /// steps than the dimension, which only happens once orthogonality is lost and ghost copies of
    /// the converged top value sit in T; the extremes and their certificates stay right.
    func testGhostsDoNotSpoilTheExtremes() throws {
        let d = [1000.0] + (0..<39).map { 1 + 1e-3 * Double($0) * Double($0) }
        let r = try check(d, seed: 3, tolerance: 1e-13, maxIterations: 400, label: "ghosts")
        XCTAssertGreaterThan(r.extremes.iterations, d.count, "expected a run past the dimension (lost orthogonality)")
    }

    /// A rank-2 operator breaks down after two steps: the values are exact.
    func testBreakdownIsExact() throws {
        let d = [3.0, -2.0] + [Double](repeating: 0, count: 30)
        let r = try check(d, seed: 4, tolerance: 1e-12, label: "rank 2")
        XCTAssertLessThanOrEqual(r.extremes.iterations, 3)
    }

    /// Not converged within the cap: reported as such, the Rayleigh quotients still bounds.
    func testCapIsReportedNotConverged() throws {
        var rng = SplitMix64(seed: 5)
        let d = (0..<400).map { _ in rng.nextSigned() }
        let a = symmetric(d, seed: 5)
        let exact = try SymmetricEigen.decompose(a, n: d.count).values
        let r = try Lanczos.symmetricExtremesTwoPass(dimension: d.count, tolerance: 1e-12, maxIterations: 6, seed: 7, apply: apply(a, d.count))
        XCTAssertFalse(r.extremes.converged)
        XCTAssertEqual(r.extremes.iterations, 6)
        XCTAssertLessThanOrEqual(r.extremes.lambdaMax, exact.last! + 1e-12)
        XCTAssertGreaterThanOrEqual(r.extremes.lambdaMin, exact.first! - 1e-12)
    }
}

extension TwoPassLanczosTests {
    /// `needMin: false` (a Gram's top only): stops once λ_max converged, certifies only it, 2k products.
    func testTopOnly() throws {
        let d = [50.0, 20] + (0..<200).map { 1e-6 * Double($0) }
        let a = symmetric(d, seed: 6)
        let r = try Lanczos.symmetricExtremesTwoPass(dimension: d.count, tolerance: 1e-10, maxIterations: 300, seed: 7, needMin: false,
                                                     apply: apply(a, d.count))
        XCTAssertTrue(r.extremes.converged && r.extremes.convergedMax)
        XCTAssertEqual(r.products, 2 * r.extremes.iterations)
        XCTAssertTrue(r.residualMin.isNaN)
        XCTAssertLessThanOrEqual(r.extremes.lambdaMax, 50 + 1e-11)
        XCTAssertEqual(r.extremes.lambdaMax, 50, accuracy: max(r.extremes.errorMax, 1e-12 * 50))
        XCTAssertLessThan(r.extremes.iterations, 40)
    }
}

extension TwoPassLanczosTests {
    /// `minBracket` and `minBudget` (the NTK's λ_min) state what `symmetricExtremes` states: on a
    /// singular PSD operator with the bracket [0, 1e-14], λ_min is the bracket's upper end with its
    /// width as error, no Ritz vector for it (2k products), and both paths agree to 1e-9; without
    /// the bracket and with a budget the run stops after λ_max converged and k ≥ budget, λ_min then
    /// an unconverged Rayleigh quotient, an upper bound of the true λ_min.
    func testBracketAndBudgetAsStoredLanczos() throws {
        let top: [Double] = [40, 25, 9]
        let middle: [Double] = (0..<150).map { (i: Int) -> Double in 1 + 2 * Double(i) / 150 }
        let d: [Double] = top + middle + [Double](repeating: 0, count: 60)
        let a = symmetric(d, seed: 8), n = d.count
        let br = 0.0...1e-14
        let two = try Lanczos.symmetricExtremesTwoPass(dimension: n, tolerance: 1e-10, maxIterations: 300, seed: 7,
                                                       minBudget: 0, minBracket: br, apply: apply(a, n))
        let full = try Lanczos.symmetricExtremes(dimension: n, tolerance: 1e-10, maxIterations: 300, seed: 7,
                                                 minBudget: 0, minBracket: br, apply: apply(a, n))
        XCTAssertTrue(two.extremes.converged && two.extremes.minFromBracket && full.minFromBracket)
        XCTAssertEqual(two.extremes.lambdaMin, 1e-14)
        XCTAssertEqual(two.extremes.errorMin, 1e-14)
        XCTAssertTrue(two.residualMin.isNaN)
        XCTAssertEqual(two.products, 2 * two.extremes.iterations)
        XCTAssertEqual(two.extremes.lambdaMax, full.lambdaMax, accuracy: 1e-9 * 40)
        XCTAssertEqual(two.extremes.lambdaMin, full.lambdaMin, accuracy: 1e-9 * 40)
        XCTAssertEqual(two.extremes.lambdaMax, 40, accuracy: 1e-9 * 40)

        // No bracket, budget 12: stops at the first check with λ_max converged and k ≥ 12.
        let budget = try Lanczos.symmetricExtremesTwoPass(dimension: n, tolerance: 1e-12, maxIterations: 300, seed: 7,
                                                          minBudget: 12, apply: apply(a, n))
        let e = budget.extremes
        XCTAssertTrue(e.convergedMax)
        XCTAssertFalse(e.convergedMin, "the zero cluster under a continuum is not resolved in so few steps")
        XCTAssertFalse(e.converged)
        XCTAssertGreaterThanOrEqual(e.iterations, 12)
        XCTAssertLessThan(e.iterations, 64)
        XCTAssertGreaterThanOrEqual(e.lambdaMin, -1e-12, "ρ_min ≥ λ_min = 0")
        XCTAssertEqual(budget.products, 2 * e.iterations + 1)
        XCTAssertEqual(e.lambdaMax, 40, accuracy: 1e-9 * 40)
    }
}
