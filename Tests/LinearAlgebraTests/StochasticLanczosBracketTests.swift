import Foundation
import TestSupport
import XCTest
@testable import LinearAlgebra

/// The SLQ quadrature bracket (StochasticLanczos+Bracket.swift) against the float64 numpy/LAPACK
/// references of fixtures/generate_slq_bracket.py (fixtures/slq/bracket.json): small PSD matrices
/// with known spectra (5 zero eigenvalues; three tight clusters; 10 decades), the start vectors
/// spectral-audit draws, exact `n uᵀ f(A) u` (f = λ ln λ) from the eigendecomposition, and Gauss
/// and Gauss–Radau(0) values from an independent numpy Lanczos.
final class StochasticLanczosBracketTests: XCTestCase {
    struct Case: Decodable {
        var name: String, n: Int, probes: Int, steps: Int, seed: UInt64
        var matrix: [Double], eigenvalues: [Double], exact: [Double], rayleigh: [Double], gauss: [Double], radau: [Double]
        var entropy_vectors: Double, entropy_true: Double, trace: Double
    }

    static let cases: [Case] = {
        let url = SpectraFixtures.root.deletingLastPathComponent().appendingPathComponent("slq/bracket.json")
        struct File: Decodable { var cases: [Case] }
        return try! JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }()

    func rules(_ c: Case, steps: Int? = nil, stop: (([StochasticLanczos.Rule]) throws -> Bool)? = nil) throws -> [StochasticLanczos.Rule] {
        let n = c.n, s = c.probes
        return try StochasticLanczos.rules(dimension: n, probes: s, steps: steps ?? c.steps, seed: c.seed, stop: stop) { v, w in
            for i in 0..<n {
                for j in 0..<s {
                    var acc = 0.0
                    for k in 0..<n { acc += c.matrix[i * n + k] * v[k * s + j] }
                    w[i * s + j] = acc
                }
            }
        }
    }

    let xlogx: (Double) -> Double = { $0 > 0 ? $0 * log($0) : 0 }

    /// Per start vector: Gauss ≤ exact ≤ Radau (the derivation's claim), and both rules equal the
    /// independent numpy Lanczos to 1e-9 relative to the largest |value| of the case (different
    /// rounding of two full-reorthogonalised Lanczos runs and of δ_k: LDLᵀ pivots vs a solve).
    func testGaussAndRadauBracketTheExactQuadraticFormPerVector() throws {
        for c in Self.cases {
            let r = try rules(c)
            XCTAssertEqual(r.count, c.probes)
            let t = StochasticLanczos.traceOf(xlogx, rules: r, dimension: c.n)
            let scale = c.exact.map { abs($0) }.max()!
            for j in 0..<c.probes {
                let (g, x, q) = (t.gaussSamples[j], c.exact[j], t.radauSamples[j])
                XCTAssertEqual(r[j].steps, c.steps)
                XCTAssertLessThanOrEqual(g, x + 1e-12 * scale, "\(c.name) vector \(j): Gauss \(g) above exact \(x)")
                XCTAssertGreaterThanOrEqual(q, x - 1e-12 * scale, "\(c.name) vector \(j): Radau \(q) below exact \(x)")
                XCTAssertLessThan(g, q, "\(c.name) vector \(j): a bracket of positive width after \(c.steps) steps")
                XCTAssertEqual(g, c.gauss[j], accuracy: 1e-9 * scale, "\(c.name) vector \(j) Gauss vs numpy")
                XCTAssertEqual(q, c.radau[j], accuracy: 1e-9 * scale, "\(c.name) vector \(j) Radau vs numpy")
                XCTAssertEqual(Double(c.n) * r[j].rayleigh, c.rayleigh[j], accuracy: 1e-12 * c.trace)
            }
        }
    }

