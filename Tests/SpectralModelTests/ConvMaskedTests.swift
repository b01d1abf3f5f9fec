import XCTest
import LinearAlgebra
@testable import SpectralModel

/// The per-sample masked conv products (`ConvGeometry+Masked.swift`, used when a sample has
/// k ≥ 16 cotangent rows sharing one zero pattern) against the dense im2col products they
/// replace, and the kept-columns products (`ConvGeometry+Columns.swift`) against the blocked
/// ones: 1-D and 2-D, strides, dilation, same/valid/causal/circular/explicit padding, groups.
/// Equal up to the order of float64 sums: tolerance 1e-12 relative to the largest entry.
final class ConvMaskedTests: XCTestCase {
    struct Case {
        var spatial: [Int], kernel: [Int], strides: [Int], dilation: [Int], padding: String, pads: [Int]?
        var cin: Int, cout: Int, groups: Int
    }

    static let cases: [Case] = [
        Case(spatial: [64], kernel: [17], strides: [4], dilation: [1], padding: "same", pads: nil, cin: 1, cout: 8, groups: 1),
        Case(spatial: [20], kernel: [5], strides: [1], dilation: [2], padding: "same", pads: nil, cin: 4, cout: 6, groups: 2),
        Case(spatial: [7, 6], kernel: [3, 2], strides: [2, 1], dilation: [1, 1], padding: "valid", pads: nil, cin: 3, cout: 4, groups: 1),
        Case(spatial: [6, 5], kernel: [3, 3], strides: [1, 1], dilation: [1, 1], padding: "explicit", pads: [1, 0, 2, 1], cin: 2, cout: 5, groups: 1),
        Case(spatial: [9], kernel: [4], strides: [1], dilation: [1], padding: "causal", pads: nil, cin: 3, cout: 3, groups: 3),
        Case(spatial: [5], kernel: [7], strides: [1], dilation: [1], padding: "circular", pads: nil, cin: 2, cout: 3, groups: 1),
    ]

