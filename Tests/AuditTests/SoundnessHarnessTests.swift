import Foundation
import XCTest
@testable import Audit
import AuditReport

/// Issue 16, item 5: on hundreds of generated PyTorch-style files (`SoundnessGenerator`: dense and
/// conv1d chains, BatchNorms named `_BN`, `_bn`, `.bn`, `.batchnorm`, `_batchnorm`, `bnN` and by
/// Sequential index, files in model order, sorted by name and shuffled, safetensors and npz),
/// every reported Lipschitz bound is ≥ the true constant of the network the file came from —
/// the exact ‖ΠA‖₂ of the linear chain (dgesdd on the product) and the largest sampled Jacobian
/// norm of the ReLU network — to 1e-9 relative; and every one of these cases (all unambiguous by
/// construction) gets a bound.
final class SoundnessHarnessTests: XCTestCase {
    static let cases = 360

    func testEveryReportedBoundIsAboveTheTruth() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sa-soundness-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        var config = AuditConfiguration()
        config.timestamps = false
        config.includeSpectra = false
        config.jobs = 1
        var bounded = 0
        var tight = 0
        var ratios: [Double] = []
        var perConvention: [String: Int] = [:]
        for seed in 0..<UInt64(Self.cases) {
            let c = SoundnessGenerator.make(seed: seed)
            let url = try SoundnessGenerator.write(c, to: dir, name: "case\(seed)")
            let report = try Auditor.run(path: url.path, configuration: config)
            // SA_HARNESS_KEEP=DIR keeps every file with its truth (to replay other builds on them).
            if let keep = ProcessInfo.processInfo.environment["SA_HARNESS_KEEP"] {
                try? FileManager.default.copyItem(at: url, to: URL(fileURLWithPath: keep).appendingPathComponent(url.lastPathComponent))
                let truth = "\(url.lastPathComponent) \(try SoundnessGenerator.linearTruth(c)) \(try SoundnessGenerator.reluLowerBound(c, samples: 8, seed: seed)) \(c.label)\n"
                if let h = FileHandle(forWritingAtPath: keep + "/truth.txt") { h.seekToEndOfFile(); h.write(Data(truth.utf8)); h.closeFile() }
                else { try? Data(truth.utf8).write(to: URL(fileURLWithPath: keep + "/truth.txt")) }
            }
            try? FileManager.default.removeItem(at: url)
            guard let l = report.network.lipschitzBound else {
                XCTFail("\(c.label): no bound (\(report.network.reason ?? "no reason"))")
                continue
            }
            bounded += 1
            let linear = try SoundnessGenerator.linearTruth(c)
            let relu = try SoundnessGenerator.reluLowerBound(c, samples: 8, seed: seed)
            XCTAssertGreaterThanOrEqual(l, linear * (1 - 1e-9), "\(c.label): L = \(l) < ‖ΠA‖₂ = \(linear)")
            XCTAssertGreaterThanOrEqual(l, relu * (1 - 1e-9), "\(c.label): L = \(l) < sampled ‖J‖₂ = \(relu)")
            ratios.append(l / max(linear, relu))
            if l <= max(linear, relu) * 2 { tight += 1 }
            perConvention[SoundnessGenerator.conventions[Int(seed % 7)], default: 0] += 1
            // The guesses are reported: every inferred file says its activations were assumed.
            XCTAssertEqual(report.network.structure?.declared, false, c.label)
            XCTAssertTrue(report.network.structure?.guesses.contains { $0.kind == "activation" } ?? false, c.label)
        }
        XCTAssertEqual(bounded, Self.cases)
        XCTAssertEqual(perConvention.count, SoundnessGenerator.conventions.count)
        // Not a vacuous harness: some bounds are close to the truth (the product of norms is loose
        // for deep random chains, tight for shallow ones).
        ratios.sort()
        print("soundness harness: \(bounded) bounds; L / truth min \(ratios.first ?? .nan), median \(ratios[ratios.count / 2]), within 2×: \(tight)")
        XCTAssertGreaterThan(tight, Self.cases / 20, "only \(tight) bounds within 2× of the truth")
    }
}
