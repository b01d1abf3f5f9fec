import AuditReport
import Foundation
import XCTest

/// `--probe`: the data audit end to end on the fixture CNN with 256 probe images.
final class DataAuditCLITests: XCTestCase {
    func testCNNDataAuditReportsAllFourComponents() throws {
        let r = try CLI.run(["fixtures/models/cnn.h5", "--probe", "fixtures/models/probe_cnn_256.npy",
                             "--labels", "fixtures/models/probe_cnn_256_labels.npy", "--threshold", "50",
                             "--json", "-", "--no-timestamps", "--seed", "7"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try AuditReportV1.decode(r.stdoutData)
        // Definitions spectral-audit/2: gmsi stays the weights-only bound; the aggregate is data_gmsi.
        XCTAssertEqual(report.gmsiMode, "weights")
        let data = try XCTUnwrap(report.data)
        XCTAssertEqual(data.probeCount, 256)
        XCTAssertEqual(data.seed, 7)
        let gJ = try XCTUnwrap(data.gJ), gTheta = try XCTUnwrap(data.gTheta)
        let gK = try XCTUnwrap(data.gK), gH = try XCTUnwrap(data.gH)
        let L = try XCTUnwrap(report.network.lipschitzBound)
        // SPEC §5 consistency.
        XCTAssertLessThanOrEqual(gJ, L)
        XCTAssertLessThanOrEqual(gTheta * gTheta / 256, gK * (1 + 1e-9))
        XCTAssertLessThanOrEqual(gK, gTheta * gTheta * (1 + 1e-9))
        XCTAssertEqual(report.gmsi, L)
        XCTAssertEqual(report.dataGmsi, [gJ, gTheta, gK.squareRoot(), gH.squareRoot()].max())
        XCTAssertEqual(report.dataGmsiAggregate, "max")
        XCTAssertEqual(data.perSample.jacobianNorm.count, 256)
        XCTAssertNotNil(data.attributionInstabilityMean)
        XCTAssertEqual(data.boundRatio!, L / gJ, accuracy: 1e-12 * L / gJ)
        // Same seed, same bytes.
        let again = try CLI.run(["fixtures/models/cnn.h5", "--probe", "fixtures/models/probe_cnn_256.npy",
                                 "--labels", "fixtures/models/probe_cnn_256_labels.npy", "--threshold", "50",
                                 "--json", "-", "--no-timestamps", "--seed", "7", "--jobs", "1"])
        XCTAssertEqual(again.stdoutData, r.stdoutData)
    }

    func testWithoutLabelsTheHessianIsUnavailableWithAReason() throws {
        let r = try CLI.run(["fixtures/models/mlp.h5", "--probe", "fixtures/models/probe_mlp.npy", "--json", "-", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let data = try XCTUnwrap(try AuditReportV1.decode(r.stdoutData).data)
        XCTAssertNil(data.gH)
        XCTAssertNotNil(data.gHReason)
        XCTAssertNotNil(data.gaussNewtonLambdaMax)
    }

    /// The Keras mini-Xception block (same-padded max pooling + residual add) runs in data mode.
    func testSamePaddedPoolingResidualBlockRuns() throws {
        let r = try CLI.run(["fixtures/engine/xception_block.h5", "--probe", "fixtures/engine/xception_block_probe.npy",
                             "--json", "-", "--quiet", "--ntk-min-budget", "20"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let data = try XCTUnwrap(try AuditReportV1.decode(r.stdoutData).data)
        XCTAssertEqual(data.perSample.jacobianNorm.count, 2)
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--ntk-min-budget", "5"]).status, 2)
    }

    func testProbeErrorsAreOneLine() throws {
        // Probe shape that does not fit the model.
        let r = try CLI.run(["fixtures/models/mlp.h5", "--probe", "fixtures/models/probe_cnn.npy"])
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        // A model the forward engine does not cover: the tool's limit, not a malformed file.
        // data_gmsi is unavailable with the reason (a --data-threshold check fails unless
        // allowed); gmsi stays the weights-only value.
        // (Probes of the width the inferred graph's first layer takes, so the layout fits.)
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let probe = dir.appendingPathComponent("p16.npy").path
        try Self.npyFloat32(rows: 2, cols: 16).write(to: URL(fileURLWithPath: probe))
        let t = try CLI.run(["fixtures/models/attention_tiny.safetensors", "--probe", probe,
                             "--json", "-", "--quiet"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let tr = try AuditReportV1.decode(t.stdoutData)
        XCTAssertEqual(tr.gmsiMode, "weights")
        XCTAssertNil(tr.data)
        XCTAssertNil(tr.dataGmsi)
        XCTAssertTrue(tr.dataGmsiReason?.hasPrefix("data audit unavailable: layer '") == true, tr.dataGmsiReason ?? "")
        XCTAssertTrue(tr.dataGmsiReason?.contains("not an op the forward engine supports") == true, tr.dataGmsiReason ?? "")
        let gated = try CLI.run(["fixtures/models/attention_tiny.safetensors", "--probe", probe,
                                 "--data-threshold", "10"])
        XCTAssertEqual(gated.status, 1, gated.stderr)
        XCTAssertEqual(try CLI.run(["fixtures/models/attention_tiny.safetensors", "--probe", probe,
                                    "--data-threshold", "10", "--allow-unavailable"]).status, 0)
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--labels", "x.npy"]).status, 2)
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--probe", "missing.npy"]).status, 66)
    }

    /// A little-endian float32 `.npy` (format 1.0) of shape [rows, cols] with values 0.01·i.
    static func npyFloat32(rows: Int, cols: Int) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(rows), \(cols)), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xFF), UInt8(header.utf8.count >> 8)])
        d.append(Data(header.utf8))
        for i in 0..<(rows * cols) { withUnsafeBytes(of: Float(i) * 0.01) { d.append(contentsOf: $0) } }
        return d
    }
}
