@testable import SpectralModel
import XCTest

/// The per-sample channels (`SampleChannels`) on the two position-aware ops: with each sample's own
/// position rows (a row shared by two positions of one sample and across samples) and read
/// positions, the VJP is the adjoint of the JVP (k = 2 cotangent rows per sample), the parameter
/// rows are the adjoint of the parameter JVP, and the forward uses each sample's own rows.
final class SampleChannelOpsTests: XCTestCase {
    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    func vec(_ n: Int, _ seed: Int) -> [Double] { (0..<n).map { sin(Double($0 * 7 + seed) * 1.3) } }

    func context(_ n: Int, x: [Double], size: Int, out: Int, theta: [Double], channels: SampleChannels) -> OpContext {
        var c = OpContext(n: n, inputs: [x], inputSizes: [size], outputSize: out, theta: theta, saved: .none)
        c.channels = channels
        return c
    }

    func testPositionEmbeddingWithPerSampleRows() {
        // n = 3 positions, d = 2, a table of 4 rows; sample 0 rows 0,1,2, sample 1 rows 3,0,0.
        let op = PositionEmbeddingOp(name: "pos", outputShape: [3, 2], hasPositions: true, hasTokenType: true,
                                     tableRows: 4, defaultRows: [0, 1, 2])
        XCTAssertEqual(op.parameterCount, 4 * 2 + 2)
        let ch = SampleChannels(positionRows: [[0, 1, 2], [3, 0, 0]])
        let x = vec(12, 1), theta = vec(10, 2)
        let c = context(2, x: x, size: 6, out: 6, theta: theta, channels: ch)
        let y = op.forward(c).output
        for (s, rows) in [[0, 1, 2], [3, 0, 0]].enumerated() {
            for t in 0..<3 { for k in 0..<2 {
                XCTAssertEqual(y[s * 6 + t * 2 + k], x[s * 6 + t * 2 + k] + theta[rows[t] * 2 + k] + theta[8 + k], accuracy: 1e-15)
            } }
        }
        // Parameter rows are the adjoint of the parameter JVP, per sample.
        let dtheta = vec(10, 3), gy = vec(12, 4)
        let jv = op.jvp([nil], dtheta: dtheta, ctx: c)!
        var rows = [Double](repeating: 0, count: 2 * 10)
        gy.withUnsafeBufferPointer { g in
            rows.withUnsafeMutableBufferPointer { r in
                for s in 0..<2 { op.parameterRows(g.baseAddress! + s * 6, sample: s, rows: 1, ctx: c, into: r.baseAddress! + s * 10) }
            }
        }
        let lhs = dot(gy, jv), rhs = dot(Array(rows[0..<10]), dtheta) + dot(Array(rows[10..<20]), dtheta)
        XCTAssertEqual(lhs, rhs, accuracy: 1e-12)
        // Without the channel: the op's own rows.
        let plain = op.forward(context(1, x: Array(x[0..<6]), size: 6, out: 6, theta: theta, channels: .none)).output
        XCTAssertEqual(plain, Array(y[0..<6]))
    }

    func testSelectTokenWithPerSampleReadPositions() {
        let op = SelectTokenOp(name: "sel", length: 4, width: 3, position: 0)
        let ch = SampleChannels(readPositions: [2, 3])
        let x = vec(24, 5)
        let c = context(2, x: x, size: 12, out: 3, theta: [], channels: ch)
        let y = op.forward(c).output
        XCTAssertEqual(y, Array(x[6..<9]) + Array(x[21..<24]))
        // VJP adjoint of the JVP with k = 2 rows per sample.
        let dx = vec(24, 6), jv = op.jvp([dx], dtheta: nil, ctx: c)!
        let u = vec(2 * 2 * 3, 7)
        var gx = [[Double](repeating: 0, count: 2 * 2 * 12)]
        op.vjp(u, rows: 4, rowsPerSample: 2, ctx: c, into: &gx)
        for q in 0..<2 {
            var lhs = 0.0, rhs = 0.0
            for s in 0..<2 {
                for e in 0..<3 { lhs += u[(s * 2 + q) * 3 + e] * jv[s * 3 + e] }
                for e in 0..<12 { rhs += gx[0][(s * 2 + q) * 12 + e] * dx[s * 12 + e] }
            }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-12)
        }
        XCTAssertEqual(op.forward(context(1, x: Array(x[0..<12]), size: 12, out: 3, theta: [], channels: .none)).output, Array(x[0..<3]))
    }

    func testSliceAndReplicate() {
        let ch = SampleChannels(positionRows: [[0], [1], [2]], readPositions: [4, 5, 6])
        XCTAssertEqual(ch.slice(1..<3), SampleChannels(positionRows: [[1], [2]], readPositions: [5, 6]))
        XCTAssertEqual(ch.replicating(sample: 2, count: 2), SampleChannels(positionRows: [[2], [2]], readPositions: [6, 6]))
        XCTAssertEqual(SampleChannels.none.slice(0..<2), .none)
    }
}