    /// The entropy of the same vectors with infinitely many steps lies in [H_radau, H_gauss], and
    /// the reported midpoint is within the half-width of it; the stated error is 2 SE + half-width.
    /// Also with the trace known exactly (the `--svd fast` variant, with its control variate):
    /// there the infinitely-many-steps value is `H_gauss − mean_j (exact_j − gauss_j) / S`.
    func testEntropyMidpointIsWithinTheHalfWidthOfTheVectorsExactQuadrature() throws {
        for c in Self.cases {
            let r = try rules(c)
            let e = StochasticLanczos.entropy(r, dimension: c.n)
            let tol = 1e-10 * abs(c.entropy_vectors)
            XCTAssertLessThanOrEqual(e.radau, c.entropy_vectors + tol, c.name)
            XCTAssertGreaterThanOrEqual(e.gauss, c.entropy_vectors - tol, c.name)
            XCTAssertLessThanOrEqual(abs(e.entropy - c.entropy_vectors), e.quadratureHalfWidth + tol, c.name)
            XCTAssertEqual(e.entropy, (e.gauss + e.radau) / 2, accuracy: 1e-14 * e.entropy)
            XCTAssertEqual(e.entropyError, e.stochasticError + e.quadratureHalfWidth)
            XCTAssertGreaterThan(e.quadratureHalfWidth, 0, c.name)

            let k = StochasticLanczos.entropy(r, dimension: c.n, exactTrace: c.trace)
            let t = StochasticLanczos.traceOf(xlogx, rules: r, dimension: c.n)
            let missing = zip(c.exact, t.gaussSamples).map { $0 - $1 }.reduce(0, +) / Double(c.probes) / c.trace
            let vectors = k.gauss - missing
            XCTAssertGreaterThanOrEqual(missing, -tol, c.name)
            XCTAssertLessThanOrEqual(k.radau, vectors + tol, "\(c.name) exact trace")
            XCTAssertGreaterThanOrEqual(k.gauss, vectors - tol, "\(c.name) exact trace")
            XCTAssertLessThanOrEqual(abs(k.entropy - vectors), k.quadratureHalfWidth + tol, "\(c.name) exact trace")
        }
    }

    /// With as many steps as the order, the Krylov space is invariant: both rules are exact, the
    /// half-width is 0 (to rounding) and the entropy is the vectors' exact value.
    func testFullKrylovSpaceClosesTheBracket() throws {
        for c in Self.cases {
            let e = StochasticLanczos.entropy(try rules(c, steps: c.n), dimension: c.n)
            XCTAssertLessThanOrEqual(e.quadratureHalfWidth, 1e-8 * c.entropy_vectors, c.name)
            XCTAssertEqual(e.entropy, c.entropy_vectors, accuracy: 1e-8 * c.entropy_vectors, c.name)
        }
    }

    /// The stopping rule ends the run at the first step whose rules satisfy it and returns exactly
    /// those rules; a rule that never holds runs to the cap.
    func testStoppingRuleStopsAtTheFirstStepThatSatisfiesIt() throws {
        let c = Self.cases[0]
        var asked: [Int] = []
        let stopped = try rules(c, steps: 20) { r in
            asked.append(r[0].steps)
            return StochasticLanczos.entropy(r, dimension: c.n).quadratureHalfWidth < 0.05
        }
        let last = try XCTUnwrap(asked.last)
        XCTAssertEqual(asked, Array(2...last))
        XCTAssertLessThan(last, 20)
        XCTAssertTrue(stopped.allSatisfy { $0.steps == last })
        XCTAssertLessThan(StochasticLanczos.entropy(stopped, dimension: c.n).quadratureHalfWidth, 0.05)
        let before = StochasticLanczos.entropy(try rules(c, steps: last - 1), dimension: c.n)
        XCTAssertGreaterThanOrEqual(before.quadratureHalfWidth, 0.05)
        let capped = try rules(c, steps: 7) { _ in false }
        XCTAssertTrue(capped.allSatisfy { $0.steps == 7 })
    }
}
