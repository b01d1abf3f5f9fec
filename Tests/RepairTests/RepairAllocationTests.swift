import Audit
import Foundation
import LinearAlgebra
import WeightFiles
import XCTest

/// The clip-level allocation against a brute-force grid, the SVD clip, and dtype rounding.
final class RepairAllocationTests: XCTestCase {
    /// Seeded normal draws (SplitMix64 + Box–Muller).
    struct Rng {
        var s: UInt64
        mutating func next() -> Double {
            s &+= 0x9E37_79B9_7F4A_7C15
            var z = s
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Double((z ^ (z >> 31)) >> 11) * 0x1p-53
        }
        mutating func normal() -> Double { (-2 * log(next() + 1e-300)).squareRoot() * cos(2 * .pi * next()) }
    }

    /// The optimiser's cost is at most the best cost on a fine grid over (t_1, t_2) with t_3 set by
    /// the budget (the largest feasible t_3, capped at σ_1), for several random 3-layer toys and budgets.
    func testAllocationBeatsBruteForceGridOnThreeLayers() {
        var rng = Rng(s: 42)
        for trial in 0..<6 {
            let layers = (0..<3).map { l -> ClipAllocation.Layer in
                let count = 3 + l * 2
                let values = (0..<count).map { _ in abs(rng.normal()) * Double(l + 1) + 0.1 }
                return ClipAllocation.Layer(singularValues: values, ratio: [1, 1.7, 1][l])
            }
            let logFull = layers.reduce(0) { $0 + log($1.singularValues[0] * $1.ratio) }
            for reduction in [0.3, 0.7, 1.2] {
                let budget = logFull - reduction
                let r = ClipAllocation.allocate(layers, logBudget: budget)
                // Feasible.
                let used = zip(layers, r.levels).reduce(0) { $0 + log($1.0.ratio * $1.1) }
                XCTAssertLessThanOrEqual(used, budget + 1e-9, "trial \(trial)")
                for (l, t) in zip(layers, r.levels) { XCTAssertLessThanOrEqual(t, l.singularValues[0] * (1 + 1e-15)) }
                // Grid.
                var best = Double.infinity
                let steps = 300
                let s1 = layers[0].singularValues[0], s2 = layers[1].singularValues[0], s3 = layers[2].singularValues[0]
                for i in 1...steps {
                    let t1 = s1 * Double(i) / Double(steps)
                    for j in 1...steps {
                        let t2 = s2 * Double(j) / Double(steps)
                        let rest = budget - log(layers[0].ratio * t1) - log(layers[1].ratio * t2)
                        let t3 = min(s3, exp(rest) / layers[2].ratio)
                        let c = ClipAllocation.cost(layers[0].singularValues, at: t1)
                            + ClipAllocation.cost(layers[1].singularValues, at: t2)
                            + ClipAllocation.cost(layers[2].singularValues, at: t3)
                        best = min(best, c)
                    }
                }
                XCTAssertLessThanOrEqual(r.cost, best + 1e-9 + 1e-6 * best, "trial \(trial) reduction \(reduction): optimiser \(r.cost) vs grid \(best), off-branch \(r.leftConvexBranch), levels \(r.levels), tops \(layers.map { $0.singularValues[0] })")
            }
        }
    }

    /// KKT: every clipped layer on its convex branch satisfies `t·Σ(σ_i − t)_+ = μ`.
    func testStationarityHoldsForClippedLayers() {
        let layers = [ClipAllocation.Layer(singularValues: [5, 3, 1]), ClipAllocation.Layer(singularValues: [4, 4, 2, 1]),
                      ClipAllocation.Layer(singularValues: [2, 0.5])]
        let full = layers.reduce(0) { $0 + log($1.singularValues[0]) }
        let r = ClipAllocation.allocate(layers, logBudget: full - 0.5)
        XCTAssertFalse(r.leftConvexBranch)
        for (l, t) in zip(layers, r.levels) where t < l.singularValues[0] {
            XCTAssertEqual(ClipAllocation.stationarity(l.singularValues, at: t), r.multiplier, accuracy: 1e-9 * r.multiplier)
        }
        XCTAssertEqual(zip(layers, r.levels).reduce(0) { $0 + log($1.1) }, full - 0.5, accuracy: 1e-9)
    }

