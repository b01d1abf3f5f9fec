import Foundation
import XCTest

/// Issue 16 through the built binary: the annotated copy re-audits as the model it annotates,
/// `--require-structure declared` gates CI, and the text report labels raw and folded numbers.
final class StructureCLITests: XCTestCase {
    func json(_ data: Data) throws -> [String: Any] { try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any]) }

    /// Before issue 16 the annotated copy's `singular_values` datasets were role `weights` and
    /// tripped the keyword check ('value'): no bound on a re-audit. Now they are `audit`.
    func testAnnotatedCopyReauditsLikeTheModel() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("fc_bn.audited.h5").path
        let first = try CLI.run(["fixtures/structure/fc_bn.safetensors", "--output", copy, "--json", "-", "--no-timestamps", "--no-progress"])
        XCTAssertEqual(first.status, 0, first.stderr)
        let original = try json(first.stdoutData)["network"] as! [String: Any]
        let listing = try CLI.run(["inspect", copy, "--json"])
        XCTAssertEqual(listing.status, 0, listing.stderr)
        let tensors = try json(listing.stdoutData)["tensors"] as! [[String: Any]]
        let annotations = tensors.filter { ($0["name"] as! String).hasPrefix("spectral_audit/") }
        XCTAssertFalse(annotations.isEmpty)
        XCTAssertTrue(annotations.allSatisfy { $0["role"] as? String == "audit" }, "\(annotations)")
        let again = try CLI.run([copy, "--json", "-", "--no-timestamps", "--no-progress"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let network = try json(again.stdoutData)["network"] as! [String: Any]
        let l = try XCTUnwrap(network["lipschitz_bound"] as? Double, "\(network["reason"] ?? "")")
        XCTAssertEqual(l, original["lipschitz_bound"] as! Double, accuracy: 1e-9 * l)
    }

    func testRequireStructureDeclaredFailsInferredFiles() throws {
        let inferred = try CLI.run(["fixtures/structure/fc_bn.safetensors", "--require-structure", "declared", "--json", "-", "--no-progress"])
        XCTAssertEqual(inferred.status, 1, inferred.stderr)
        let checks = try json(inferred.stdoutData)["checks"] as! [[String: Any]]
        let check = try XCTUnwrap(checks.first { $0["id"] as? String == "structure.declared" })
        XCTAssertEqual(check["passed"] as? Bool, false)
        XCTAssertTrue((check["message"] as? String ?? "").contains("--arch"))
        let declared = try CLI.run(["fixtures/models/mlp.h5", "--require-structure", "declared", "--no-progress"])
        XCTAssertEqual(declared.status, 0, declared.stderr)
        XCTAssertTrue(declared.stdout.contains("structure.declared"))
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--require-structure", "maybe"]).status, 2)
    }

    func testTextReportLabelsRawAndFoldedNumbers() throws {
        let r = try CLI.run(["fixtures/structure/crepe_BN.safetensors", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("└ folded 'conv2_BN'"), r.stdout)
        XCTAssertTrue(r.stdout.contains("ok (tensor as stored)"))
        XCTAssertTrue(r.stdout.contains("Structure (guessed, not read from the file)"))
        XCTAssertFalse(r.stdout.contains("takes 1 channels but the previous layer gives 36"))
    }
}
