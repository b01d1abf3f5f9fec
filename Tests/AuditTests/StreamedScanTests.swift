import Foundation
import XCTest
@testable import Audit
import AuditReport
import LinearAlgebra

/// Issue 20: the streamed paths scan each chunk in one branch-free pass and count non-finite
/// values only when that pass finds one. The row must still give the exact count and the first
/// row-major index, for tall tensors (row chunks) and wide ones (one block, or column blocks read
/// row segment by row segment).
final class StreamedScanTests: XCTestCase {
    func audit(rows: Int, cols: Int, bad: [(Int, Float)]) throws -> LayerReport {
        var x = FastSpectrumTests.spiked(rows: rows, cols: cols, seed: 5)
        for (k, v) in bad { x[k] = v }
        let path = try FastSpectrumTests.writeSafetensors("m.weight", rows: rows, cols: cols, data: x)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var c = AuditConfiguration()
        c.timestamps = false
        let report = try Auditor.run(path: path, configuration: c)
        return try XCTUnwrap(report.layers.first { $0.tensors.contains("m.weight") })
    }

    func testNonFiniteCountAndFirstIndexOnEveryStreamedPath() throws {
        // (rows, cols): tall (row chunks), wide in one block, wide in two column blocks
        // (16 MB / (8 · 1100) = 1906 columns, then 594).
        for (rows, cols) in [(900, 400), (400, 900), (1100, 2500)] {
            let n = rows * cols
            // Non-finite values placed so that the first in row-major order is not the first read
            // by column blocks: the last column of row 0 comes after row 1's first in a column block.
            let bad: [(Int, Float)] = [(cols - 1, .nan), (cols + 3, .infinity), (n - 1, -.infinity)]
            let row = try audit(rows: rows, cols: cols, bad: bad)
            XCTAssertEqual(row.status, .nonFinite, "\(rows)×\(cols)")
            XCTAssertEqual(row.reason, "3 non-finite values in 'm.weight' (first at flat index \(cols - 1))", "\(rows)×\(cols)")
        }
    }

    func testFiniteTensorsStillAnalysedOnEveryStreamedPath() throws {
        for (rows, cols) in [(900, 400), (400, 900)] {
            let row = try audit(rows: rows, cols: cols, bad: [])
            XCTAssertEqual(row.status, .analyzed)
            XCTAssertEqual(row.shape, [rows, cols])
        }
        // All-zero tensor: zeros, no LAPACK (the scan's peak is 0).
        let zeros = [Float](repeating: 0, count: 400 * 900)
        let path = try FastSpectrumTests.writeSafetensors("z.weight", rows: 400, cols: 900, data: zeros)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var c = AuditConfiguration()
        c.timestamps = false
        let report = try Auditor.run(path: path, configuration: c)
        let row = try XCTUnwrap(report.layers.first { $0.tensors.contains("z.weight") })
        XCTAssertEqual(row.metrics?.spectralNorm, 0)
    }
}
