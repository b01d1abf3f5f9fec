import Foundation
@testable import SpectralModel
import XCTest

/// Identities every new transformer op must satisfy (SPEC §5, DESIGN "operator registry"), on
/// random inputs in float64: JVP equals central finite differences of the forward pass; the VJP is
/// the adjoint of the JVP (`⟨u, J v⟩ = ⟨Jᵀu, v⟩`, also with k > 1 cotangent rows per sample); the
/// second-order rule equals central differences of the VJP along the tangent (plus the VJP of
/// `R{ȳ}`); parameter rows are the adjoint of the parameter JVP.
final class TransformerOpsTests: XCTestCase {
    struct Rng {
        var s: UInt64
        mutating func next() -> Double {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Double((s >> 11) % 1_000_000) / 500_000 - 1
        }
        mutating func vec(_ n: Int) -> [Double] { (0..<n).map { _ in next() } }
    }

    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    func ctx(_ op: any DifferentiableOp, _ x: [[Double]], _ sizes: [Int], n: Int, theta: [Double]) -> OpContext {
        let base = OpContext(n: n, inputs: x, inputSizes: sizes, outputSize: op.outputShape.reduce(1, *), theta: theta, saved: .none)
        let saved = op.forward(base).saved
        return OpContext(n: n, inputs: x, inputSizes: sizes, outputSize: base.outputSize, theta: theta, saved: saved)
    }

    func check(_ op: any DifferentiableOp, sizes: [Int], n: Int = 2, theta: [Double] = [], scale: Double = 1,
               file: StaticString = #filePath, line: UInt = #line) {
        var rng = Rng(s: 42)
        let x = sizes.map { rng.vec(n * $0).map { $0 * scale } }
        let dx = sizes.map { rng.vec(n * $0) }
        let c = ctx(op, x, sizes, n: n, theta: theta)
        let m = c.outputSize
        // JVP vs central differences.
        let h = 1e-5
        let jv = op.jvp(dx, dtheta: nil, ctx: c)!
        let plus = op.forward(ctx(op, zip(x, dx).map { a, d in zip(a, d).map { $0 + h * $1 } }, sizes, n: n, theta: theta)).output
        let minus = op.forward(ctx(op, zip(x, dx).map { a, d in zip(a, d).map { $0 - h * $1 } }, sizes, n: n, theta: theta)).output
        let fd = zip(plus, minus).map { ($0 - $1) / (2 * h) }
        let scaleJ = jv.map(abs).max()!
        for e in 0..<jv.count { XCTAssertEqual(jv[e], fd[e], accuracy: 1e-6 * max(1, scaleJ), "\(op.name) JVP[\(e)]", file: file, line: line) }
        // VJP adjoint, with k = 2 rows per sample.
        let k = 2
        let u = rng.vec(n * k * m)
        var gx = sizes.map { [Double](repeating: 0, count: n * k * $0) }
        op.vjp(u, rows: n * k, rowsPerSample: k, ctx: c, into: &gx)
        for q in 0..<k {
            var uq = [Double](repeating: 0, count: n * m)
            for s in 0..<n { for e in 0..<m { uq[s * m + e] = u[(s * k + q) * m + e] } }
            var lhs = dot(uq, jv), rhs = 0.0
            lhs += 0
            for i in sizes.indices {
                for s in 0..<n { for e in 0..<sizes[i] { rhs += gx[i][(s * k + q) * sizes[i] + e] * dx[i][s * sizes[i] + e] } }
            }
            XCTAssertEqual(lhs, rhs, accuracy: 1e-10 * max(1, abs(lhs)), "\(op.name) adjoint row \(q)", file: file, line: line)
        }
        // Second order: R{Jᵀȳ} = d/dt Jᵀ(x + t ẋ) ȳ + Jᵀ R{ȳ}.
        let gy = rng.vec(n * m), rgy = rng.vec(n * m)
        var g0 = sizes.map { [Double](repeating: 0, count: n * $0) }, r0 = g0
        var hv = [Double](repeating: 0, count: max(1, theta.count))
        op.secondOrder(SecondOrderInput(gy: gy, rgy: rgy, dx: dx, dtheta: nil), ctx: c, gx: &g0, rgx: &r0, hv: &hv)
        func vjpAt(_ t: Double, _ cot: [Double]) -> [[Double]] {
            let ct = ctx(op, zip(x, dx).map { a, d in zip(a, d).map { $0 + t * $1 } }, sizes, n: n, theta: theta)
            var out = sizes.map { [Double](repeating: 0, count: n * $0) }
            op.vjp(cot, rows: n, rowsPerSample: 1, ctx: ct, into: &out)
            return out
        }
        let vp = vjpAt(h, gy), vm = vjpAt(-h, gy), v0 = vjpAt(0, gy), vr = vjpAt(0, rgy)
        for i in sizes.indices {
            let sc = r0[i].map(abs).max()!
            for e in 0..<r0[i].count {
                XCTAssertEqual(g0[i][e], v0[i][e], accuracy: 1e-12 * max(1, abs(v0[i][e])), "\(op.name) second-order gx", file: file, line: line)
                let want = (vp[i][e] - vm[i][e]) / (2 * h) + vr[i][e]
                XCTAssertEqual(r0[i][e], want, accuracy: 1e-6 * max(1, sc), "\(op.name) R{gx}[\(i)][\(e)]", file: file, line: line)
            }
        }
    }

