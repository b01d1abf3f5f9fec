import XCTest
@testable import SpectralModel

/// The output-side conv products (`ConvGeometry+OutputSide.swift`, chosen for ungrouped
/// convolutions that narrow the channels, as torchcrepe's conv2) against direct loops over the
/// tap table: forward, input VJP and weight gradient, 1-D and 2-D, strides, dilation,
/// same/valid/causal/circular/explicit padding. Equal up to the order of float64 sums: tolerance
/// 1e-12 relative to the largest entry.
final class ConvOutputSideTests: XCTestCase {
    typealias Case = ConvMaskedTests.Case

    static let cases: [Case] = [
        Case(spatial: [32], kernel: [9], strides: [1], dilation: [1], padding: "same", pads: nil, cin: 16, cout: 2, groups: 1),
        Case(spatial: [40], kernel: [5], strides: [2], dilation: [2], padding: "valid", pads: nil, cin: 24, cout: 3, groups: 1),
        Case(spatial: [9, 8], kernel: [3, 3], strides: [1, 1], dilation: [1, 1], padding: "explicit", pads: [1, 0, 2, 1], cin: 12, cout: 2, groups: 1),
        Case(spatial: [12], kernel: [4], strides: [1], dilation: [1], padding: "causal", pads: nil, cin: 10, cout: 2, groups: 1),
        Case(spatial: [6], kernel: [7], strides: [1], dilation: [1], padding: "circular", pads: nil, cin: 8, cout: 1, groups: 1),
    ]

    func geometry(_ c: Case) throws -> ConvGeometry {
        try ConvGeometry(inSpatial: c.spatial, kernel: c.kernel, strides: c.strides, dilation: c.dilation, padding: c.padding,
                         pads: c.pads, cin: c.cin, cout: c.cout, groups: c.groups, layer: "t")
    }

    func assertClose(_ a: [Double], _ b: [Double], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, what, file: file, line: line)
        let scale = Swift.max(a.map(abs).max() ?? 0, 1e-300)
        let diff = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(diff, 1e-12 * scale, "\(what): max |Δ| \(diff) at scale \(scale)", file: file, line: line)
        XCTAssertGreaterThan(scale, 1e-6, "\(what): a product of zeros tests nothing", file: file, line: line)
    }

    func testOutputSideProductsEqualDirectLoops() throws {
        var rng = ConvMaskedTests.Rng(state: 29)
        for c in Self.cases {
            let g = try geometry(c), n = 3, kw = c.cin * g.taps
            XCTAssertNotNil(g.outputSide, "\(c): the output side should be chosen")
            let x = (0..<(n * g.inSize)).map { _ in rng.next() }
            let w = (0..<(c.cout * kw)).map { _ in rng.next() }
            let gy = (0..<(n * g.outSize)).map { _ in rng.next() }
            // Direct loops: y[r, p, o] = Σ_{t, ch} x[r, src(p, t), ch] w[o, ch, t].
            var y0 = [Double](repeating: 0, count: n * g.outSize), gx0 = [Double](repeating: 0, count: n * g.inSize)
            var gw0 = [Double](repeating: 0, count: w.count)
            for r in 0..<n {
                for p in 0..<g.outPositions {
                    for t in 0..<g.taps {
                        let s = Int(g.src[p * g.taps + t])
                        if s < 0 { continue }
                        for o in 0..<c.cout {
                            for ch in 0..<c.cin {
                                let xi = r * g.inSize + s * c.cin + ch, wi = (o * c.cin + ch) * g.taps + t, yi = r * g.outSize + p * c.cout + o
                                y0[yi] += x[xi] * w[wi]
                                gx0[xi] += gy[yi] * w[wi]
                                gw0[wi] += gy[yi] * x[xi]
                            }
                        }
                    }
                }
            }
            var y = [Double](repeating: 0, count: n * g.outSize), gx = [Double](repeating: 0, count: n * g.inSize)
            var gw = [Double](repeating: 0, count: w.count)
            w.withUnsafeBufferPointer { wp in
                g.forward(x, rows: n, weights: wp.baseAddress!, into: &y)
                g.transpose(gy, rows: n, weights: wp.baseAddress!, into: &gx)
            }
            gw.withUnsafeMutableBufferPointer { g.weightGradient(gy, x, rows: n, into: $0.baseAddress!) }
            XCTAssertFalse(g.keepsColumns(rows: n), "no im2col is kept on the output side")
            assertClose(y, y0, "\(c) forward")
            assertClose(gx, gx0, "\(c) transpose")
            assertClose(gw, gw0, "\(c) weight gradient")
        }
    }

    /// Widening or grouped convolutions keep the im2col products.
    func testInputSideKeptWhereCheaper() throws {
        for c in ConvMaskedTests.cases { XCTAssertNil(try geometry(c).outputSide, "\(c)") }
    }
}
