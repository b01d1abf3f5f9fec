import XCTest
@testable import SpectralModel

/// Issue 19: `RecurrentOp`'s passes agree with each other on random cells of every kind
/// (LSTM with and without projection, GRU reset after/before, tanh and relu RNNs,
/// bidirectional, sequence and final-state outputs). Adjoint identities
/// `⟨ȳ, J_x ẋ⟩ = ⟨J_xᵀ ȳ, ẋ⟩`, `⟨ȳ, J_θ θ̇⟩ = ⟨J_θᵀ ȳ, θ̇⟩` (JVP against VJP and parameter rows),
/// and the R-operator against the JVP of the VJP's input by symmetry of the Hessian of
/// `⟨w, f(x; θ)⟩`: `⟨u, H v⟩ = ⟨v, H u⟩` over (x, θ) jointly. Tolerance 1e-10 relative (pure
/// float64 rounding). Values against torch: Tests/AuditTests/RecurrentDataTests.swift.
final class RecurrentOpTests: XCTestCase {
    struct Rand {
        var s: UInt64
        mutating func next() -> Double {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            return Double(s >> 11) / Double(1 << 53) * 2 - 1
        }
        mutating func vec(_ n: Int, _ scale: Double = 1) -> [Double] { (0..<n).map { _ in next() * scale } }
    }

    static func specs() -> [RecurrentLayerSpec] {
        var out: [RecurrentLayerSpec] = []
        var a = RecurrentLayerSpec(cell: .lstm, features: 3, hidden: 4, directions: 2)
        out.append(a)
        a = RecurrentLayerSpec(cell: .lstm, features: 3, hidden: 5, projection: 2)
        a.finalState = true
        out.append(a)
        var g = RecurrentLayerSpec(cell: .gru, features: 3, hidden: 4, directions: 2)
        out.append(g)
        g.resetAfter = false
        g.finalState = true
        g.recurrentBias = false
        out.append(g)
        var r = RecurrentLayerSpec(cell: .rnnTanh, features: 2, hidden: 3)
        r.reverseOnly = true
        out.append(r)
        r = RecurrentLayerSpec(cell: .rnnRelu, features: 2, hidden: 3)
        out.append(r)
        return out
    }

    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }

    func testPassesAreConsistent() throws {
        var rng = Rand(s: 19)
        for spec in Self.specs() {
            let T = 4, n = 2
            let op = RecurrentOp(name: "r", spec: spec, steps: T, flatOutput: true)
            let P = op.parameterCount, d = T * spec.features, C = op.outputShape.reduce(1, *)
            XCTAssertEqual(P, spec.directions * spec.perDirection)
            let theta = rng.vec(P, 0.6), x = rng.vec(n * d)
            let ctx = OpContext(n: n, inputs: [x], inputSizes: [d], outputSize: C, theta: theta, saved: .none)
            let gy = rng.vec(n * C), dx = rng.vec(n * d), dt = rng.vec(P)
            // Input adjoint.
            var gx = [[Double](repeating: 0, count: n * d)]
            op.vjp(gy, rows: n, rowsPerSample: 1, ctx: ctx, into: &gx)
            let jx = try XCTUnwrap(op.jvp([dx], dtheta: nil, ctx: ctx))
            XCTAssertEqual(dot(gy, jx), dot(gx[0], dx), accuracy: 1e-10 * max(1, abs(dot(gy, jx))), "\(spec)")
            // Parameter adjoint: Σ_s rows.
            var gt = [Double](repeating: 0, count: P)
            gt.withUnsafeMutableBufferPointer { op.accumulateParameterGradient(gy, ctx: ctx, into: $0.baseAddress!) }
            let jt = try XCTUnwrap(op.jvp([nil], dtheta: dt, ctx: ctx))
            XCTAssertEqual(dot(gy, jt), dot(gt, dt), accuracy: 1e-10 * max(1, abs(dot(gy, jt))), "\(spec)")
            // Second order: H of ⟨gy, f⟩ over (x, θ) is symmetric; the R-operator gives H·(ẋ, θ̇)
            // with rgy = 0.
            func hvp(_ vx: [Double], _ vt: [Double]) -> ([Double], [Double]) {
                var g = [[Double](repeating: 0, count: n * d)], rg = g
                var hv = [Double](repeating: 0, count: P)
                hv.withUnsafeMutableBufferPointer {
                    op.secondOrder(SecondOrderInput(gy: gy, rgy: [Double](repeating: 0, count: n * C), dx: [vx], dtheta: vt),
                                   ctx: ctx, gx: &g, rgx: &rg, hv: $0.baseAddress!)
                }
                for e in 0..<(n * d) { XCTAssertEqual(g[0][e], gx[0][e], accuracy: 1e-12 * max(1, abs(gx[0][e]))) }
                return (rg[0], hv)
            }
            let ux = rng.vec(n * d), ut = rng.vec(P)
            let (hvx, hvt) = hvp(dx, dt), (hux, hut) = hvp(ux, ut)
            let a = dot(ux, hvx) + dot(ut, hvt), b = dot(dx, hux) + dot(dt, hut)
            XCTAssertEqual(a, b, accuracy: 1e-10 * max(1, abs(a)), "\(spec)")
            XCTAssertGreaterThan(abs(a), 1e-6, "a Hessian that is zero tests nothing")
        }
    }
}
