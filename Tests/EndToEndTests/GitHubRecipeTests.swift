import AuditReport
import Foundation
import XCTest

/// Issue 15 item 2: the README's GitHub Actions step runs as written. The runner creates an
/// empty `$GITHUB_STEP_SUMMARY` before every step; `--markdown` onto it must append, never
/// refuse it (exit 73) or wipe what earlier commands of the step wrote there.
final class GitHubRecipeTests: XCTestCase {
    /// The shell lines of the README step named `name` (its `run: |` block, dedented).
    static func readmeStep(_ name: String) throws -> String {
        let readme = try String(contentsOf: CLI.packageRoot.appendingPathComponent("README.md"), encoding: .utf8)
        let lines = readme.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "- name: \(name)" }) else {
            throw XCTSkip("README.md has no workflow step named '\(name)'")
        }
        guard lines[start + 1].trimmingCharacters(in: .whitespaces) == "run: |" else {
            XCTFail("the step '\(name)' has no 'run: |' block")
            return ""
        }
        var body: [String] = []
        var indent: Int?
        for line in lines[(start + 2)...] {
            let lead = line.prefix { $0 == " " }.count
            if line.trimmingCharacters(in: .whitespaces).isEmpty { break }
            if indent == nil { indent = lead }
            guard lead >= indent! else { break }
            body.append(String(line.dropFirst(indent!)))
        }
        return body.joined(separator: "\n") + "\n"
    }

    /// A checkout like the one the workflow audits: the model, a policy, a released baseline,
    /// and `spectral-audit` on PATH.
    func makeWorkspace() throws -> URL {
        let ws = try CLI.temporaryDirectory()
        let fm = FileManager.default
        for d in ["models", "ci", "released", "bin"] {
            try fm.createDirectory(at: ws.appendingPathComponent(d), withIntermediateDirectories: true)
        }
        try fm.copyItem(at: CLI.packageRoot.appendingPathComponent("fixtures/models/cnn.h5"),
                        to: ws.appendingPathComponent("models/classifier.h5"))
        let policy = """
        {"schema": "spectral-audit-policy/1",
         "rules": [{"layers": "conv*", "metric": "spectral_norm", "max": 10},
                   {"layers": "logits", "metric": "normalized_entropy", "min": 0.1}]}
        """
        try policy.write(to: ws.appendingPathComponent("ci/spectral-policy.json"), atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: ws.appendingPathComponent("bin/spectral-audit").path, withDestinationPath: CLI.binary)
        let base = try CLI.run(["models/classifier.h5", "--json", "released/classifier.audit.json", "--quiet"], cwd: ws)
        XCTAssertEqual(base.status, 0, base.stderr)
        return ws
    }

    /// Runs `script` as GitHub's `run:` does on Linux (`bash --noprofile --norc -eo pipefail`)
    /// with the variables a runner sets.
    func runStep(_ script: String, in ws: URL, summary: URL) throws -> CLI.Result {
        let file = ws.appendingPathComponent("step.sh")
        try script.write(to: file, atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = ["--noprofile", "--norc", "-eo", "pipefail", file.path]
        p.currentDirectoryURL = ws
        var env = ProcessInfo.processInfo.environment
        env["PATH"] = ws.appendingPathComponent("bin").path + ":" + (env["PATH"] ?? "/usr/bin:/bin")
        env["GITHUB_STEP_SUMMARY"] = summary.path
        env["GITHUB_ACTIONS"] = "true"
        env["CI"] = "true"
        env["GITHUB_WORKSPACE"] = ws.path
        env["RUNNER_TEMP"] = NSTemporaryDirectory()
        env["RUNNER_OS"] = "Linux"
        env["GITHUB_OUTPUT"] = ws.appendingPathComponent(".gh-output").path
        env["GITHUB_ENV"] = ws.appendingPathComponent(".gh-env").path
        env.removeValue(forKey: "NO_COLOR")
        p.environment = env
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return CLI.Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData, as: UTF8.self), stdoutData: outData)
    }

    func testReadmeWorkflowStepRunsVerbatim() throws {
        let script = try Self.readmeStep("Audit the model")
        XCTAssertTrue(script.contains("--markdown \"$GITHUB_STEP_SUMMARY\""), script)
        let ws = try makeWorkspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        // The runner's summary file exists, empty, before the step starts.
        let summary = ws.appendingPathComponent("step_summary_1")
        FileManager.default.createFile(atPath: summary.path, contents: Data())
        let r = try runStep(script, in: ws, summary: summary)
        XCTAssertEqual(r.status, 0, "stdout: \(r.stdout)\nstderr: \(r.stderr)")
        for f in ["audit.json", "audit.xml", "audit.html"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: ws.appendingPathComponent(f).path), f)
        }
        let md = try String(contentsOf: summary, encoding: .utf8)
        XCTAssertTrue(md.hasPrefix("## spectral-audit: ✓ PASS"), md)
        let report = try AuditReportV1.decode(Data(contentsOf: ws.appendingPathComponent("audit.json")))
        XCTAssertEqual(report.verdict, .pass)
        XCTAssertTrue(report.checks.contains { $0.id == "baseline.gmsi" }, "\(report.checks.map(\.id))")
        XCTAssertFalse(r.stdout.contains("::error"), r.stdout)
        let left = try FileManager.default.contentsOfDirectory(atPath: ws.path).filter { $0.hasPrefix(".") && $0.contains(".tmp-") }
        XCTAssertEqual(left, [])
    }

    /// What earlier commands of the step wrote to the summary stays, ahead of the audit's.
    func testStepSummaryIsAppendedNotReplaced() throws {
        let ws = try makeWorkspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        let summary = ws.appendingPathComponent("step_summary_2")
        try "# Release checks\n\nunit tests: ok\n".write(to: summary, atomically: true, encoding: .utf8)
        let r = try runStep("spectral-audit models/classifier.h5 --threshold 50 --markdown \"$GITHUB_STEP_SUMMARY\" --quiet\n",
                            in: ws, summary: summary)
        XCTAssertEqual(r.status, 0, r.stderr)
        let md = try String(contentsOf: summary, encoding: .utf8)
        XCTAssertTrue(md.hasPrefix("# Release checks\n\nunit tests: ok\n"), md)
        XCTAssertTrue(md.contains("\n## spectral-audit: ✓ PASS"), md)
        // A second audit in the same step appends again.
        let again = try runStep("spectral-audit models/classifier.h5 --threshold 1 --markdown \"$GITHUB_STEP_SUMMARY\" --quiet || true\n",
                                in: ws, summary: summary)
        XCTAssertEqual(again.status, 0, again.stderr)
        let md2 = try String(contentsOf: summary, encoding: .utf8)
        XCTAssertTrue(md2.hasPrefix(md), md2)
        XCTAssertTrue(md2.contains("## spectral-audit: ✗ FAIL"), md2)
    }

    /// An append that cannot complete (here: the file-size limit, `ulimit -f`, with SIGXFSZ
    /// ignored so the write fails with EFBIG) leaves the earlier content exactly as it was.
    func testFailedAppendKeepsEarlierContent() throws {
        let ws = try makeWorkspace()
        defer { try? FileManager.default.removeItem(at: ws) }
        let summary = ws.appendingPathComponent("step_summary_3")
        let earlier = String(repeating: "earlier line of the step summary\n", count: 28)  // 924 bytes
        try earlier.write(to: summary, atomically: true, encoding: .utf8)
        let r = try runStep("""
            trap '' XFSZ
            ulimit -f 1
            spectral-audit models/classifier.h5 --threshold 50 --markdown "$GITHUB_STEP_SUMMARY" --quiet
            """, in: ws, summary: summary)
        XCTAssertEqual(r.status, 73, r.stderr)
        XCTAssertTrue(r.stderr.contains(summary.path), r.stderr)
        XCTAssertEqual(try String(contentsOf: summary, encoding: .utf8), earlier, "earlier content must survive a failed append")
    }

    /// `--markdown-append` outside GitHub: appends to any file; without it an existing file is
    /// still refused (exit 73) and kept.
    func testMarkdownAppendFlag() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let notes = dir.appendingPathComponent("notes.md").path
        try "before\n".write(toFile: notes, atomically: true, encoding: .utf8)
        let refused = try CLI.run(["fixtures/models/mlp.h5", "--markdown", notes, "--quiet"])
        XCTAssertEqual(refused.status, 73, refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: notes, encoding: .utf8), "before\n")
        let r = try CLI.run(["fixtures/models/mlp.h5", "--markdown", notes, "--markdown-append", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let md = try String(contentsOfFile: notes, encoding: .utf8)
        XCTAssertTrue(md.hasPrefix("before\n"), md)
        XCTAssertTrue(md.contains("## spectral-audit:"), md)
        // A file that does not exist yet is created.
        let fresh = dir.appendingPathComponent("fresh.md").path
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--markdown", fresh, "--markdown-append", "--quiet"]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: fresh, encoding: .utf8).hasPrefix("## spectral-audit:"))
        // --markdown-append needs --markdown.
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--markdown-append"]).status, 2)
    }
}
