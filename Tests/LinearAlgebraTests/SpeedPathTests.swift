import Foundation
import XCTest
@testable import LinearAlgebra

/// Issue 20's faster paths must give the same answers as the paths they replace:
/// - `Matrix.finiteMaxAbs` (one pass) agrees with `allFinite`, the all-zero test and `maxAbs`;
/// - the direct `dsyevd_` call with a cached, pooled workspace gives values identical to the bit
///   whatever order, sizes and threads the calls come in, and matches closed-form eigenvalues.
final class SpeedPathTests: XCTestCase {
    /// Seeded xorshift values in [-1, 1).
    func values(_ n: Int, seed: UInt64) -> [Double] {
        var s = seed | 1
        return (0..<n).map { _ in
            s ^= s << 13; s ^= s >> 7; s ^= s << 17
            return Double(s >> 11) / Double(1 << 52) - 1
        }
    }

    func testFiniteMaxAbsAgreesWithTheThreePassesItReplaces() {
        var cases: [[Double]] = [[], [0], [-0.0, 0], [1, -3, 2], [.nan], [1, 2, 3, 4, .infinity],
                                 [1, 2, 3, 4, 5, -.infinity], [-7.5, 1, 2, 3, 4, 5, 6], values(1001, seed: 3)]
        for k in [0, 1, 2, 3, 4, 5, 1000] {  // a non-finite value in every lane and in the tail
            var v = values(1001, seed: 9)
            v[k] = .nan
            cases.append(v)
            v[k] = -.infinity
            cases.append(v)
        }
        var big = values(513, seed: 5)
        big[511] = -1e300
        cases.append(big)
        for c in cases {
            let m = Matrix(rows: 1, cols: c.count, storage: c)
            let (finite, peak) = m.finiteMaxAbs()
            XCTAssertEqual(finite, m.allFinite, "\(c.prefix(8))")
            if finite {
                XCTAssertEqual(peak, m.maxAbs)
                XCTAssertEqual(peak == 0, c.allSatisfy { $0 == 0 })
            }
        }
    }

    /// The symmetric tridiagonal matrix with 2 on the diagonal and −1 beside it has the
    /// eigenvalues 2 − 2cos(kπ/(n+1)), k = 1…n (closed form; an independent reference).
    func testEigenvaluesMatchTheClosedFormForBothStages() throws {
        for n in [5, 384, 1100, 2060] {  // 2060 ≥ twoStageThreshold: dsyevd_2stage
            var a = [Double](repeating: 0, count: n * n)
            for i in 0..<n {
                a[i * n + i] = 2
                if i + 1 < n { a[i * n + i + 1] = -1 }  // column-major lower triangle: (i+1, i)
            }
            let w = try LAPACKCalls.symmetricEigenvalues(&a, n: n)
            for k in 1...n {
                let exact = 2 - 2 * cos(Double(k) * Double.pi / Double(n + 1))
                XCTAssertEqual(w[k - 1], exact, accuracy: 1e-13 * 4, "n = \(n), k = \(k)")
            }
        }
    }

    /// Pooled workspace: the same matrix gives the same values to the bit, first call or after
    /// calls of other orders, sequentially or from four threads at once.
    func testEigenvaluesAreIdenticalWhateverTheWorkspaceHistory() throws {
        let orders = [384, 7, 1030, 384, 64, 1030, 2]
        func gram(_ n: Int) -> [Double] {
            let x = values(n * (n + 3), seed: UInt64(n))
            return x.withUnsafeBufferPointer { LAPACKCalls.gramSmallerSide($0, rows: n + 3, cols: n) }
        }
        let grams = Dictionary(uniqueKeysWithValues: Set(orders).map { ($0, gram($0)) })
        var first: [Int: [Double]] = [:]
        for n in orders {
            var g = grams[n]!
            let w = try LAPACKCalls.symmetricEigenvalues(&g, n: n)
            if let f = first[n] { XCTAssertEqual(w, f, "order \(n), sequential repeat") } else { first[n] = w }
        }
        let results = Locked<[(Int, [Double])]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { k in
            let n = orders[k % orders.count]
            var g = grams[n]!
            if let w = try? LAPACKCalls.symmetricEigenvalues(&g, n: n) { results.append((n, w)) }
        }
        XCTAssertEqual(results.value.count, 8)
        for (n, w) in results.value { XCTAssertEqual(w, first[n], "order \(n), concurrent") }
    }
}

/// A value shared by the threads of one test.
final class Locked<T>: @unchecked Sendable {
    private var v: T
    private let lock = NSLock()
    init(_ v: T) { self.v = v }
    var value: T { lock.lock(); defer { lock.unlock() }; return v }
    func append<E>(_ e: E) where T == [E] { lock.lock(); v.append(e); lock.unlock() }
}
