import AuditReport
import Foundation
import XCTest

/// GGUF through the built binary: the audit's per-tensor σ_max and Frobenius norm against numpy
/// float64 on gguf-py's dequantization (fixtures/gguf/reference.json) to 1e-9 relative; the
/// listing of an undecoded type; `inspect` with metadata and quant types.
final class GGUFCLITests: XCTestCase {
    static func reference() throws -> [String: Any] {
        let url = CLI.packageRoot.appendingPathComponent("fixtures/gguf/reference.json")
        return try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }

    func testAuditSpectraMatchNumpyOnDequantizedWeights() throws {
        let files = (try Self.reference()["files"] as! [String: Any])
        for file in ["llama_f32.gguf", "llama_f16.gguf", "llama_q8_0.gguf", "llama_q4_0.gguf", "llama_kmix.gguf"] {
            let r = try CLI.run(["fixtures/gguf/\(file)", "--json", "-", "--no-progress", "--no-timestamps"])
            XCTAssertEqual(r.status, 0, "\(file): \(r.stderr)")
            let report = try JSONSerialization.jsonObject(with: r.stdoutData) as! [String: Any]
            XCTAssertEqual((report["input"] as? [String: Any])?["format"] as? String, "gguf")
            // The metadata says llama but gives no attention.key_length while its heads are 16 wide
            // (2 × 16 ≠ 256): the transformer section is built from the metadata and refuses the
            // contradiction by name (llama.cpp would refuse to load the file too); spectra stay.
            XCTAssertEqual((report["input"] as? [String: Any])?["architecture_source"] as? String, "gguf_metadata")
            XCTAssertTrue(report["gmsi"] is NSNull, file)
            XCTAssertTrue((report["gmsi_reason"] as? String)?.contains("do not match 2 heads of 128 (1 key/value heads) over width 256") == true,
                          "\(file): \(report["gmsi_reason"] ?? "nil")")
            let layers = report["layers"] as! [[String: Any]]
            let byTensor = Dictionary(layers.compactMap { l -> (String, [String: Any])? in
                guard let t = (l["tensors"] as? [String])?.first else { return nil }
                return (t, l)
            }, uniquingKeysWith: { a, _ in a })
            let tensors = (files[file] as! [String: Any])["tensors"] as! [String: [String: Any]]
            var checked = 0
            for (name, ref) in tensors where (ref["shape"] as! [Int]).count == 2 {
                let row = try XCTUnwrap(byTensor[name], "\(file): no row for \(name)")
                if ref["unsupported"] as? Bool == true {
                    XCTAssertEqual(row["status"] as? String, "unsupported", "\(file) \(name)")
                    XCTAssertTrue((row["reason"] as? String)?.contains("IQ4_NL") == true, "\(file) \(name)")
                    continue
                }
                XCTAssertEqual(row["status"] as? String, "analyzed", "\(file) \(name)")
                let metrics = try XCTUnwrap(row["metrics"] as? [String: Any], "\(file) \(name)")
                let sigma = try XCTUnwrap(metrics["spectral_norm"] as? Double), want = ref["sigma_max"] as! Double
                XCTAssertLessThanOrEqual(abs(sigma - want), 1e-9 * want, "\(file) \(name) σ_max \(sigma) vs numpy \(want)")
                let frob = try XCTUnwrap(metrics["frobenius"] as? Double), wantF = ref["frobenius"] as! Double
                XCTAssertLessThanOrEqual(abs(frob - wantF), 1e-9 * wantF, "\(file) \(name) Frobenius")
                checked += 1
            }
            XCTAssertGreaterThanOrEqual(checked, 15, file)
        }
    }

    func testInspectShowsArchitectureMetadataAndQuantTypes() throws {
        let r = try CLI.run(["inspect", "fixtures/gguf/llama_kmix.gguf"])
        XCTAssertEqual(r.status, 0, r.stderr)
        for fragment in ["format: gguf", "architecture: llama", "llama.block_count", "[string × 32]",
                         "Q4_K→f32", "Q6_K→f32", "IQ4_NL→f32", "not decoded", "blk.1.ffn_down.weight: IQ4_NL"] {
            XCTAssertTrue(r.stdout.contains(fragment), "missing '\(fragment)' in\n\(r.stdout)")
        }
        XCTAssertFalse(r.stdout.contains("<t31>"), "token lists must be summarised, not dumped")
        let j = try CLI.run(["inspect", "--json", "fixtures/gguf/llama_q4_0.gguf"])
        let listing = try JSONSerialization.jsonObject(with: j.stdoutData) as! [String: Any]
        XCTAssertEqual(listing["architecture"] as? String, "llama")
        let tensors = listing["tensors"] as! [[String: Any]]
        let q = tensors.first { $0["name"] as? String == "blk.0.attn_q.weight" }?["quantization"] as? [String: Any]
        XCTAssertEqual(q?["type"] as? String, "Q4_0")
        XCTAssertEqual(q?["stored_bytes"] as? Int, 32 * 256 / 32 * 18)
    }

