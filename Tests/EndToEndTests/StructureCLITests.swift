import Foundation
import HDF5Kit
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

    /// The annotated copy keeps the stored kernel's metrics on the layer and the folded
    /// operator's in a `folded` subgroup.
    func testAnnotatedCopyHoldsBothViews() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let copy = dir.appendingPathComponent("cnn.audited.h5").path
        let r = try CLI.run(["fixtures/models/cnn.h5", "--output", copy, "--json", "-", "--no-progress"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let layers = try json(r.stdoutData)["layers"] as! [[String: Any]]
        let conv1 = try XCTUnwrap(layers.first { $0["name"] as? String == "conv1" })
        let folded = try XCTUnwrap(conv1["folded"] as? [String: Any])
        let group = try HDF5File.openReadOnly(path: copy).root.openGroup("spectral_audit/layers/conv1")
        // (JSONSerialization may round the last digit: compare to 1e-14.)
        func close(_ a: [Double], _ b: [Double]?, _ what: String) {
            XCTAssertEqual(a.count, b?.count, what)
            for (x, y) in zip(a, b ?? []) { XCTAssertEqual(x, y, accuracy: 1e-14 * abs(y), what) }
        }
        close(try group.readDoublesAttribute("spectral_norm"), [(conv1["metrics"] as! [String: Any])["spectral_norm"] as! Double], "raw σ")
        let fg = try group.openGroup("folded")
        XCTAssertEqual(try fg.readStringsAttribute("batch_norm"), ["bn1"])
        close(try fg.readDoublesAttribute("spectral_norm"), [(folded["metrics"] as! [String: Any])["spectral_norm"] as! Double], "folded σ")
        close(try fg.openDataset("singular_values").readDoubles(), folded["singular_values"] as? [Double], "folded spectrum")
        XCTAssertNotEqual(try group.readDoublesAttribute("spectral_norm"), try fg.readDoublesAttribute("spectral_norm"))
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
