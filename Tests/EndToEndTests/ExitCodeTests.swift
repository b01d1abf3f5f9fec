import Foundation
import XCTest

/// The exit codes CI pipelines rely on (spectral-audit(1), EXIT STATUS), and one-line errors.
final class ExitCodeTests: XCTestCase {
    func testPassFailAndUnavailable() throws {
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--threshold", "50"]).status, 0)
        let fail = try CLI.run(["fixtures/models/mlp.h5", "--threshold", "1"])
        XCTAssertEqual(fail.status, 1)
        XCTAssertTrue(fail.stdout.contains("gmsi.threshold"), fail.stdout)
        // Non-finite weights: gmsi unavailable and a failed finiteness check, never a crash.
        let nonFinite = try CLI.run(["fixtures/models/nonfinite.safetensors", "--threshold", "50"])
        XCTAssertEqual(nonFinite.status, 1)
        XCTAssertTrue(nonFinite.stdout.contains("non_finite") || nonFinite.stdout.contains("non-finite"), nonFinite.stdout)
    }

    func testUnavailableGMSIFailsUnlessAllowed() throws {
        // Attention-like names: per-operator metrics, but no network bound.
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = dir.appendingPathComponent("r.json").path
        let r = try CLI.run(["fixtures/models/attention_tiny.safetensors", "--threshold", "50", "--json", report])
        XCTAssertEqual(r.status, 1, r.stderr)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        XCTAssertTrue(json["gmsi"] is NSNull)
        XCTAssertNotNil(json["gmsi_reason"] as? String)
        XCTAssertEqual(try CLI.run(["fixtures/models/attention_tiny.safetensors", "--threshold", "50",
                                    "--allow-unavailable"]).status, 0)
    }

    func testUsageErrorsExit2() throws {
        for args in [["fixtures/models/mlp.h5", "--no-such-flag"], ["fixtures/models/mlp.h5", "--svd", "magic"],
                     ["fixtures/models/mlp.h5", "--max-increase", "5"], ["fixtures/models/mlp.h5", "--jobs", "0"],
                     ["fixtures/models/mlp.h5", "--output", "fixtures/models/mlp.h5"], []] {
            let r = try CLI.run(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.isEmpty, "\(args)")
        }
    }

    func testMissingAndUnreadableInputsExit66() throws {
        let missing = try CLI.run(["fixtures/models/does-not-exist.h5"])
        XCTAssertEqual(missing.status, 66)
        XCTAssertEqual(missing.stderr.split(separator: "\n").count, 1)
        XCTAssertTrue(missing.stderr.contains("does-not-exist.h5"))
        XCTAssertEqual(try CLI.run(["fixtures/models"]).status, 66)
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--policy", "nope.json"]).status, 66)
    }

    func testOutputsThatCannotBeWrittenExit73() throws {
        let r = try CLI.run(["fixtures/models/mlp.h5", "--json", "/nonexistent-folder/r.json"])
        XCTAssertEqual(r.status, 73)
        XCTAssertTrue(r.stderr.contains("/nonexistent-folder/r.json"), r.stderr)
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let existing = dir.appendingPathComponent("r.json").path
        FileManager.default.createFile(atPath: existing, contents: Data("keep".utf8))
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--json", existing]).status, 73)
        XCTAssertEqual(try String(contentsOfFile: existing, encoding: .utf8), "keep", "an existing file is replaced only with --force")
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--json", existing, "--force"]).status, 0)
        XCTAssertNotEqual(try String(contentsOfFile: existing, encoding: .utf8), "keep")
    }

    /// Every file of the malformed-input corpora exits 65 (or 66) with one line naming the file.
    func testBrokenCorpusGivesOneLineAndExit65() throws {
        let broken = CLI.packageRoot.appendingPathComponent("fixtures/broken")
        let models = try JSONSerialization.jsonObject(with: Data(contentsOf: broken.appendingPathComponent("expected-models.json"))) as! [String: [String: Any]]
        let readers = try JSONSerialization.jsonObject(with: Data(contentsOf: broken.appendingPathComponent("expected-readers.json"))) as! [String: [String: Any]]
        var cases: [(String, Int32, String?)] = models.map { ($0.key, Int32($0.value["exit"] as! Int), $0.value["message"] as? String) }
        for (name, e) in readers {
            let kind = e["kind"] as? String ?? "malformed"
            cases.append((name, kind == "missing" || kind == "unreadable" ? 66 : 65, nil))
        }
        XCTAssertGreaterThan(cases.count, 40)
        for (name, code, fragment) in cases.sorted(by: { $0.0 < $1.0 }) {
            let r = try CLI.run(["fixtures/broken/" + name, "--quiet"])
            XCTAssertEqual(r.status, code, "\(name): \(r.stderr)")
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(name): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(name), "\(name): \(r.stderr)")
            if let fragment { XCTAssertTrue(r.stderr.contains(fragment), "\(name): '\(fragment)' not in \(r.stderr)") }
            XCTAssertFalse(r.stderr.contains("HDF5-DIAG"), "HDF5 printed its error stack: \(r.stderr)")
        }
    }

    func testNoColourWithoutATTYOrWithNO_COLOR() throws {
        let r = try CLI.run(["fixtures/models/cnn.h5", "--threshold", "1"], environment: ["NO_COLOR": ""])
        XCTAssertFalse(r.stdout.contains("\u{1B}["), "stdout is not a TTY: no escape codes")
    }
}
