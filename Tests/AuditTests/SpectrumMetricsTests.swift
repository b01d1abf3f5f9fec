import TestSupport
import Foundation
import XCTest
import LinearAlgebra
@testable import Audit

/// SPEC.md §2 metrics against numpy (fixtures/spectra/manifest.json, computed from
/// `numpy.linalg.svd` σ with the same formulas), and the identities SPEC §2 requires.
/// Tolerances: entropy-type values to 1e-6 absolute; σ-type values to 1e-6·σ_1 absolute;
/// ratios (stable rank, effective ranks, gains) to 1e-6 relative; condition numbers to the
/// accuracy the SVD method promises for σ_min (gesdd: 1e-6 + 100·κ·ε; Gram: 1e-4).
final class SpectrumMetricsTests: XCTestCase {
    func matrix(_ c: SpectraFixtures.MatrixCase) -> Matrix {
        Matrix(rows: c.rows, cols: c.cols, storage: SpectraFixtures.doubles(c.file))
    }

    func metrics(_ c: SpectraFixtures.MatrixCase) throws -> (SpectrumMetrics, SingularValueResult) {
        let r = try SVD.singularValues(matrix(c))
        return (SpectrumMetrics.compute(singularValues: r.values, rows: c.rows, cols: c.cols), r)
    }

    func ref(_ c: SpectraFixtures.MatrixCase, _ key: String) -> Double? { c.metrics[key] ?? nil }

    func testEveryMetricMatchesNumpy() throws {
        for c in SpectraFixtures.manifest.matrices {
            let (m, r) = try metrics(c)
            let s1 = ref(c, "spectral_norm")!
            let name = c.name
            XCTAssertEqual(m.rank, Int(ref(c, "rank")!), name)
            XCTAssertEqual(m.tol, ref(c, "tol")!, accuracy: 1e-6 * ref(c, "tol")!, name)
            XCTAssertEqual(m.spectralNorm, s1, accuracy: 1e-6 * s1, name)
            for key in ["spectral_entropy", "normalized_entropy"] {
                let got = key == "spectral_entropy" ? m.spectralEntropy : m.normalizedEntropy
                XCTAssertEqual(try XCTUnwrap(got), ref(c, key)!, accuracy: 1e-6, "\(name) \(key)")
            }
            let relative: [(String, Double?)] = [("frobenius", m.frobenius), ("nuclear", m.nuclear),
                                                 ("stable_rank", m.stableRank), ("effective_rank", m.effectiveRank),
                                                 ("erank_rv", m.erankRV), ("typical_gain", m.typicalGain),
                                                 ("entropy_bound", m.entropyBound)]
            for (key, got) in relative {
                let want = ref(c, key)!
                XCTAssertEqual(try XCTUnwrap(got), want, accuracy: 1e-6 * abs(want), "\(name) \(key)")
            }
            if let sMin = ref(c, "sigma_min") {
                XCTAssertEqual(try XCTUnwrap(m.sigmaMin), sMin, accuracy: 1e-6 * s1, "\(name) sigma_min")
                let kappa = ref(c, "condition")!
                let relTol = r.method == .gesdd ? 1e-6 + 100 * kappa * Double.ulpOfOne : SVD.gramAccuracyTarget
                XCTAssertEqual(try XCTUnwrap(m.condition), kappa, accuracy: relTol * kappa, "\(name) condition")
            } else {
                XCTAssertNil(m.sigmaMin, name)
                XCTAssertNil(m.condition, name)
            }
        }
    }

    func testIdentitiesOfSpec() throws {
        var checked = 0
        for c in SpectraFixtures.manifest.matrices {
            let (m, _) = try metrics(c)
            guard let r = m.rank, r >= 1 else { continue }
            let slack = 1e-12
            let sr = m.stableRank!, er = m.effectiveRank!
            XCTAssertLessThanOrEqual(1, sr * (1 + slack), c.name)
            XCTAssertLessThanOrEqual(sr, er * (1 + slack), c.name)
            XCTAssertLessThanOrEqual(er, Double(r) * (1 + slack), c.name)
            XCTAssertLessThanOrEqual(m.typicalGain!, m.entropyBound! * (1 + slack), c.name)
            XCTAssertLessThanOrEqual(m.entropyBound!, m.spectralNorm * (1 + slack), c.name)
            XCTAssertLessThanOrEqual(m.entropyBound!, m.spectralNorm * (Double(r) / Double(c.cols)).squareRoot() * (1 + slack), c.name)
            checked += 1
        }
        XCTAssertGreaterThan(checked, 15)
    }

