import AuditReport
import Foundation
import XCTest

/// The man pages cannot drift from the tool: every flag `--help` prints is documented in
/// spectral-audit(1), and every field a report can contain is explained in spectral-audit-metrics(7).
final class ManualTests: XCTestCase {
    static let man = CLI.packageRoot.appendingPathComponent("man")

    func page(_ name: String) throws -> String {
        // Undo roff escapes for hyphens so a plain search finds `--flag`.
        try String(contentsOf: Self.man.appendingPathComponent(name), encoding: .utf8)
            .replacingOccurrences(of: "\\-", with: "-").replacingOccurrences(of: "\\(hy", with: "-")
    }

    func flags(in help: String) -> Set<String> {
        let pattern = try! NSRegularExpression(pattern: "--[a-z][a-z0-9-]*")
        let range = NSRange(help.startIndex..., in: help)
        return Set(pattern.matches(in: help, range: range).map { String(help[Range($0.range, in: help)!]) })
    }

    func testEveryHelpFlagIsInTheManPage() throws {
        let manual = try page("spectral-audit.1")
        var all = Set<String>()
        for command in [["--help"], ["audit", "--help"], ["inspect", "--help"], ["merge", "--help"], ["repair", "--help"]] {
            let r = try CLI.run(command)
            XCTAssertEqual(r.status, 0, r.stderr)
            all.formUnion(flags(in: r.stdout))
        }
        XCTAssertTrue(all.contains("--threshold"))
        for flag in all.sorted() {
            XCTAssertTrue(manual.contains(flag), "\(flag) is in --help but not in man/spectral-audit.1")
        }
    }

    func testEveryReportMetricIsInTheMetricsPage() throws {
        let manual = try page("spectral-audit-metrics.7")
        var names = SpectrumMetricsV1.names
        names += ["lipschitz_bound", "log10_lipschitz_bound", "typical_bound", "typical_bound_stable_rank",
                  "layer_share", "gmsi", "gmsi_mode", "gmsi_components", "operator_norm", "operator_norm_method",
                  "ww_alpha", "ww_alpha_weighted", "ww_xmin", "ww_ks_distance", "ww_mp_bulk_edge", "ww_mp_spikes",
                  "g_J", "g_theta", "g_K", "g_H",
                  // report schema 2.0.0
                  "data_gmsi", "data_gmsi_components", "data_gmsi_null_reasons", "data_gmsi_reason", "data_gmsi_aggregate",
                  "warnings", "null_reasons", "typical_bound_reason", "data_threshold"]
        // Delta audits (--base, LoRA): every policy-usable delta metric and the delta fields.
        names += DeltaReport.metricNames + DeltaReport.networkMetricNames
        names += ["top_k", "isotropic_share", "bound_factor_base", "bound_factor_model", "unmatched_model",
                  "unmatched_base", "mismatched", "quantization", "lora_thin_qr_gesdd"]
        for name in names {
            XCTAssertTrue(manual.contains(name), "\(name) is a report field but not in man/spectral-audit-metrics.7")
        }
    }

    func testExitCodesAreDocumented() throws {
        let manual = try page("spectral-audit.1")
        for code in ["65", "66", "70", "73", "130", "143"] {
            XCTAssertTrue(manual.contains(code), "exit code \(code) missing from spectral-audit(1)")
        }
    }
}
