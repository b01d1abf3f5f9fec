import Foundation
import XCTest

/// Issue 15 item 5: documentation that tests keep honest. The flags of every command's `--help`
/// and of spectral-audit(1) are the same set; the man pages cite no document a user does not
/// have; every null number in a report says why it is null.
final class DocsAgreementTests: XCTestCase {
    static let man = CLI.packageRoot.appendingPathComponent("man")

    func page(_ name: String) throws -> String {
        try String(contentsOf: Self.man.appendingPathComponent(name), encoding: .utf8)
            .components(separatedBy: "\n").filter { !$0.hasPrefix(".\\\"") }.joined(separator: "\n")
            .replacingOccurrences(of: "\\-", with: "-").replacingOccurrences(of: "\\(hy", with: "-")
            .replacingOccurrences(of: "\\%", with: "")
    }

    func flags(in text: String) -> Set<String> {
        let pattern = try! NSRegularExpression(pattern: "(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*")
        let range = NSRange(text.startIndex..., in: text)
        return Set(pattern.matches(in: text, range: range).map { String(text[Range($0.range, in: text)!]) })
    }

    /// The subcommands the root help lists.
    func subcommands() throws -> [String] {
        let root = try CLI.run(["--help"])
        XCTAssertEqual(root.status, 0)
        let lines = root.stdout.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.hasPrefix("SUBCOMMANDS:") }) else { return [] }
        // Entries start at column 3; wrapped descriptions are indented further.
        return lines[(start + 1)...].prefix { !$0.isEmpty }
            .filter { $0.hasPrefix("  ") && !$0.hasPrefix("   ") }
            .compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    func testHelpFlagsAndManPageFlagsAreTheSameSet() throws {
        let commands = try subcommands()
        XCTAssertTrue(Set(["audit", "inspect", "merge"]).isSubset(of: commands), "\(commands)")
        var help = Set<String>()
        for command in [[]] + commands.map { [$0] } {
            let r = try CLI.run(command + ["--help"])
            XCTAssertEqual(r.status, 0, "\(command): \(r.stderr)")
            help.formUnion(flags(in: r.stdout))
        }
        let manual = flags(in: try page("spectral-audit.1"))
        for f in help.subtracting(manual).sorted() { XCTFail("\(f) is in --help but not in man/spectral-audit.1") }
        for f in manual.subtracting(help).sorted() { XCTFail("\(f) is in man/spectral-audit.1 but in no command's --help") }
        // Every subcommand has a section of its own in the page.
        let text = try page("spectral-audit.1")
        for c in commands where c != "help" {
            XCTAssertTrue(text.contains(".B \(c)") || text.contains(".BR \(c) "), "command \(c) is not described")
        }
    }

    /// Man pages are installed alone: they must not send readers to SPEC.md, DESIGN.md or any
    /// other file of the source tree by section number.
    func testManPagesCiteOnlyInstalledDocuments() throws {
        for name in ["spectral-audit.1", "spectral-audit-metrics.7", "spectral-audit-formats.5"] {
            let text = try page(name)
            let citation = try NSRegularExpression(pattern: #"\bSPEC\b|\b(SPEC|DESIGN|ENVIRONMENT|README)\.md\b|\\\(sc|§"#)
            for (i, line) in text.components(separatedBy: "\n").enumerated() {
                let range = NSRange(line.startIndex..., in: line)
                if let m = citation.firstMatch(in: line, range: range) {
                    XCTFail("\(name):\(i + 1) cites '\(line[Range(m.range, in: line)!])', which is not installed: \(line)")
                }
            }
        }
    }

    /// Walks a report: every null number sits next to its reason — `K_reason`, the object's
    /// `reason`, `null_reasons[K]` of the object, or (for `metrics`/`heavy_tail`) of its layer;
    /// `gmsi_components` nulls are explained by `gmsi_reason`, `data_gmsi_components` nulls by
    /// `data_gmsi_reason` or `data_gmsi_null_reasons`.
    func assertNullsExplained(_ any: Any, path: String, parent: [String: Any]? = nil, file: StaticString = #filePath, line: UInt = #line) {
        if let array = any as? [Any] {
            for (i, v) in array.enumerated() {
                if v is NSNull { XCTFail("\(path)[\(i)] is null", file: file, line: line) }
                assertNullsExplained(v, path: path + "[\(i)]", parent: parent, file: file, line: line)
            }
            return
        }
        guard let obj = any as? [String: Any] else { return }
        let key = path.split(separator: "/").last.map(String.init) ?? ""
        for (k, v) in obj {
            if v is NSNull && !k.hasSuffix("reason") {
                var explained = obj[k + "_reason"] is String || obj["reason"] is String
                    || (obj["null_reasons"] as? [String: Any])?[k] is String
                if key == "network", k.hasPrefix("typical_bound") || k == "input_dimension" {
                    explained = explained || obj["typical_bound_reason"] is String
                }
                if ["metrics", "heavy_tail"].contains(key), let layer = parent {
                    explained = explained || (layer["null_reasons"] as? [String: Any])?[k] is String || layer["reason"] is String
                }
                if key == "gmsi_components", let top = parent { explained = explained || top["gmsi_reason"] is String }
                if key == "data_gmsi_components", let top = parent {
                    explained = explained || top["data_gmsi_reason"] is String
                        || (top["data_gmsi_null_reasons"] as? [String: Any])?[k] is String
                }
                if obj["message"] is String && obj["id"] is String { explained = true } // a check's message
                if !explained { XCTFail("\(path)/\(k) is null without a reason", file: file, line: line) }
            } else if !(v is NSNull) {
                assertNullsExplained(v, path: path + "/" + k, parent: obj, file: file, line: line)
            }
        }
    }

    func testEveryNullNumberCarriesAReason() throws {
        let runs: [[String]] = [
            ["fixtures/models/cnn.h5"],
            ["fixtures/models/cnn.h5", "--svd", "topk:2", "--heavy-tail"],
            ["fixtures/models/mlp.h5", "--svd", "fast"],
            ["fixtures/models/attention_tiny.safetensors", "--heavy-tail"],
            ["fixtures/models/nonfinite.safetensors"],
            ["fixtures/models/mlp.h5", "--probe", "fixtures/models/probe_mlp.npy"],
            ["fixtures/models/resnet.h5", "--heavy-tail"],
        ]
        for args in runs {
            let r = try CLI.run(args + ["--json", "-", "--no-timestamps"])
            XCTAssertTrue(r.status == 0 || r.status == 1, "\(args): \(r.stderr)")
            let obj = try JSONSerialization.jsonObject(with: r.stdoutData)
            assertNullsExplained(obj, path: args.joined(separator: " "))
        }
    }
}