    /// The identities are tight enough to catch a wrong formula: a flat spectrum reaches
    /// equality, a steep one separates the quantities.
    func testIdentitiesAreNotVacuous() {
        let flat = SpectrumMetrics.compute(singularValues: [2, 2, 2, 2], rows: 4, cols: 4)
        XCTAssertEqual(flat.stableRank!, 4, accuracy: 1e-15)
        XCTAssertEqual(flat.effectiveRank!, 4, accuracy: 1e-14)
        XCTAssertEqual(flat.typicalGain!, flat.entropyBound!, accuracy: 1e-15)
        let steep = SpectrumMetrics.compute(singularValues: [10, 1, 0.1], rows: 3, cols: 5)
        XCTAssertLessThan(steep.stableRank!, steep.effectiveRank! - 1e-3)
        XCTAssertLessThan(steep.typicalGain!, steep.entropyBound! - 1e-3)
        // hand-computed: p = (100, 1, .01)/101.01
        let p = [100, 1, 0.01].map { $0 / 101.01 }
        let h = -p.reduce(0) { $0 + $1 * log($1) }
        XCTAssertEqual(steep.spectralEntropy!, h, accuracy: 1e-15)
        XCTAssertEqual(steep.normalizedEntropy!, h / log(3), accuracy: 1e-15)
        XCTAssertEqual(steep.entropyBound!, 10 * (exp(h) / 5).squareRoot(), accuracy: 1e-14)
        let q = [10, 1, 0.1].map { $0 / 11.1 }
        XCTAssertEqual(steep.erankRV!, exp(-q.reduce(0) { $0 + $1 * log($1) }), accuracy: 1e-14)
    }

    func testOrthogonalHasUnitSigmasAndMaximalEntropy() throws {
        let c = SpectraFixtures.matrixCase("orthogonal_32")
        let r = try SVD.singularValues(matrix(c))
        for s in r.values { XCTAssertEqual(s, 1, accuracy: 1e-12) }
        let m = SpectrumMetrics.compute(singularValues: r.values, rows: 32, cols: 32)
        XCTAssertEqual(m.spectralEntropy!, log(32), accuracy: 1e-12)
        XCTAssertEqual(m.normalizedEntropy!, 1, accuracy: 1e-12)
        XCTAssertEqual(m.rank, 32)
    }

    func testRankOneHasZeroEntropy() throws {
        let c = SpectraFixtures.matrixCase("rankone_20x30")
        let (m, r) = try metrics(c)
        XCTAssertEqual(r.method, .gesdd)
        XCTAssertEqual(m.rank, 1)
        XCTAssertEqual(m.spectralEntropy!, 0, accuracy: 1e-12)
        XCTAssertEqual(m.normalizedEntropy, 0)
        XCTAssertEqual(m.effectiveRank!, 1, accuracy: 1e-12)
        XCTAssertEqual(m.condition, 1)
    }

    func testKnownDiagonalSpectrum() throws {
        let (m, r) = try metrics(SpectraFixtures.matrixCase("diag_known_8x10"))
        XCTAssertEqual(r.values[0], 5, accuracy: 1e-15)
        XCTAssertEqual(m.rank, 7)
        XCTAssertEqual(m.sigmaMin!, 1e-3, accuracy: 1e-15)
        XCTAssertEqual(m.condition!, 5000, accuracy: 1e-9)
        XCTAssertEqual(m.nuclear!, 5 + 3 + 3 + 1 + 0.5 + 0.25 + 1e-3, accuracy: 1e-13)
        XCTAssertEqual(m.typicalGain!, (25 + 9 + 9 + 1 + 0.25 + 0.0625 + 1e-6).squareRoot() / 10.0.squareRoot(), accuracy: 1e-14)
    }

    func testZeroAndEmptyMatricesHaveDocumentedValuesAndEncodeWithoutNaN() throws {
        for (rows, cols, values) in [(6, 4, [Double](repeating: 0, count: 4)), (0, 5, []), (3, 0, [])] {
            let m = SpectrumMetrics.compute(singularValues: values, rows: rows, cols: cols)
            XCTAssertEqual(m.rank, 0)
            XCTAssertEqual(m.spectralNorm, 0)
            XCTAssertNil(m.sigmaMin)
            XCTAssertNil(m.condition)
            XCTAssertEqual(m.spectralEntropy, 0)
            XCTAssertEqual(m.effectiveRank, 0)
            XCTAssertEqual(m.entropyBound, 0)
            XCTAssertEqual(m.typicalGain, 0)
            XCTAssertNoThrow(try JSONEncoder().encode(m))
        }
        for c in SpectraFixtures.manifest.matrices {
            XCTAssertNoThrow(try JSONEncoder().encode(try metrics(c).0), c.name)
        }
    }