    func testAttentionCausalMaskedGroupedQuery() {
        let n = 5, H = 4, Hkv = 2, dh = 3
        let op = AttentionOp(name: "attn", sequenceLength: n, heads: H, keyValueHeads: Hkv, headDim: dh, causal: true,
                             keyMask: [true, true, false, true, true])
        check(op, sizes: [n * H * dh, n * Hkv * dh, n * Hkv * dh], scale: 1.5)
        let bidir = AttentionOp(name: "attn_bidir", sequenceLength: n, heads: 2, keyValueHeads: 2, headDim: 4, causal: false)
        check(bidir, sizes: [n * 8, n * 8, n * 8], scale: 1.5)
    }

    /// Softmax rows sum to one over the allowed keys and are exactly zero elsewhere.
    func testAttentionProbabilitiesRespectMasks() {
        let n = 4
        let op = AttentionOp(name: "a", sequenceLength: n, heads: 1, keyValueHeads: 1, headDim: 2, causal: true,
                             keyMask: [true, false, true, true])
        var rng = Rng(s: 3)
        let p = op.probabilities(rng.vec(n * 2), rng.vec(n * 2), samples: 1, allowed: [op.allowedRanges])
        for i in 0..<n {
            let row = Array(p[(i * n)..<((i + 1) * n)])
            XCTAssertEqual(row.reduce(0, +), 1, accuracy: 1e-15)
            for k in 0..<n where k > i || k == 1 { XCTAssertEqual(row[k], 0) }
        }
    }

    func testRotaryIsOrthogonalAndMatchesRotateHalf() {
        let op = RotaryOp(name: "rot", sequenceLength: 3, heads: 2, headDim: 4, theta: 10000)
        check(op, sizes: [3 * 8])
        // Position 2, head 0: y_i = x_i cos(2ω_i) − x_{i+2} sin(2ω_i), ω = (1, 10000^(−1/2)).
        var x = [Double](repeating: 0, count: 24)
        for e in 0..<24 { x[e] = Double(e) * 0.1 }
        let y = op.forward(OpContext(n: 1, inputs: [x], inputSizes: [24], outputSize: 24, theta: [], saved: .none)).output
        let b = 2 * 8, w1 = 1.0 / 100.0
        XCTAssertEqual(y[b + 0], x[b] * cos(2.0) - x[b + 2] * sin(2.0), accuracy: 1e-15)
        XCTAssertEqual(y[b + 3], x[b + 3] * cos(2 * w1) + x[b + 1] * sin(2 * w1), accuracy: 1e-15)
        XCTAssertEqual(dot(y, y), dot(x, x), accuracy: 1e-12)
    }

    func testMultiplyAndGeluTanhAndRMSNorm() {
        check(MulOp(name: "mul", outputShape: [3, 4]), sizes: [12, 12])
        let gelu = ActivationOp(name: "g", activation: .named("gelu_tanh", lipschitz: 1.128994),
                                phi: ScalarActivation(.named("gelu_tanh", lipschitz: 1.128994))!, outputShape: [10])
        check(gelu, sizes: [10], scale: 3)
        let rms = LayerNormOp(name: "rms", outputShape: [3, 5], epsilon: 1e-6, hasGamma: true, hasBeta: false, maxAbsGamma: 1.3, rms: true)
        var rng = Rng(s: 9)
        check(rms, sizes: [15], theta: rng.vec(5))
    }

    /// gelu_tanh against its closed form and sup|φ'| ≤ 1.128994 on a fine grid.
    func testGeluTanhValuesAndLipschitz() {
        let phi = ScalarActivation(.named("gelu_tanh", lipschitz: 1.128994))!
        XCTAssertEqual(phi.value(1), 0.8411919906082768, accuracy: 1e-15)
        var best = 0.0
        for i in -8000...8000 { best = max(best, abs(phi.d1(Double(i) / 1000))) }
        XCTAssertLessThanOrEqual(best, 1.128994)
        XCTAssertGreaterThan(best, 1.12899)
    }

    func testPositionEmbeddingParameterRowsAreTheAdjointOfItsJVP() {
        let op = PositionEmbeddingOp(name: "pos", outputShape: [3, 4], hasPositions: true, hasTokenType: true)
        var rng = Rng(s: 5)
        let theta = rng.vec(16)
        check(op, sizes: [12], theta: theta)
        let x = rng.vec(24), c = ctx(op, [x], [12], n: 2, theta: theta)
        let dt = rng.vec(16), u = rng.vec(24)
        let jv = op.jvp([nil], dtheta: dt, ctx: c)!
        var rows = [Double](repeating: 0, count: 32)
        u.withUnsafeBufferPointer { up in
            rows.withUnsafeMutableBufferPointer { rp in
                for s in 0..<2 { op.parameterRows(up.baseAddress! + s * 12, sample: s, rows: 1, ctx: c, into: rp.baseAddress! + s * 16) }
            }
        }
        let rhs = (0..<16).reduce(0.0) { $0 + (rows[$1] + rows[16 + $1]) * dt[$1] }
        XCTAssertEqual(dot(u, jv), rhs, accuracy: 1e-12)
    }
}
