@testable import Audit
import LinearAlgebra
import XCTest

/// The average-pooling factor of the network bound is a bound for every input size: compared
/// with the exact spectral norm (LAPACK) of the explicit pooling matrix, 1-D and 2-D, valid and
/// Keras `same` padding (border windows divide by their valid cells).
final class PoolingBoundTests: XCTestCase {
    /// One axis: the windows as index lists (Keras/TensorFlow `same`: out = ceil(n/s), total
    /// padding max((out−1)s + p − n, 0), floor of half before; `valid`: out = floor((n−p)/s)+1).
    func windows(n: Int, p: Int, s: Int, same: Bool) -> [[Int]] {
        if same {
            let out = (n + s - 1) / s
            let total = max((out - 1) * s + p - n, 0)
            let before = total / 2
            return (0..<out).map { o in (0..<p).map { o * s - before + $0 }.filter { $0 >= 0 && $0 < n } }
        }
        guard n >= p else { return [] }
        return (0..<((n - p) / s + 1)).map { o in (0..<p).map { o * s + $0 } }
    }

    /// Exact ‖P‖₂ of average pooling over the product of per-axis windows.
    func exactNorm(sizes: [Int], pool: [Int], strides: [Int], same: Bool) throws -> Double? {
        let axes = zip(zip(sizes, pool), strides).map { windows(n: $0.0.0, p: $0.0.1, s: $0.1, same: same) }
        guard axes.allSatisfy({ !$0.isEmpty }) else { return nil }
        let inputs = sizes.reduce(1, *)
        var rows: [[Double]] = []
        func index(_ coords: [Int]) -> Int { coords.enumerated().reduce(0) { $0 * sizes[$1.offset] + $1.element } }
        func product(_ lists: [[Int]]) -> [[Int]] {
            lists.reduce([[]]) { acc, list in acc.flatMap { prefix in list.map { prefix + [$0] } } }
        }
        for combo in product(axes.map { Array($0.indices) }) {
            let cells = product(combo.enumerated().map { axes[$0.offset][$0.element] })
            var row = [Double](repeating: 0, count: inputs)
            for c in cells { row[index(c)] += 1 / Double(cells.count) }
            rows.append(row)
        }
        let m = Matrix(rows: rows.count, cols: inputs, storage: rows.flatMap { $0 })
        return try SVD.singularValues(m, method: .gesdd).values.first
    }

    func testBoundHoldsForEverySizeAndPadding() throws {
        var checked = 0, tightSame = 0.0
        for p in 1...4 {
            for s in 1...3 {
                for n in 1...9 {
                    for same in [false, true] {
                        guard let exact = try exactNorm(sizes: [n], pool: [p], strides: [s], same: same) else { continue }
                        let bound = NetworkBounds.poolingLipschitz(isMax: false, pool: [p], strides: [s], dividesByValidCells: same)
                        XCTAssertGreaterThanOrEqual(bound * (1 + 1e-12), exact, "1-D n \(n) pool \(p) stride \(s) same \(same)")
                        if same { tightSame = max(tightSame, exact / bound) }
                        checked += 1
                    }
                }
            }
        }
        for (n, p, s) in [(5, 2, 1), (6, 3, 2), (4, 2, 2), (7, 3, 1)] {
            for same in [false, true] {
                guard let exact = try exactNorm(sizes: [n, n + 1], pool: [p, p], strides: [s, s], same: same) else { continue }
                let bound = NetworkBounds.poolingLipschitz(isMax: false, pool: [p, p], strides: [s], dividesByValidCells: same)
                XCTAssertGreaterThanOrEqual(bound * (1 + 1e-12), exact, "2-D \(n)×\(n + 1) pool \(p) stride \(s) same \(same)")
                checked += 1
            }
        }
        XCTAssertGreaterThan(checked, 150)
        // The case the old K/p constant got wrong: pool 2, stride 1, same — the exact norm exceeds 1.
        let exact = try XCTUnwrap(try exactNorm(sizes: [6], pool: [2], strides: [1], same: true))
        XCTAssertGreaterThan(exact, 1.1)
        XCTAssertGreaterThan(exact, NetworkBounds.poolingLipschitz(isMax: false, pool: [2], strides: [1], dividesByValidCells: false))
        XCTAssertGreaterThan(tightSame, 0.5)
    }
}
