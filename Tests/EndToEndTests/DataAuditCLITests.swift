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

    func testProbeErrorsAreOneLine() throws {
        // Probe shape that does not fit the model.
        let r = try CLI.run(["fixtures/models/mlp.h5", "--probe", "fixtures/models/probe_cnn.npy"])
        XCTAssertEqual(r.status, 65, r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        // A model the forward pass does not cover.
        let t = try CLI.run(["fixtures/models/attention_tiny.safetensors", "--probe", "fixtures/models/probe_mlp.npy"])
        XCTAssertEqual(t.status, 65, t.stderr)
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--labels", "x.npy"]).status, 2)
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--probe", "missing.npy"]).status, 66)
    }
}
