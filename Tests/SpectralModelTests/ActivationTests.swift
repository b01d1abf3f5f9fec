import Foundation
import XCTest
@testable import SpectralModel

final class ActivationTests: XCTestCase {
    /// The tabulated Lipschitz constants must be sound: ≥ the largest |φ'| found on a fine grid
    /// (central differences, step 1e-5, grid spacing 1e-4 over [-10, 10]), and tight to 1e-5.
    func testSmoothActivationConstantsBoundTheDerivative() {
        func gelu(_ x: Double) -> Double { 0.5 * x * (1 + erf(x / 2.0.squareRoot())) }
        func silu(_ x: Double) -> Double { x / (1 + exp(-x)) }
        func mish(_ x: Double) -> Double { x * Foundation.tanh(log1p(exp(x))) }
        let cases: [(Activation, (Double) -> Double)] = [(.gelu, gelu), (.silu, silu), (.mish, mish)]
        for (act, f) in cases {
            var maxSlope = 0.0
            var x = -10.0
            while x <= 10 {
                let h = 1e-5
                maxSlope = max(maxSlope, abs((f(x + h) - f(x - h)) / (2 * h)))
                x += 1e-4
            }
            XCTAssertGreaterThanOrEqual(act.lipschitz, maxSlope, "\(act)")
            XCTAssertLessThan(act.lipschitz - maxSlope, 1e-5, "\(act)")
        }
    }

    func testPiecewiseConstants() {
        XCTAssertEqual(Activation.relu.lipschitz, 1)
        XCTAssertEqual(Activation.sigmoid.lipschitz, 0.25)
        XCTAssertEqual(Activation.leakyRelu(alpha: 0.3).lipschitz, 1)
        XCTAssertEqual(Activation.leakyRelu(alpha: 2).lipschitz, 2)
        XCTAssertEqual(Activation.prelu(maxAbsAlpha: 1.7).lipschitz, 1.7)
        XCTAssertEqual(Activation.elu(alpha: 1.5).lipschitz, 1.5)
        XCTAssertEqual(Activation.hardSigmoid(slope: 0.2).lipschitz, 0.2)
    }
}