    struct Rng {
        var state: UInt64
        mutating func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        }
    }

    func geometry(_ c: Case) throws -> ConvGeometry {
        try ConvGeometry(inSpatial: c.spatial, kernel: c.kernel, strides: c.strides, dilation: c.dilation, padding: c.padding,
                         pads: c.pads, cin: c.cin, cout: c.cout, groups: c.groups, layer: "t")
    }

    /// n samples × k rows; per sample a random set of ~70 % of the output coordinates is zero in
    /// every row (a ReLU/max-pool pattern), the rest random.
    func cotangents(_ g: ConvGeometry, n: Int, k: Int, rng: inout Rng) -> [Double] {
        var gy = [Double](repeating: 0, count: n * k * g.outSize)
        for s in 0..<n {
            let on = (0..<g.outSize).map { _ in rng.next() > 0.4 }
            for q in 0..<k { for e in 0..<g.outSize where on[e] { gy[(s * k + q) * g.outSize + e] = rng.next() } }
        }
        return gy
    }

    func assertClose(_ a: [Double], _ b: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = Swift.max(a.map(abs).max() ?? 0, 1e-300)
        let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(diff, 1e-12 * scale, "\(what): max |Δ| \(diff) at scale \(scale)", file: file, line: line)
        XCTAssertGreaterThan(scale, 1e-6, "\(what): a product of zeros tests nothing", file: file, line: line)
    }

    func testMaskedInputVJPEqualsTheIm2colTranspose() throws {
        var rng = Rng(state: 17)
        for c in Self.cases {
            let g = try geometry(c), n = 3, k = 20
            let w = (0..<(c.cout * g.cig * g.taps)).map { _ in rng.next() }
            let gy = cotangents(g, n: n, k: k, rng: &rng)
            var dense = [Double](repeating: 0, count: n * k * g.inSize)
            w.withUnsafeBufferPointer { g.transpose(gy, rows: n * k, weights: $0.baseAddress!, into: &dense) }
            var masked = [Double](repeating: 0, count: n * k * g.inSize)
            w.withUnsafeBufferPointer { wp in
                gy.withUnsafeBufferPointer { yp in
                    masked.withUnsafeMutableBufferPointer { xp in
                        for s in 0..<n {
                            let ys = yp.baseAddress! + s * k * g.outSize
                            let active = g.activeOutputs(ys, rows: k)
                            XCTAssertLessThan(active.count, g.outSize, "the mask leaves some outputs out")
                            g.maskedTranspose(ys, rows: k, active: active, weights: wp.baseAddress!,
                                              into: xp.baseAddress! + s * k * g.inSize)
                        }
                    }
                }
            }
            assertClose(dense, masked, "VJP \(c.spatial) k\(c.kernel) s\(c.strides) \(c.padding) g\(c.groups)")
        }
    }

    func testMaskedWeightGramEqualsTheGramOfTheParameterRows() throws {
        var rng = Rng(state: 29)
        for c in Self.cases where c.groups == 1 {
            let g = try geometry(c), k = 18, P = g.outPositions, kw = g.cig * g.taps
            let x = (0..<g.inSize).map { _ in rng.next() }
            let gy = cotangents(g, n: 1, k: k, rng: &rng)
            var cols = [Double](repeating: 0, count: P * g.colWidth)
            x.withUnsafeBufferPointer { xp in cols.withUnsafeMutableBufferPointer { g.im2col(xp.baseAddress!, rows: 0, 1, into: $0.baseAddress!) } }
            // Reference: the k parameter rows (weight part), then their Gram.
            var rows = [Double](repeating: 0, count: k * g.cout * kw)
            gy.withUnsafeBufferPointer { yp in
                cols.withUnsafeBufferPointer { cp in
                    rows.withUnsafeMutableBufferPointer {
                        g.weightRows(yp.baseAddress!, rows: k, cols: cp.baseAddress!, into: $0.baseAddress!, rowStride: g.cout * kw)
                    }
                }
            }
            var reference = [Double](repeating: 0, count: k * k)
            for a in 0..<k { for b in 0..<k {
                var s = 0.0
                for e in 0..<(g.cout * kw) { s += rows[a * g.cout * kw + e] * rows[b * g.cout * kw + e] }
                reference[a * k + b] = s
            } }
            let positions = BLAS.product(cols, cols, transB: true, m: P, n: P, k: g.colWidth)
            var gram = [Double](repeating: 0, count: k * k)
            gy.withUnsafeBufferPointer { yp in
                positions.withUnsafeBufferPointer { pp in
                    gram.withUnsafeMutableBufferPointer {
                        g.maskedWeightGram(yp.baseAddress!, rows: k, active: g.activeOutputs(yp.baseAddress!, rows: k),
                                           positions: pp.baseAddress!, into: $0.baseAddress!)
                    }
                }
            }
            assertClose(reference, gram, "Gram \(c.spatial) k\(c.kernel) s\(c.strides) \(c.padding)")
        }
    }

    func testKeptColumnsGiveTheBlockedProducts() throws {
        var rng = Rng(state: 41)
        for c in Self.cases {
            let g = try geometry(c), n = 4
            XCTAssertTrue(g.keepsColumns(rows: n))
            let w = (0..<(c.cout * g.cig * g.taps)).map { _ in rng.next() }
            let x = (0..<(n * g.inSize)).map { _ in rng.next() }
            let gy = (0..<(n * g.outSize)).map { _ in rng.next() }
            let cols = g.columns(x, rows: n)
            var y1 = [Double](repeating: 0, count: n * g.outSize), y2 = y1
            w.withUnsafeBufferPointer {
                g.forward(x, rows: n, weights: $0.baseAddress!, into: &y1)
                g.forward(columns: cols, rows: n, weights: $0.baseAddress!, into: &y2)
            }
            assertClose(y1, y2, "forward \(c.spatial) \(c.padding)")
            var gw1 = [Double](repeating: 0, count: w.count), gw2 = gw1
            gw1.withUnsafeMutableBufferPointer { g.weightGradient(gy, x, rows: n, into: $0.baseAddress!) }
            gw2.withUnsafeMutableBufferPointer { g.weightGradient(gy, columns: cols, rows: n, into: $0.baseAddress!) }
            assertClose(gw1, gw2, "weight gradient \(c.spatial) \(c.padding)")
        }
    }
}
