import Foundation
import TestSupport
import XCTest

/// The golden comparison tolerates what differs between CPUs (last-ulp noise in numbers) and
/// nothing else: a changed key, string, flag, array length or a number off by more than the
/// stated tolerance fails.
final class GoldenToleranceTests: XCTestCase {
    private func diffs(_ got: String, _ want: String) throws -> [String] {
        try JSONApprox.differences(Data(got.utf8), Data(want.utf8), relativeTolerance: 1e-12)
    }

    func testLastUlpDifferencesPass() throws {
        // The AMD-vs-Intel difference issue 15 reported: gmsi 8.685174477511003 vs …007.
        XCTAssertEqual(try diffs(#"{"gmsi": 8.685174477511007, "a": [1, 2e-300]}"#,
                                 #"{"a": [1, 2.0000000000000004e-300], "gmsi": 8.685174477511003}"#), [])
        // Rounding noise around zero (below the 1e-14 absolute floor).
        XCTAssertEqual(try diffs(#"{"r": 1e-17}"#, #"{"r": -3e-17}"#), [])
    }

    func testRealDifferencesFail() throws {
        XCTAssertEqual(try diffs(#"{"gmsi": 8.6852}"#, #"{"gmsi": 8.6851}"#).count, 1)
        XCTAssertEqual(try diffs(#"{"s": "pass"}"#, #"{"s": "fail"}"#).count, 1)
        XCTAssertEqual(try diffs(#"{"b": true}"#, #"{"b": false}"#).count, 1)
        XCTAssertEqual(try diffs(#"{"x": null}"#, #"{"x": 0}"#).count, 1)
        XCTAssertEqual(try diffs(#"{"x": 1}"#, #"{"x": "1"}"#).count, 1)
        XCTAssertEqual(try diffs(#"{"a": [1, 2]}"#, #"{"a": [1, 2, 3]}"#).count, 1)
        XCTAssertEqual(try diffs(#"{"a": 1, "extra": 2}"#, #"{"a": 1}"#).count, 1)
        XCTAssertEqual(try diffs(#"{"a": 1}"#, #"{"a": 1, "missing": 2}"#).count, 1)
        XCTAssertEqual(try diffs(#"{"t": 1e-13}"#, #"{"t": 0}"#).count, 1)
    }

    /// The committed golden reports are compared with this rule; a report with one number moved
    /// by 1e-9 relative must be caught.
    func testGoldenReportPerturbedIsCaught() throws {
        let file = ReportOutputTests.golden.appendingPathComponent("cnn.h5.json")
        let text = try String(contentsOf: file, encoding: .utf8)
        XCTAssertEqual(try JSONApprox.differences(Data(text.utf8), Data(text.utf8)), [])
        let range = try XCTUnwrap(text.range(of: #""gmsi" *: *[0-9.]+"#, options: .regularExpression))
        let field = String(text[range])
        let value = try XCTUnwrap(Double(field.split(separator: ":").last!.trimmingCharacters(in: .whitespaces)))
        let moved = text.replacingCharacters(in: range, with: "\"gmsi\": \(value * (1 + 1e-9))")
        XCTAssertEqual(try JSONApprox.differences(Data(moved.utf8), Data(text.utf8)).count, 1)
    }
}
