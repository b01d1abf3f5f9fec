@testable import Audit
import AuditReport
import XCTest

/// The loss and loss-Hessian checks every transformer head test makes against torch float64:
/// loss to 1e-12, Hessian extremes to 1e-6 (relative), converged, and g_H = max |λ|.
func assertLabelsMatchTorch(_ data: TransformerDataV1, _ report: DataReport, loss: Double?, lambdaMax: Double?,
                            lambdaMin: Double?, _ name: String, file: StaticString = #filePath, line: UInt = #line) throws {
    let labels = try XCTUnwrap(data.output?.labels, name, file: file, line: line)
    let loss = try XCTUnwrap(loss, file: file, line: line)
    let lmax = try XCTUnwrap(lambdaMax, file: file, line: line), lmin = try XCTUnwrap(lambdaMin, file: file, line: line)
    XCTAssertEqual(labels.loss, loss, accuracy: 1e-12 * loss, name, file: file, line: line)
    XCTAssertTrue(labels.converged, name, file: file, line: line)
    XCTAssertEqual(labels.hessianLambdaMax, lmax, accuracy: 1e-6 * abs(lmax), "\(name) λ_max", file: file, line: line)
    XCTAssertEqual(labels.hessianLambdaMin, lmin, accuracy: 1e-6 * abs(lmin), "\(name) λ_min", file: file, line: line)
    let g = max(abs(lmax), abs(lmin))
    XCTAssertEqual(try XCTUnwrap(report.gH, file: file, line: line), g, accuracy: 1e-6 * g, name, file: file, line: line)
}
