import XCTest
@testable import Audit

/// `NonFinite.scan`'s branch-free fast path (issue 20) must not change its answers: count and
/// first index of NaN / ±Inf at every lane position and in the tail, nil for finite data
/// (including −0, subnormals and the largest finite values, whose ·0 is still ±0).
final class NonFiniteScanTests: XCTestCase {
    func testScanAgreesWithAPlainLoop() {
        func plain(_ d: [Double]) -> (count: Int, first: Int)? {
            let bad = d.indices.filter { !d[$0].isFinite }
            return bad.isEmpty ? nil : (bad.count, bad[0])
        }
        var cases: [[Double]] = [[], [0], [-0.0], [.leastNonzeroMagnitude, -.greatestFiniteMagnitude, .greatestFiniteMagnitude],
                                 (0..<1003).map { Double($0) - 500 }]
        for n in [1, 2, 3, 4, 5, 8, 9, 1003] {
            for k in Set([0, 1, 2, 3, n / 2, n - 1]) where k < n {
                for v in [Double.nan, .infinity, -.infinity, -Double.nan] {
                    var d = (0..<n).map { Double($0) * 0.5 - 1 }
                    d[k] = v
                    cases.append(d)
                    if n > 4 { d[n - 1] = .nan; cases.append(d) }
                }
            }
        }
        for d in cases {
            let got = NonFinite.scan(d), want = plain(d)
            XCTAssertEqual(got?.count, want?.count, "\(d.prefix(6))… n = \(d.count)")
            XCTAssertEqual(got?.first, want?.first, "\(d.prefix(6))… n = \(d.count)")
            XCTAssertEqual(NonFinite.allFinite(d), want == nil)
        }
    }
}