    func testCapsAndSlackBudget() {
        let layers = [ClipAllocation.Layer(singularValues: [5, 1], cap: 2), ClipAllocation.Layer(singularValues: [3, 1])]
        let r = ClipAllocation.allocate(layers, logBudget: .infinity)
        XCTAssertEqual(r.levels, [2, 3])
        XCTAssertEqual(r.cost, 9)
    }

    /// Clipping by SVD gives σ_max = level, leaves smaller values alone, and the change has
    /// Frobenius norm sqrt(Σ(σ_i − c)_+²) (Eckart–Young–Mirsky).
    func testSVDClip() throws {
        var rng = Rng(s: 7)
        let a = Matrix(rows: 7, cols: 5, storage: (0..<35).map { _ in rng.normal() })
        let before = try SVD.singularValues(a, method: .gesdd).values
        let level = before[1] * 0.9
        let c = try SVD.clipped(a, at: level)
        let after = try SVD.singularValues(c, method: .gesdd).values
        for (x, y) in zip(before, after) { XCTAssertEqual(y, min(x, level), accuracy: 1e-12 * before[0]) }
        let diff = zip(a.storage, c.storage).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        XCTAssertEqual(diff, ClipAllocation.cost(before, at: level), accuracy: 1e-12 * diff)
        XCTAssertEqual(try SVD.clipped(a, at: before[0] * 2), a)
    }

    /// Round to nearest even in one step from Float64 (no double rounding through f32).
    func testDTypeRounding() throws {
        // 1 + 2^-11 is a binary16 tie: to even (1). 1 + 3·2^-11 → 1 + 2^-9.
        XCTAssertEqual(try ElementEncoding.round(1 + 0x1p-11, to: .float16), 1)
        XCTAssertEqual(try ElementEncoding.round(1 + 3 * 0x1p-11, to: .float16), 1 + 0x1p-9)
        // Just above a bf16 tie: rounds up, although rounding to f32 first would land on the tie.
        let x = 1 + 0x1p-8 + 0x1p-40
        XCTAssertEqual(try ElementEncoding.round(x, to: .bfloat16), 1 + 0x1p-7)
        // Subnormal half.
        XCTAssertEqual(try ElementEncoding.round(3.1 * 0x1p-24, to: .float16), 3 * 0x1p-24)
        XCTAssertThrowsError(try ElementEncoding.round(70000, to: .float16))
        // Encoded bytes decode to the rounded values.
        let values = [0.1, -2.5, 1e-6, 65504, 1 + 0x1p-8 + 0x1p-40]
        for dtype in [DType.float16, .bfloat16, .float32, .float64] {
            for order in [ByteOrder.little, .big] {
                let bytes = try ElementEncoding.encode(values, shape: [5], dtype: dtype, byteOrder: order)
                XCTAssertEqual(bytes.count, 5 * dtype.byteSize)
                var decoded = [Double](repeating: 0, count: 5)
                bytes.withUnsafeBytes { raw in
                    decoded.withUnsafeMutableBufferPointer { ElementDecoding.decode(raw, dtype: dtype, byteOrder: order, into: $0) }
                }
                XCTAssertEqual(decoded, try values.map { try ElementEncoding.round($0, to: dtype) }, "\(dtype) \(order)")
            }
        }
        XCTAssertEqual(try ElementEncoding.round(0.1, to: .float32), Double(Float(0.1)))
        XCTAssertEqual(ElementEncoding.cToFortran([1, 2, 3, 4, 5, 6], shape: [2, 3]), [1, 4, 2, 5, 3, 6])
    }
}
