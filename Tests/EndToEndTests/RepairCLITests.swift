import Foundation
import XCTest

/// `spectral-audit repair` through the built binary: exit codes, outputs, OUT's own audit.
final class RepairCLITests: XCTestCase {
    func json(_ data: Data) throws -> [String: Any] {
        try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func testRepairWritesAFileWhoseAuditMeetsTheTarget() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("mlp.safetensors").path
        let report = dir.appendingPathComponent("repair.json").path
        let r = try CLI.run(["repair", "fixtures/repair/mlp_f16.safetensors", "--arch", "fixtures/repair/mlp.arch.json",
                             "--target-gmsi", "10", "-o", out, "--json", report])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Result: MET"), r.stdout)
        let j = try json(try Data(contentsOf: URL(fileURLWithPath: report)))
        XCTAssertEqual(j["schema"] as? String, "spectral-audit-repair/1")
        XCTAssertLessThanOrEqual(try XCTUnwrap(j["gmsi_after"] as? Double), 10)
        XCTAssertLessThanOrEqual(try XCTUnwrap(j["output_audit_gmsi"] as? Double), 10)
        XCTAssertEqual(j["met"] as? Bool, true)
        // The audit of OUT passes a threshold at the target.
        let audit = try CLI.run([out, "--arch", "fixtures/repair/mlp.arch.json", "--threshold", "10", "--quiet"])
        XCTAssertEqual(audit.status, 0, audit.stderr)
        // OUT exists: refused without --force (exit 73), accepted with it.
        let again = try CLI.run(["repair", "fixtures/repair/mlp_f16.safetensors", "--arch", "fixtures/repair/mlp.arch.json",
                                 "--target-gmsi", "10", "-o", out, "--quiet"])
        XCTAssertEqual(again.status, 73, again.stderr)
        XCTAssertTrue(again.stderr.contains("--force"), again.stderr)
        let forced = try CLI.run(["repair", "fixtures/repair/mlp_f16.safetensors", "--arch", "fixtures/repair/mlp.arch.json",
                                  "--target-gmsi", "10", "-o", out, "--quiet", "--force"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        // --json - replaces the table on stdout.
        let toStdout = try CLI.run(["repair", "fixtures/repair/mlp_f16.safetensors", "--arch", "fixtures/repair/mlp.arch.json",
                                    "--max-sigma", "fc1=2", "--max-sigma", "3", "-o", out, "--force", "--json", "-"])
        XCTAssertEqual(toStdout.status, 0, toStdout.stderr)
        let k = try json(toStdout.stdoutData)
        XCTAssertEqual(k["max_sigma"] as? Double, 3)
        XCTAssertEqual((k["layer_max_sigma"] as? [String: Double])?["fc1"], 2)
    }

    func testUsageAndUnreachableTargets() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("x.h5").path
        XCTAssertEqual(try CLI.run(["repair", "fixtures/repair/digits_cnn.h5", "-o", out]).status, 2)
        XCTAssertEqual(try CLI.run(["repair", "fixtures/repair/digits_cnn.h5", "--target-gmsi", "-1", "-o", out]).status, 2)
        XCTAssertEqual(try CLI.run(["repair", "fixtures/repair/digits_cnn.h5", "--max-sigma", "conv1=x", "-o", out]).status, 2)
        XCTAssertEqual(try CLI.run(["repair", "fixtures/repair/digits_cnn.h5", "--target-gmsi", "5", "-o",
                                    "fixtures/repair/digits_cnn.h5"]).status, 2)
        XCTAssertEqual(try CLI.run(["repair", "fixtures/repair/missing.h5", "--target-gmsi", "5", "-o", out]).status, 66)
        let unknown = try CLI.run(["repair", "fixtures/repair/digits_cnn.h5", "--max-sigma", "nope=1", "-o", out])
        XCTAssertEqual(unknown.status, 65, unknown.stderr)
        XCTAssertTrue(unknown.stderr.contains("no layer named 'nope'"), unknown.stderr)
        // A model without a network bound (a bare 2-D array without --arch): 65, nothing written.
        let bare = try CLI.run(["repair", "fixtures/repair/dense_f32.npy", "--target-gmsi", "1", "-o",
                                dir.appendingPathComponent("dense_f32.npy").path])
        XCTAssertEqual(bare.status, 65, bare.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("dense_f32.npy").path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }
}
