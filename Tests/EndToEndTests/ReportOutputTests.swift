import AuditReport
import Foundation
import HDF5Kit
import TestSupport
import XCTest

/// Reports written by the binary: golden JSON, determinism, every output format, the annotated
/// HDF5 copy, baselines.
final class ReportOutputTests: XCTestCase {
    static let golden = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// `--json - --no-timestamps` matches the committed golden report structurally (every key,
    /// string and flag exactly; every number to 1e-12 relative, since OpenBLAS kernels differ in
    /// the last ulps between Intel and AMD CPUs) and is byte-identical across `--jobs` values on
    /// this machine. Regenerate with `UPDATE_GOLDEN=1 swift test --filter ReportOutputTests`.
    func testGoldenReportsAndDeterminism() throws {
        for model in ["mlp.h5", "cnn.h5", "resnet.h5", "mlp_torch.safetensors"] {
            let args = ["fixtures/models/" + model, "--json", "-", "--no-timestamps", "--threshold", "50"]
            let one = try CLI.run(args + ["--jobs", "1"])
            let two = try CLI.run(args + ["--jobs", "2"])
            XCTAssertEqual(one.status, 0, one.stderr)
            XCTAssertEqual(one.stdoutData, two.stdoutData, "\(model): output depends on --jobs")
            let file = Self.golden.appendingPathComponent(model + ".json")
            if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
                try one.stdoutData.write(to: file)
                continue
            }
            let expected = try Data(contentsOf: file)
            let diffs = try JSONApprox.differences(one.stdoutData, expected, relativeTolerance: 1e-12)
            XCTAssertEqual(diffs, [], "\(model) differs from its golden report:\n" + diffs.joined(separator: "\n"))
            let report = try AuditReportV1.decode(one.stdoutData)
            XCTAssertNil(report.created)
            XCTAssertEqual(report.definitions, ReportVersion.definitions)
        }
    }

    func testEveryOutputFormatIsWritten() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        func p(_ n: String) -> String { dir.appendingPathComponent(n).path }
        let r = try CLI.run(["fixtures/models/cnn.h5", "--threshold", "5", "--json", p("r.json"), "--junit", p("j.xml"),
                             "--markdown", p("m.md"), "--html", p("r.html"), "--github", "--quiet"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.hasPrefix("::error "), r.stdout)
        let junit = try String(contentsOfFile: p("j.xml"), encoding: .utf8)
        XCTAssertTrue(junit.contains("<failure"))
        XCTAssertTrue(junit.contains("gmsi.threshold"))
        XCTAssertTrue(try String(contentsOfFile: p("m.md"), encoding: .utf8).contains("gmsi.threshold"))
        let html = try String(contentsOfFile: p("r.html"), encoding: .utf8)
        XCTAssertTrue(html.contains("<svg"))
        XCTAssertFalse(html.contains("<script"))
        // No temporary files are left behind.
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        XCTAssertEqual(left, [])
    }

    /// `--output`: every original object and attribute is bit-identical, the audit group holds
    /// the report and the spectra, `inspect` shows the stored audit, and the file serves as a
    /// baseline.
    func testAnnotatedHDF5RoundTrip() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("cnn.audited.h5").path
        let r = try CLI.run(["fixtures/models/cnn.h5", "--output", out, "--json", dir.appendingPathComponent("r.json").path,
                             "--no-timestamps", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let src = try HDF5File.openReadOnly(path: CLI.packageRoot.appendingPathComponent("fixtures/models/cnn.h5").path).root
        let dst = try HDF5File.openReadOnly(path: out).root
        try assertSameContent(src, dst, path: "")
        for name in try src.attributeNames() {
            let info = try src.attributeInfo(name)
            if info.type.typeClass == .string {
                XCTAssertEqual(try src.readStringsAttribute(name), try dst.readStringsAttribute(name), name)
            }
        }
        let audit = try dst.openGroup("spectral_audit")
        XCTAssertEqual(try audit.readStringsAttribute("Conventions"), ["spectral-audit-1"])
        XCTAssertFalse(try audit.hasAttribute("created"), "--no-timestamps omits created")
        let stored = try AuditReportV1.decode(Data(try audit.openDataset("report_json").readStrings()[0].utf8))
        let written = try AuditReportV1.decode(Data(contentsOf: dir.appendingPathComponent("r.json")))
        XCTAssertEqual(stored, written)
        for layer in stored.layers where layer.singularValues != nil {
            let values = try audit.openDataset("layers/" + layer.name + "/singular_values").readDoubles()
            XCTAssertEqual(values, layer.singularValues, layer.name)
        }
        let kernel = try dst.openDataset("model_weights/conv1/cnn/conv1/kernel")
        XCTAssertEqual(try kernel.readStringsAttribute("audit_layer"), ["conv1"])
        XCTAssertEqual(try kernel.readDoublesAttribute("spectral_norm"), [stored.layers.first { $0.name == "conv1" }!.metrics!.spectralNorm])

        let inspect = try CLI.run(["inspect", out])
        XCTAssertTrue(inspect.stdout.contains("stored audit: verdict pass"), inspect.stdout)
        let baseline = try CLI.run(["fixtures/models/cnn.h5", "--baseline", out, "--max-increase", "0", "--quiet"])
        XCTAssertEqual(baseline.status, 0, baseline.stderr)
        // Re-auditing the annotated file itself works, and its audit group is reported, not analysed.
        let again = try CLI.run([out, "--json", "-", "--no-timestamps"])
        XCTAssertEqual(again.status, 0, again.stderr)
        let againReport = try AuditReportV1.decode(again.stdoutData)
        XCTAssertEqual(againReport.gmsi, stored.gmsi)
    }

    /// Non-HDF5 inputs become one dataset per tensor under its original name and dtype; an
    /// annotated file annotated again keeps one `/spectral_audit` group.
    func testAnnotatingSafetensorsAndReannotating() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("mlp.h5").path
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp_torch.safetensors", "--output", out, "--quiet"]).status, 0)
        let root = try HDF5File.openReadOnly(path: out).root
        let w = try root.openDataset("d1.weight")
        XCTAssertEqual(try w.shape, [16, 8])
        XCTAssertEqual(try w.typeInfo.typeClass, .float)
        XCTAssertEqual(try w.typeInfo.size, 4)
        XCTAssertEqual(try w.readStringsAttribute("audit_layer"), ["d1"])
        let again = dir.appendingPathComponent("again.h5").path
        XCTAssertEqual(try CLI.run([out, "--output", again, "--quiet", "--no-timestamps"]).status, 0)
        let r2 = try HDF5File.openReadOnly(path: again).root
        XCTAssertEqual(try r2.openDataset("d1.weight").readNativeBytes(), try w.readNativeBytes())
        let stored = try AuditReportV1.decode(Data(try r2.openDataset("spectral_audit/report_json").readStrings()[0].utf8))
        XCTAssertEqual(stored.input.path, out)
        XCTAssertFalse(stored.layers.contains { $0.tensors.contains { $0.hasPrefix("spectral_audit/") } && $0.status == .analyzed })
    }

    func testBaselineRegressionFails() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = dir.appendingPathComponent("mlp.json").path
        XCTAssertEqual(try CLI.run(["fixtures/models/mlp.h5", "--json", base, "--quiet"]).status, 0)
        // Tamper: pretend the released model had a smaller gmsi.
        var text = try String(contentsOfFile: base, encoding: .utf8)
        let report = try AuditReportV1.decode(Data(text.utf8))
        text = text.replacingOccurrences(of: "\"gmsi\" : \(report.gmsi!)", with: "\"gmsi\" : 1.0")
        try text.write(toFile: base, atomically: true, encoding: .utf8)
        let r = try CLI.run(["fixtures/models/mlp.h5", "--baseline", base, "--max-increase", "5"])
        XCTAssertEqual(r.status, 1, r.stdout)
        XCTAssertTrue(r.stdout.contains("baseline.gmsi"), r.stdout)
    }

    /// Datasets and groups of `a` exist in `b` with identical bytes and attributes.
    private func assertSameContent(_ a: HDF5Group, _ b: HDF5Group, path: String) throws {
        for link in try a.links() {
            let p = path.isEmpty ? link.name : path + "/" + link.name
            switch link.kind {
            case .group:
                try assertSameContent(try a.openGroup(link.name), try b.openGroup(link.name), path: p)
            case .dataset:
                let da = try a.openDataset(link.name), db = try b.openDataset(link.name)
                XCTAssertEqual(try da.readNativeBytes(), try db.readNativeBytes(), p)
                XCTAssertEqual(try da.typeInfo, try db.typeInfo, p)
                XCTAssertEqual(try da.storage, try db.storage, p)
                for name in try da.attributeNames() {
                    XCTAssertEqual(try da.attributeInfo(name).shape, try db.attributeInfo(name).shape, "\(p)@\(name)")
                }
            default:
                continue
            }
        }
        for name in try a.attributeNames() {
            XCTAssertTrue(try b.hasAttribute(name), "\(path)@\(name) missing")
        }
    }
}