    func testJSONUsesSpecNames() throws {
        let m = SpectrumMetrics.compute(singularValues: [2, 1], rows: 2, cols: 2)
        let obj = try JSONSerialization.jsonObject(with: JSONEncoder().encode(m)) as! [String: Any]
        for key in ["tol", "rank", "spectral_norm", "sigma_min", "condition", "frobenius", "nuclear", "stable_rank",
                    "spectral_entropy", "normalized_entropy", "effective_rank", "erank_rv", "typical_gain", "entropy_bound"] {
            XCTAssertNotNil(obj[key], key)
        }
        XCTAssertEqual(try JSONDecoder().decode(SpectrumMetrics.self, from: JSONEncoder().encode(m)), m)
    }

    func testIncompleteSpectrumKeepsExactFrobeniusBasedMetrics() throws {
        let c = SpectraFixtures.matrixCase("random_200x150")
        let a = matrix(c)
        let top = try SVD.topK(a, k: 5)
        XCTAssertFalse(top.isComplete)
        let m = SpectrumMetrics.compute(singularValues: top.values, rows: c.rows, cols: c.cols, isComplete: false,
                                        frobenius: a.frobeniusNorm)
        XCTAssertNil(m.rank)
        XCTAssertNil(m.spectralEntropy)
        XCTAssertNil(m.entropyBound)
        XCTAssertNil(m.nuclear)
        XCTAssertEqual(m.frobenius!, c.frobeniusEntries, accuracy: 1e-12 * c.frobeniusEntries)
        XCTAssertEqual(m.stableRank!, ref(c, "stable_rank")!, accuracy: 1e-9 * ref(c, "stable_rank")!)
        XCTAssertEqual(m.typicalGain!, ref(c, "typical_gain")!, accuracy: 1e-12 * ref(c, "typical_gain")!)
        let noFro = SpectrumMetrics.compute(singularValues: top.values, rows: c.rows, cols: c.cols, isComplete: false)
        XCTAssertNil(noFro.stableRank)
        XCTAssertEqual(noFro.spectralNorm, top.values[0])
    }

    // MARK: heavy tails

    /// Same algorithm as fixtures/generate_spectra.py on numpy's σ: agreement to 1e-9 relative
    /// (only summation order differs).
    func testHeavyTailMetricsMatchNumpyReference() throws {
        var checked = 0
        for c in SpectraFixtures.manifest.matrices {
            let got = HeavyTailMetrics.compute(singularValues: c.singularValues, rows: c.rows, cols: c.cols)
            guard let want = c.heavyTail else { XCTAssertNil(got, c.name); continue }
            let g = try XCTUnwrap(got, c.name)
            func close(_ x: Double?, _ key: String) {
                guard let w = want[key] ?? nil else { return XCTAssertNil(x, "\(c.name) \(key)") }
                XCTAssertEqual(try XCTUnwrap(x, "\(c.name) \(key)"), w, accuracy: 1e-9 * max(abs(w), 1e-300), "\(c.name) \(key)")
            }
            close(g.alpha, "alpha")
            close(g.xmin, "xmin")
            close(g.ksDistance, "ks_distance")
            close(g.alphaWeighted, "alpha_weighted")
            close(g.tailCount.map(Double.init), "tail_count")
            close(g.mpBulkEdge, "mp_bulk_edge")
            close(g.mpVariance, "mp_variance")
            close(Double(g.mpSpikes), "mp_spikes")
            checked += 1
        }
        XCTAssertGreaterThan(checked, 10)
    }

    func testHeavyTailOnComputedSpectrumAndKnownCases() throws {
        let c = SpectraFixtures.matrixCase("heavy_tail_200x100")
        let r = try SVD.singularValues(matrix(c))
        let h = try XCTUnwrap(HeavyTailMetrics.compute(singularValues: r.values, rows: c.rows, cols: c.cols))
        XCTAssertEqual(h.alpha!, (c.heavyTail!["alpha"] ?? nil)!, accuracy: 1e-6)
        XCTAssertEqual(h.alphaWeighted!, h.alpha! * log10(r.values[0] * r.values[0]), accuracy: 1e-12)
        // an exact Pareto sample λ_i = (N/i)^{1/(α−1)} has Hill estimate near α
        let alpha = 2.5
        let lam = (1...400).map { pow(400.0 / Double($0), 1 / (alpha - 1)) }
        let p = try XCTUnwrap(HeavyTailMetrics.compute(singularValues: lam.map { $0.squareRoot() }, rows: 400, cols: 400))
        XCTAssertEqual(p.alpha!, alpha, accuracy: 0.15)
        // all σ equal: no power law
        XCTAssertNil(HeavyTailMetrics.compute(singularValues: [Double](repeating: 1, count: 10), rows: 10, cols: 10)?.alpha)
        XCTAssertNil(HeavyTailMetrics.compute(singularValues: [1, 0.5], rows: 2, cols: 2))
    }
}