    /// The per-tensor graph has no structure to run: the data audit is unavailable with the reason
    /// (the tool's limit, not a malformed file) instead of measuring a meaningless forward pass,
    /// and a --data-threshold gate fails on it.
    func testDataAuditIsRefusedWithTheStructureReason() throws {
        let r = try CLI.run(["fixtures/gguf/llama_f32.gguf", "--probe", "fixtures/models/probe_cnn.npy", "--no-progress",
                             "--json", "-", "--quiet"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try AuditReportV1.decode(r.stdoutData)
        XCTAssertNil(report.data)
        XCTAssertNil(report.dataGmsi)
        XCTAssertTrue(report.dataGmsiReason?.contains("needs the network's structure: GGUF architecture 'llama'") == true,
                      report.dataGmsiReason ?? "nil")
        let gated = try CLI.run(["fixtures/gguf/llama_f32.gguf", "--probe", "fixtures/models/probe_cnn.npy", "--no-progress",
                                 "--data-threshold", "1"])
        XCTAssertEqual(gated.status, 1, gated.stderr)
    }

    func testSplitModelAuditsLikeTheSingleFile() throws {
        let split = try CLI.run(["fixtures/gguf/split/llama_q8_0-00001-of-00003.gguf", "--json", "-", "--no-progress", "--no-timestamps"])
        let single = try CLI.run(["fixtures/gguf/llama_q8_0.gguf", "--json", "-", "--no-progress", "--no-timestamps"])
        XCTAssertEqual(split.status, 0, split.stderr)
        let a = try JSONSerialization.jsonObject(with: split.stdoutData) as! [String: Any]
        let b = try JSONSerialization.jsonObject(with: single.stdoutData) as! [String: Any]
        XCTAssertEqual((a["input"] as? [String: Any])?["format"] as? String, "gguf_split")
        XCTAssertEqual(a["layers"] as? NSArray, b["layers"] as? NSArray)
        // The reason names the file the structure was read from (the first shard, the single file).
        XCTAssertEqual((a["gmsi_reason"] as? String)?.replacingOccurrences(of: "split/llama_q8_0-00001-of-00003.gguf", with: "F"),
                       (b["gmsi_reason"] as? String)?.replacingOccurrences(of: "llama_q8_0.gguf", with: "F"))
    }
}

/// GGUF transformers through the binary (fixtures/gguf_transformer/): the structure comes from the
/// metadata (`architecture_source` gguf_metadata), the report has the transformer section, a
/// labelled local bound and gmsi; a GGUF of another architecture gets a note naming it.
final class GGUFTransformerCLITests: XCTestCase {
    func testLlamaGGUFGetsTheTransformerSection() throws {
        let r = try CLI.run(["fixtures/gguf_transformer/llama_q8_0.gguf", "--json", "-", "--no-progress", "--no-timestamps"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try AuditReportV1.decode(r.stdoutData)
        XCTAssertEqual(report.input.architectureSource, "gguf_metadata")
        let t = try XCTUnwrap(report.transformer)
        XCTAssertEqual(t.family, "llama")
        XCTAssertEqual(t.attentionHeads.count, 8)
        XCTAssertEqual(t.domain.sequenceLength, 64)
        XCTAssertNotNil(t.networkBound)
        XCTAssertEqual(report.gmsi, t.networkBound)
        XCTAssertTrue(report.assumptions.contains { $0.contains("structure from the GGUF metadata") }, "\(report.assumptions)")
        // Norm rows are covered by the transformer section, not left unsupported.
        XCTAssertFalse(report.layers.contains { $0.status == .unsupported }, "\(report.layers.filter { $0.status == .unsupported }.map(\.name))")
    }

    func testOtherArchitectureIsNamed() throws {
        let r = try CLI.run(["fixtures/gguf/quant_F32.gguf", "--json", "-", "--no-progress", "--no-timestamps"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let report = try AuditReportV1.decode(r.stdoutData)
        XCTAssertNil(report.transformer)
        XCTAssertEqual(report.input.architectureSource, "gguf_tensors")
        XCTAssertTrue(report.assumptions.contains { $0.contains("general.architecture 'spectral-test' is not a transformer") },
                      "\(report.assumptions)")
    }
}
