import XCTest
import LinearAlgebra
@testable import SpectralModel

/// `ForwardModel.parameterGradient(_:seed:into:)` (ForwardModel+GradientInPlace) is the reverse
/// pass of `backward` with `parameterGradient` written into a reused tangent: on the synthetic
/// network of `ForwardSyntheticTests` (conv, BatchNorm, pooling, smooth activations, PReLU, add,
/// concat, dense) its blocks equal `backward`'s flat gradient bit for bit, a second call on the
/// same tangent overwrites (does not accumulate), its JVP equals the JVP of `prepareTangent` of
/// the flat gradient bit for bit, `add` sums as the flat vectors do, and `values` is the flat vector.
final class GradientInPlaceTests: XCTestCase {
    func testInPlaceGradientEqualsBackwardBitForBit() throws {
        let m = try ForwardSyntheticTests.network()
        var rng = SplitMix64(seed: 77)
        let n = 3
        let x = (0..<(n * m.inputDimension)).map { _ in rng.nextSigned() }
        let tape = m.forward(x, count: n)
        let seeds = (0..<2).map { _ in (0..<(n * m.outputCount)).map { _ in rng.nextSigned() } }
        let flat = seeds.map {
            m.backward(tape, seed: $0, request: BackwardRequest(parameterGradient: true, inputCotangent: false)).parameterGradient!
        }
        var t = m.zeroTangent()
        XCTAssertEqual(t.values, [Double](repeating: 0, count: m.parameterCount))
        for (seed, g) in zip(seeds, flat) {
            m.parameterGradient(tape, seed: seed, into: &t)
            XCTAssertEqual(t.values, g, "blocks equal backward's flat gradient bit for bit (and a reused tangent is overwritten)")
            XCTAssertEqual(m.jvp(tape, inputTangent: nil, parameterTangent: t).last!,
                           m.jvp(tape, inputTangent: nil, parameterTangent: m.prepareTangent(g)).last!)
        }
        XCTAssertGreaterThan(flat[1].map(Swift.abs).max()!, 0, "the check is not vacuous")
        var u = m.zeroTangent()
        m.parameterGradient(tape, seed: seeds[0], into: &u)
        m.add(t, into: &u)
        XCTAssertEqual(u.values, zip(flat[0], flat[1]).map { $0 + $1 })
    }
}
