import Foundation
import XCTest
@testable import Audit
import AuditReport
import LinearAlgebra
import WeightFiles

/// The streamed Gram path (`RawTensorSource` + `GramAccumulator`) against the in-memory path,
/// and `--svd fast` (Lanczos σ_max + SLQ entropies) against the exact spectrum.
final class FastSpectrumTests: XCTestCase {
    /// Gaussian N(0, 0.02²) plus rank-one spikes, like the benchmark inputs.
    static func spiked(rows: Int, cols: Int, seed: UInt64) -> [Float] {
        var rng = SplitMix64(seed: seed)
        func gauss() -> Double {
            let u = max(Double(rng.next() >> 11) * 0x1.0p-53, 1e-300), v = Double(rng.next() >> 11) * 0x1.0p-53
            return (-2 * log(u)).squareRoot() * cos(2 * .pi * v)
        }
        var a = (0..<(rows * cols)).map { _ in 0.02 * gauss() }
        let edge = 0.02 * (Double(rows).squareRoot() + Double(cols).squareRoot())
        for s in 0..<3 {
            var u = (0..<rows).map { _ in gauss() }, v = (0..<cols).map { _ in gauss() }
            let nu = u.reduce(0) { $0 + $1 * $1 }.squareRoot(), nv = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            u = u.map { $0 / nu }; v = v.map { $0 / nv }
            for i in 0..<rows { for j in 0..<cols { a[i * cols + j] += edge * Double(2 + s) * u[i] * v[j] } }
        }
        return a.map { Float($0) }
    }

    /// A one-tensor float32 safetensors file.
    static func writeSafetensors(_ name: String, rows: Int, cols: Int, data: [Float]) throws -> String {
        let header = "{\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(rows),\(cols)],\"data_offsets\":[0,\(data.count * 4)]}}"
        var bytes = Data()
        var len = UInt64(header.utf8.count).littleEndian
        withUnsafeBytes(of: &len) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: header.utf8)
        data.withUnsafeBufferPointer { bytes.append(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count)) }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("fast-\(UUID().uuidString).safetensors").path
        try bytes.write(to: URL(fileURLWithPath: path))
        return path
    }

    func testSVDChoiceParsesFast() {
        XCTAssertEqual(SVDChoice(argument: "fast"), .fast)
        XCTAssertEqual(SVDChoice.fast.description, "fast")
    }

    /// Streamed (pread, row chunks) vs in-memory Gram: same σ to 1e-12·σ₁, same report otherwise.
    func testStreamedGramMatchesInMemoryPath() throws {
        let rows = 1300, cols = 700
        let x = Self.spiked(rows: rows, cols: cols, seed: 11)
        let path = try Self.writeSafetensors("block.weight", rows: rows, cols: cols, data: x)
        defer { try? FileManager.default.removeItem(atPath: path) }
        var c = AuditConfiguration()
        c.timestamps = false
        let report = try Auditor.run(path: path, configuration: c)
        let row = try XCTUnwrap(report.layers.first { $0.name.hasPrefix("block") && $0.status == .analyzed })
        let reference = try SVD.singularValues(Matrix(rows: rows, cols: cols, storage: x.map(Double.init)))
        let values = try XCTUnwrap(row.singularValues)
        XCTAssertEqual(values.count, reference.values.count)
        let s1 = reference.values[0]
        for (a, b) in zip(values, reference.values) { XCTAssertLessThanOrEqual(abs(a - b), 1e-12 * s1) }
        XCTAssertEqual(row.method, reference.method.rawValue)
        XCTAssertEqual(row.shape, [rows, cols])
        XCTAssertEqual(row.orientation, "out_in")
    }

    /// A wide tensor (rows < cols, a Llama down_proj's shape) streams by column blocks (X Xᵀ, no
    /// whole Float64 copy): same σ as the in-memory path to 1e-12·σ₁, with a block width that
    /// does not divide the column count (16 MB / (8 · 1100) = 1906 columns: 1906 + 594).
    func testStreamedWideGramMatchesInMemoryPath() throws {
        let rows = 1100, cols = 2500
        let x = Self.spiked(rows: rows, cols: cols, seed: 13)
        let path = try Self.writeSafetensors("wide.weight", rows: rows, cols: cols, data: x)
        defer { try? FileManager.default.removeItem(atPath: path) }
        for svd in [SVDChoice.gram, .fast] {
            var c = AuditConfiguration()
            c.timestamps = false
            c.svd = svd
            c.includeSpectra = true
            let report = try Auditor.run(path: path, configuration: c)
            let row = try XCTUnwrap(report.layers.first { $0.name.hasPrefix("wide") && $0.status == .analyzed })
            let reference = try SVD.singularValues(Matrix(rows: rows, cols: cols, storage: x.map(Double.init)))
            let s1 = reference.values[0]
            if svd == .gram {
                let values = try XCTUnwrap(row.singularValues)
                XCTAssertEqual(values.count, rows)
                for (a, b) in zip(values, reference.values) { XCTAssertLessThanOrEqual(abs(a - b), 1e-12 * s1) }
                XCTAssertEqual(row.method, reference.method.rawValue)
            }
            XCTAssertEqual(try XCTUnwrap(row.metrics?.spectralNorm), s1, accuracy: 1e-9 * s1, "\(svd)")
        }
    }

    /// σ_max within 1e-6 relative, entropies within 1 %, and the stated error covering the truth.
    func testFastEstimatesAgainstExactSpectrum() throws {
        for (rows, cols, seed) in [(1500, 1000, UInt64(3)), (900, 1400, UInt64(5))] {
            let x = Self.spiked(rows: rows, cols: cols, seed: seed).map(Double.init)
            let a = Matrix(rows: rows, cols: cols, storage: x)
            let exact = SpectrumMetrics.compute(singularValues: try SVD.singularValues(a).values, rows: rows, cols: cols)
            let (top, e) = try FastSpectrum.analyse(a, seed: 0)
            var fast = SpectrumMetrics.compute(singularValues: top.values, rows: rows, cols: cols, isComplete: false,
                                               frobenius: e.frobenius)
            fast.apply(e, rows: rows, cols: cols)
            XCTAssertLessThanOrEqual(abs(fast.spectralNorm - exact.spectralNorm), 1e-6 * exact.spectralNorm)
            let h = try XCTUnwrap(exact.spectralEntropy), hf = try XCTUnwrap(fast.spectralEntropy)
            XCTAssertLessThanOrEqual(abs(hf - h), 0.01 * h, "entropy \(hf) vs \(h)")
            XCTAssertLessThanOrEqual(abs(hf - h), 2 * e.entropyError + 1e-3 * h, "stated error \(e.entropyError)")
            XCTAssertLessThanOrEqual(abs(fast.normalizedEntropy! - exact.normalizedEntropy!), 0.01 * exact.normalizedEntropy!)
            XCTAssertLessThanOrEqual(abs(fast.erankRV! - exact.erankRV!), 0.02 * exact.erankRV!)
            XCTAssertLessThanOrEqual(abs(fast.nuclear! - exact.nuclear!), 0.01 * exact.nuclear!)
            XCTAssertEqual(fast.stableRank!, exact.stableRank!, accuracy: 1e-9 * exact.stableRank!)
            XCTAssertEqual(fast.typicalGain!, exact.typicalGain!, accuracy: 1e-9 * exact.typicalGain!)
        }
    }
}
