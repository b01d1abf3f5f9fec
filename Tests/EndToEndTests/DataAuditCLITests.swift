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
        XCTAssertEqual(report.gmsiMode, "data")
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
        XCTAssertEqual(report.gmsi, [gJ, gTheta, gK.squareRoot(), gH.squareRoot()].max())
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
        // A model the forward engine does not cover: the tool's limit, not a malformed file. The
        // data gmsi is unavailable with the reason; a gmsi check fails unless allowed.
        let t = try CLI.run(["fixtures/models/attention_tiny.safetensors", "--probe", "fixtures/models/probe_mlp.npy",
                             "--json", "-", "--quiet"])
        XCTAssertEqual(t.status, 0, t.stderr)
        let tr = try AuditReportV1.decode(t.stdoutData)
        XCTAssertEqual(tr.gmsiMode, "data")
        XCTAssertNil(tr.gmsi)
        XCTAssertNil(tr.data)
        XCTAssertTrue(tr.gmsiReason?.hasPrefix("data audit unavailable: layer '") == true, tr.gmsiReason ?? "")
        XCTAssertTrue(tr.gmsiReason?.contains("not an op the forward engine supports") == true, tr.gmsiReason ?? "")
        let gated = try CLI.run(["fixtures/models/attention_tiny.safetensors", "--probe", "fixtures/models/probe_mlp.npy",
                                 "--threshold", "10"])
        XCTAssertEqual(gated.status, 1, gated.stderr)
        XCTAssertEqual(try CLI.run(["fixtures/models/attention_tiny.safetensors", "--probe", "fixtures/models/probe_mlp.npy",
                                    "--threshold", "10", "--allow-unavailable"]).status, 0)
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--labels", "x.npy"]).status, 2)
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--probe", "missing.npy"]).status, 66)
    }
}
