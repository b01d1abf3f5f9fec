import AuditReport
import Foundation
import XCTest

/// Issue 15 items 3, 4 and 6: one meaning per gate, no silent gates, the small things a user
/// notices. Each test failed on the behaviour before the fix.
final class GateTests: XCTestCase {
    let cnn = "fixtures/models/cnn.h5"
    let probe = "fixtures/models/probe_cnn_256.npy"

    func json(_ r: CLI.Result) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: r.stdoutData) as! [String: Any]
    }

    // MARK: Item 3: one meaning per gate

    /// `gmsi` is the weights-only bound with or without probes; `--threshold` judges it; the
    /// data aggregate is `data_gmsi`, judged by `--data-threshold` under its own check id.
    func testThresholdJudgesTheWeightsOnlyGMSIWithOrWithoutProbes() throws {
        let plain = try CLI.run([cnn, "--threshold", "10", "--json", "-", "--no-timestamps"])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        let weights = try AuditReportV1.decode(plain.stdoutData)
        let withProbe = try CLI.run([cnn, "--threshold", "10", "--probe", probe, "--json", "-", "--no-timestamps"])
        XCTAssertEqual(withProbe.status, 0, "adding probes must not flip the --threshold gate: \(withProbe.stderr)")
        let obj = try json(withProbe)
        XCTAssertEqual(obj["gmsi"] as? Double, weights.gmsi)
        XCTAssertEqual(obj["gmsi"] as? Double, weights.network.lipschitzBound)
        XCTAssertEqual(obj["gmsi_mode"] as? String, "weights")
        let dataGMSI = try XCTUnwrap(obj["data_gmsi"] as? Double)
        XCTAssertGreaterThan(dataGMSI, 10)
        let components = try XCTUnwrap(obj["data_gmsi_components"] as? [String: Any])
        XCTAssertFalse(components.isEmpty)
        XCTAssertEqual(obj["definitions"] as? String, "spectral-audit/2")
        let checks = try XCTUnwrap(obj["checks"] as? [[String: Any]])
        XCTAssertEqual(checks.map { $0["id"] as? String }, ["gmsi.threshold"])

        let gated = try CLI.run([cnn, "--threshold", "10", "--data-threshold", "10", "--probe", probe])
        XCTAssertEqual(gated.status, 1, gated.stderr)
        XCTAssertTrue(gated.stdout.contains("data_gmsi.threshold"), gated.stdout)
        // The table names the quantity each check judged.
        let lines = gated.stdout.components(separatedBy: "\n")
        let gmsiRow = try XCTUnwrap(lines.first { $0.contains("pass") && $0.contains("gmsi.threshold") && !$0.contains("data_gmsi") })
        XCTAssertTrue(gmsiRow.contains("weights-only"), gmsiRow)
        let dataRow = try XCTUnwrap(lines.first { $0.contains("FAIL") && $0.contains("data_gmsi.threshold") })
        XCTAssertTrue(dataRow.contains("probe"), dataRow)

        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func p(_ n: String) -> String { dir.appendingPathComponent(n).path }
        _ = try CLI.run([cnn, "--threshold", "10", "--data-threshold", "10", "--probe", probe, "--markdown", p("m.md"),
                         "--html", p("r.html"), "--junit", p("j.xml"), "--quiet"])
        for f in ["m.md", "r.html"] {
            // (Markdown escapes `_`.)
            let text = try String(contentsOfFile: p(f), encoding: .utf8).replacingOccurrences(of: "\\_", with: "_")
            XCTAssertTrue(text.contains("data_gmsi.threshold") && text.contains("weights-only"), f)
        }
        let junit = try String(contentsOfFile: p("j.xml"), encoding: .utf8)
        XCTAssertTrue(junit.contains("data_gmsi"), junit)
        // --data-threshold needs --probe.
        XCTAssertEqual(try CLI.run([cnn, "--data-threshold", "10"]).status, 2)
    }

    // MARK: Item 4: no silent gates

    func testPolicyRuleMatchingNoLayerIsAnErrorUnlessOptional() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let policy = dir.appendingPathComponent("p.json").path
        try """
        {"rules": [{"layers": "conv*", "metric": "spectral_norm", "max": 10},
                   {"layers": "d?", "metric": "condition", "max": 1000}]}
        """.write(toFile: policy, atomically: true, encoding: .utf8)
        let r = try CLI.run([cnn, "--policy", policy, "--quiet"])
        XCTAssertEqual(r.status, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("d?") && r.stderr.contains("rules[1]"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        try """
        {"rules": [{"layers": "conv*", "metric": "spectral_norm", "max": 10},
                   {"layers": "d?", "metric": "condition", "max": 1000, "optional": true}]}
        """.write(toFile: policy, atomically: true, encoding: .utf8)
        let ok = try CLI.run([cnn, "--policy", policy, "--json", "-"])
        XCTAssertEqual(ok.status, 0, ok.stderr)
        let warnings = (try json(ok)["warnings"] as? [String]) ?? []
        XCTAssertTrue(warnings.contains { $0.contains("d?") }, "\(warnings)")
        // A typo in "optional" is refused like any unknown key.
        try """
        {"rules": [{"layers": "d?", "metric": "condition", "max": 1000, "optional": "yes"}]}
        """.write(toFile: policy, atomically: true, encoding: .utf8)
        XCTAssertEqual(try CLI.run([cnn, "--policy", policy, "--quiet"]).status, 65)
    }

    func testInputShapeIsValidated() throws {
        for bad in ["8x", "x8", "0x3", "-3x3", "8x8x", "8xx8", "a", ""] {
            let r = try CLI.run([cnn, "--input-shape=\(bad)", "--quiet"])
            XCTAssertEqual(r.status, 2, "\(bad): \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("--input-shape"), "\(bad): \(r.stderr)")
        }
        // Smaller than a kernel (3×3), or the wrong number of spatial dimensions.
        for bad in ["1x1", "8x8x3", "8"] {
            let r = try CLI.run([cnn, "--input-shape", bad, "--force-input-shape", "--quiet"])
            XCTAssertEqual(r.status, 2, "\(bad): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        // The model stores 8×8×3 inputs: another size needs --force-input-shape.
        let conflict = try CLI.run([cnn, "--input-shape", "32x32", "--quiet"])
        XCTAssertEqual(conflict.status, 2, conflict.stderr)
        XCTAssertTrue(conflict.stderr.contains("--force-input-shape"), conflict.stderr)
        XCTAssertEqual(try CLI.run([cnn, "--input-shape", "8x8", "--quiet"]).status, 0)
        let forced = try CLI.run([cnn, "--input-shape", "32x32", "--force-input-shape", "--json", "-"])
        XCTAssertEqual(forced.status, 0, forced.stderr)
        let assumptions = (try json(forced)["assumptions"] as? [String]) ?? []
        XCTAssertTrue(assumptions.contains { $0.contains("32×32") && $0.contains("--input-shape") }, "\(assumptions)")
        XCTAssertEqual(try CLI.run([cnn, "--force-input-shape", "--quiet"]).status, 2, "needs --input-shape")
    }

    /// The input size behind the convolution norms is an assumption line in every output.
    func testInputShapeUsedIsStatedInEveryOutput() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func p(_ n: String) -> String { dir.appendingPathComponent(n).path }
        let r = try CLI.run([cnn, "--json", p("r.json"), "--markdown", p("m.md"), "--html", p("r.html")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let phrase = "input spatial size 8×8"
        XCTAssertTrue(r.stdout.contains(phrase), r.stdout)
        for f in ["r.json", "m.md", "r.html"] {
            XCTAssertTrue(try String(contentsOfFile: p(f), encoding: .utf8).contains(phrase), f)
        }
        // Without a known size, the outputs say the norms hold for every input size.
        let inferred = try CLI.run(["fixtures/models/cnn_torch.safetensors", "--json", "-"])
        let assumptions = (try json(inferred)["assumptions"] as? [String]) ?? []
        XCTAssertTrue(assumptions.contains { $0.contains("no input spatial size") }, "\(assumptions)")
    }

    /// A baseline whose numbers were computed another way is not a regression.
    func testIncomparableBaselineIsNotARegression() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("base.json").path
        // The same weights, structure from a manifest (fft_padded_bound conv norms, L = 8.685) …
        XCTAssertEqual(try CLI.run(["fixtures/models/cnn_torch.safetensors", "--arch", "fixtures/examples/cnn_torch.arch.json",
                                    "--json", base, "--quiet"]).status, 0)
        // … and inferred from names (upper_bound conv norms, L = 17.38): twice the "gmsi".
        let r = try CLI.run(["fixtures/models/cnn_torch.safetensors", "--baseline", base, "--max-increase", "5", "--json", "-"])
        let obj = try json(r)
        let checks = try XCTUnwrap(obj["checks"] as? [[String: Any]])
        XCTAssertFalse(checks.contains { $0["id"] as? String == "baseline.gmsi" && $0["passed"] as? Bool == false },
                       "a false regression: \(checks)")
        let incomparable = try XCTUnwrap(checks.first { $0["id"] as? String == "baseline.incomparable" }, "\(checks)")
        let message = incomparable["message"] as? String ?? ""
        XCTAssertTrue(message.contains("operator_norm_method") || message.contains("structure"), message)
        let warnings = (obj["warnings"] as? [String]) ?? []
        XCTAssertTrue(warnings.contains { $0.contains("fft_padded_bound") && $0.contains("upper_bound") }, "\(warnings)")
        XCTAssertTrue(warnings.contains { $0.contains("manifest") && $0.contains("inferred") }, "\(warnings)")
        // Per-layer σ_max of the reshaped kernels does not depend on those: still compared.
        XCTAssertTrue(checks.contains { $0["id"] as? String == "baseline.layer.spectral_norm" })
        XCTAssertEqual(r.status, 1, "incomparable fails the gate unless --allow-unavailable")
        let allowed = try CLI.run(["fixtures/models/cnn_torch.safetensors", "--baseline", base, "--max-increase", "5",
                                   "--allow-unavailable", "--quiet"])
        XCTAssertEqual(allowed.status, 0, allowed.stderr)

        // A report of schema 1 whose gmsi was the data-mode aggregate.
        let old = dir.appendingPathComponent("old.json").path
        XCTAssertEqual(try CLI.run([cnn, "--json", old, "--quiet"]).status, 0)
        var text1 = try String(contentsOfFile: old, encoding: .utf8)
        text1 = text1.replacingOccurrences(of: "\"gmsi_mode\" : \"weights\"", with: "\"gmsi_mode\" : \"data\"")
            .replacingOccurrences(of: "\"schema_version\" : \"2.0.0\"", with: "\"schema_version\" : \"1.0.0\"")
        try text1.write(toFile: old, atomically: true, encoding: .utf8)
        let o = try json(try CLI.run([cnn, "--baseline", old, "--json", "-"]))
        let oc = try XCTUnwrap(o["checks"] as? [[String: Any]])
        XCTAssertTrue(oc.contains { $0["id"] as? String == "baseline.incomparable" && ($0["message"] as? String ?? "").contains("data-mode") }, "\(oc)")

        // A baseline of another model: unmatched layers are named.
        let other = dir.appendingPathComponent("mlp.json").path
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--json", other, "--quiet"]).status, 0)
        let m = try CLI.run([cnn, "--baseline", other, "--json", "-"])
        let mo = try json(m)
        let mw = (mo["warnings"] as? [String]) ?? []
        XCTAssertTrue(mw.contains { $0.contains("conv1") && $0.contains("not in the baseline") }, "\(mw)")
        XCTAssertTrue(mw.contains { $0.contains("d1") && $0.contains("only in the baseline") }, "\(mw)")
        let mc = try XCTUnwrap(mo["checks"] as? [[String: Any]])
        XCTAssertTrue(mc.contains { $0["id"] as? String == "baseline.incomparable" }, "\(mc)")
        let text = try CLI.run([cnn, "--baseline", other])
        XCTAssertTrue(text.stdout.contains("Warnings"), text.stdout)
    }

    // MARK: Item 6: small things

    func testHeavyTailColumnsAppearInEveryTable() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func p(_ n: String) -> String { dir.appendingPathComponent(n).path }
        let r = try CLI.run([cnn, "--heavy-tail", "--markdown", p("m.md"), "--html", p("r.html")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let header = try XCTUnwrap(r.stdout.components(separatedBy: "\n").first { $0.contains("σ_max") && $0.contains("status") })
        XCTAssertTrue(header.contains("ww_alpha"), header)
        XCTAssertTrue(try String(contentsOfFile: p("m.md"), encoding: .utf8).contains("| ww_alpha"))
        XCTAssertTrue(try String(contentsOfFile: p("r.html"), encoding: .utf8).contains(">ww_alpha<"))
        let plain = try CLI.run([cnn])
        XCTAssertFalse(plain.stdout.contains("ww_alpha"))
    }

    func testLongLayerNamesWrapInsteadOfBeingCut() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = "encoder.block-00017.output-projection.dense-layer-with-a-long-name"
        let file = dir.appendingPathComponent("long.safetensors")
        try TinyFiles.safetensors([(name + ".weight", [4, 6]), ("head.weight", [3, 4])]).write(to: file)
        func p(_ n: String) -> String { dir.appendingPathComponent(n).path }
        let r = try CLI.run([file.path, "--markdown", p("m.md"), "--html", p("r.html")])
        XCTAssertEqual(r.status, 0, r.stderr)
        // (Only the sha256 is abbreviated.)
        // (Only the sha256 is abbreviated, and the bar labels inside SVG charts, whose <title> holds the full name.)
        func cut(_ text: String) -> Bool {
            text.components(separatedBy: "\n").contains { $0.contains("…") && !$0.contains("sha256") && !$0.hasPrefix("<svg") }
        }
        XCTAssertFalse(cut(r.stdout), r.stdout)
        // The pieces of the wrapped name, read down the first column, give the whole name.
        let rows = r.stdout.components(separatedBy: "\n").drop { !$0.contains("shape [out,in]") }.dropFirst()
        let first = rows.prefix { !$0.isEmpty }.map { $0.dropFirst(2).split(separator: " ", maxSplits: 1).first.map(String.init) ?? "" }
        XCTAssertTrue(first.joined().contains(name), "\(first)")
        for f in ["m.md", "r.html"] {
            let text = try String(contentsOfFile: p(f), encoding: .utf8)
            // The whole name, followed by the structure's guess marker when the layer was inferred.
            XCTAssertTrue(text.contains(">" + name + "<") || text.contains("| " + name + " |")
                          || text.contains(">" + name + " †<") || text.contains("| " + name + " † |"), f)
            XCTAssertFalse(cut(text), f)
        }
    }

    func testCountsAreGrammatical() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("one.safetensors")
        try TinyFiles.safetensors([("fc.weight", [3, 4])]).write(to: file)
        let r = try CLI.run([file.path, "--threshold", "50"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("1 factor\n"), r.stdout)
        XCTAssertFalse(r.stdout.contains("1 factors"), r.stdout)
        XCTAssertTrue(r.stdout.contains("the 1 check passed"), r.stdout)
        XCTAssertFalse(r.stdout.contains("all 1 checks"), r.stdout)
        let policy = dir.appendingPathComponent("p.json").path
        try "{\"gmsi_max\": 50}".write(toFile: policy, atomically: true, encoding: .utf8)
        let two = try CLI.run([file.path, "--threshold", "50", "--policy", policy])
        XCTAssertTrue(two.stdout.contains("all 2 checks passed"), two.stdout)
        let md = dir.appendingPathComponent("m.md").path
        XCTAssertEqual(try CLI.run([file.path, "--threshold", "50", "--markdown", md, "--quiet"]).status, 0)
        XCTAssertTrue(try String(contentsOfFile: md, encoding: .utf8).contains("the 1 check passed"))
    }

    func testNegativeThresholdsHaveAClearMessage() throws {
        for args in [["--threshold", "-5"], ["--threshold=-5"], ["--max-increase", "-1", "--baseline", cnn]] {
            let r = try CLI.run([cnn] + args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("Missing value"), r.stderr)
            XCTAssertTrue(r.stderr.contains("≥ 0") || r.stderr.contains("negative"), r.stderr)
        }
    }

    func testInspectShowsTheModelInputShape() throws {
        let r = try CLI.run(["inspect", cnn])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("input shape: [8, 8, 3]"), r.stdout)
        let j = try CLI.run(["inspect", cnn, "--json"])
        let obj = try json(j)
        XCTAssertEqual(obj["input_shape"] as? [Int], [8, 8, 3])
        let manifest = try CLI.run(["inspect", "fixtures/models/mlp_torch.safetensors"])
        XCTAssertFalse(manifest.stdout.contains("input shape:"), "no shape stored: none printed")
    }

    /// A long run on a non-TTY stderr (CI logs) prints a progress line at a fixed interval
    /// (10 s; shortened here through the internal SPECTRAL_AUDIT_PROGRESS_INTERVAL).
    func testProgressLinesOnANonTTYStderr() throws {
        let args = [cnn, "--probe", probe, "--labels", "fixtures/models/probe_cnn_256_labels.npy"]
        let r = try CLI.run(args, environment: ["SPECTRAL_AUDIT_PROGRESS_INTERVAL": "0.2"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertGreaterThanOrEqual(lines.count, 2, r.stderr)
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("spectral-audit: progress") }, r.stderr)
        XCTAssertFalse(r.stderr.contains("\u{1B}"), "no terminal escapes in a log")
        let quiet = try CLI.run(args + ["--quiet"], environment: ["SPECTRAL_AUDIT_PROGRESS_INTERVAL": "0.2"])
        XCTAssertEqual(quiet.stderr, "")
        // The default interval is 10 s: a short run prints nothing.
        XCTAssertEqual(try CLI.run([cnn]).stderr, "")
    }
}

/// Small model files written by tests (float32, little-endian, deterministic values).
enum TinyFiles {
    static func values(_ count: Int, seed: Int) -> [Float] {
        (0..<count).map { i in Float(sin(Double(i * 7 + seed * 13 + 1))) }
    }

    static func floatBytes(_ v: [Float]) -> Data {
        var d = Data()
        for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { d.append(contentsOf: $0) } }
        return d
    }

    static func safetensors(_ tensors: [(String, [Int])]) -> Data {
        var header: [String] = []
        var body = Data()
        for (i, (name, shape)) in tensors.enumerated() {
            let bytes = floatBytes(values(shape.reduce(1, *), seed: i))
            header.append("\"\(name)\":{\"dtype\":\"F32\",\"shape\":[\(shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(body.count),\(body.count + bytes.count)]}")
            body.append(bytes)
        }
        var json = Data(("{" + header.joined(separator: ",") + "}").utf8)
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
        return out + json + body
    }
}
