import AuditReport
import Foundation
import XCTest

/// Hugging Face model folders through the CLI: the structure from config.json, the transformer
/// section, the domain beside every bound, the gate, and the errors a user can make.
final class TransformerCLITests: XCTestCase {
    func audit(_ args: [String]) throws -> (CLI.Result, AuditReportV1?) {
        let r = try CLI.run(args + ["--json", "-", "--no-timestamps", "--quiet"])
        return (r, r.status <= 1 ? try AuditReportV1.decode(r.stdoutData) : nil)
    }

    func testFolderAndFileGiveTheSameTransformerSection() throws {
        for family in ["bert", "gpt2", "llama"] {
            let (folder, a) = try audit(["fixtures/transformers/" + family])
            XCTAssertEqual(folder.status, 0, folder.stderr)
            let (file, b) = try audit(["fixtures/transformers/\(family)/model.safetensors"])
            XCTAssertEqual(file.status, 0, file.stderr)
            let ra = try XCTUnwrap(a), rb = try XCTUnwrap(b)
            XCTAssertEqual(ra.input.path, "fixtures/transformers/\(family)/model.safetensors")
            XCTAssertEqual(ra.transformer, rb.transformer)
            let t = try XCTUnwrap(ra.transformer)
            XCTAssertEqual(ra.input.architectureSource, "hf_config")
            XCTAssertEqual(t.family, family)
            XCTAssertEqual(t.domain.sequenceLength, 16)
            XCTAssertEqual(t.domain.sequenceLengthSource, "config")
            XCTAssertEqual(t.domain.normInputScale, 1)
            XCTAssertEqual(t.attentionHeads.count, 8)
            XCTAssertEqual(t.blocks.count, 2)
            let bound = try XCTUnwrap(t.networkBound)
            XCTAssertEqual(ra.gmsi, bound)
            XCTAssertEqual(ra.network.lipschitzBound, bound)
            XCTAssertEqual(ra.gmsiComponents["transformer_local_bound"] ?? nil, bound)
            XCTAssertEqual(try XCTUnwrap(t.log10NetworkBound), log10(bound), accuracy: 1e-12 * abs(log10(bound)))
            // The domain is stated wherever the bound is.
            XCTAssertTrue(ra.assumptions.contains { $0.contains("n ≤ 16 tokens, norm-input scale ≥ 1.0") }, "\(ra.assumptions)")
            let text = try CLI.run(["fixtures/transformers/" + family, "--no-timestamps"])
            XCTAssertTrue(text.stdout.contains("domain             local on n ≤ 16 tokens, norm-input scale ≥ 1.0"), text.stdout)
            XCTAssertTrue(text.stdout.contains("Transformer (structure from fixtures/transformers/\(family)/config.json)"))
        }
    }

    func testDomainFlagsAndGate() throws {
        let (base, a) = try audit(["fixtures/transformers/llama"])
        XCTAssertEqual(base.status, 0)
        let (wide, b) = try audit(["fixtures/transformers/llama", "--seq-len", "4096", "--norm-input-scale", "0.5"])
        XCTAssertEqual(wide.status, 0, wide.stderr)
        let t = try XCTUnwrap(b?.transformer)
        XCTAssertEqual(t.domain, TransformerDomainV1(sequenceLength: 4096, normInputScale: 0.5,
                                                     sequenceLengthSource: "flag", normInputScaleSource: "flag"))
        XCTAssertGreaterThan(try XCTUnwrap(t.networkBound), try XCTUnwrap(a?.transformer?.networkBound))
        // --threshold judges the local bound; a markdown summary states the domain.
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let md = dir.appendingPathComponent("s.md").path
        let gate = try CLI.run(["fixtures/transformers/llama", "--threshold", "10", "--markdown", md, "--quiet"])
        XCTAssertEqual(gate.status, 1, gate.stderr)
        let summary = try String(contentsOfFile: md, encoding: .utf8)
        XCTAssertTrue(summary.contains("local on n ≤ 16 tokens, norm-input scale ≥ 1.0"), summary)
        XCTAssertTrue(summary.contains("### Transformer"))
        let html = dir.appendingPathComponent("r.html").path
        XCTAssertEqual(try CLI.run(["fixtures/transformers/llama", "--html", html, "--quiet"]).status, 0)
        let page = try String(contentsOfFile: html, encoding: .utf8)
        XCTAssertTrue(page.contains("Bounds are <strong>local on n ≤ 16 tokens, norm-input scale ≥ 1.0</strong>"))
        XCTAssertTrue(page.contains("<th>QK σ_max</th>"))
        for bad in [["--seq-len", "0"], ["--norm-input-scale", "-1"], ["--norm-input-scale", "nan"]] {
            let r = try CLI.run(["fixtures/transformers/llama"] + bad)
            XCTAssertEqual(r.status, 2, "\(bad): \(r.stderr)")
        }
    }

    func testBadFoldersAndConfigs() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // A folder without weights: exit 66, one line naming what was looked for.
        let empty = try CLI.run([dir.path])
        XCTAssertEqual(empty.status, 66, empty.stderr)
        XCTAssertTrue(empty.stderr.contains("model.safetensors"), empty.stderr)
        XCTAssertEqual(empty.stderr.split(separator: "\n").count, 1, empty.stderr)
        // A config whose values contradict each other: exit 65 naming the key.
        let src = CLI.packageRoot.appendingPathComponent("fixtures/transformers/llama")
        try FileManager.default.copyItem(at: src.appendingPathComponent("model.safetensors"),
                                         to: dir.appendingPathComponent("model.safetensors"))
        let config = try String(contentsOf: src.appendingPathComponent("config.json"), encoding: .utf8)
        try config.replacingOccurrences(of: "\"num_key_value_heads\": 2", with: "\"num_key_value_heads\": 3")
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let bad = try CLI.run([dir.path])
        XCTAssertEqual(bad.status, 65, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("num_key_value_heads"), bad.stderr)
        // Another model_type: named in an assumption, per-tensor spectra only, no transformer section.
        try config.replacingOccurrences(of: "\"model_type\": \"llama\"", with: "\"model_type\": \"t5\"")
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let (other, report) = try audit([dir.path])
        XCTAssertEqual(other.status, 0, other.stderr)
        let r = try XCTUnwrap(report)
        XCTAssertNil(r.transformer)
        XCTAssertTrue(r.assumptions.contains { $0.contains("model_type 't5'") }, "\(r.assumptions)")
        XCTAssertNil(r.gmsi)
        // A config whose shapes do not match the weights: a reason in the section, no bound.
        try config.replacingOccurrences(of: "\"hidden_size\": 16", with: "\"hidden_size\": 32")
            .replacingOccurrences(of: "\"head_dim\": 4,", with: "\"head_dim\": 8,")
            .write(to: dir.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)
        let (mismatch, m) = try audit([dir.path])
        XCTAssertEqual(mismatch.status, 0, mismatch.stderr)
        let t = try XCTUnwrap(m?.transformer)
        XCTAssertNil(t.networkBound)
        XCTAssertTrue(t.reason?.contains("expected 32") ?? false, "\(t.reason ?? "nil")")
        XCTAssertNil(m?.gmsi)
        XCTAssertNotNil(m?.gmsiReason)
    }
}

extension TransformerCLITests {
    /// The per-head policy metrics: the largest head is judged and named; without a transformer
    /// section the check is unavailable (fails unless allowed), never silently passed.
    func testAttentionHeadPolicy() throws {
        let dir = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let policy = dir.appendingPathComponent("p.json")
        try #"{"network": {"attention_qk_norm_max": 0.5, "attention_ov_norm_max": 10}}"#.write(to: policy, atomically: true, encoding: .utf8)
        let (r, report) = try audit(["fixtures/transformers/gpt2", "--policy", policy.path])
        XCTAssertEqual(r.status, 1, r.stderr)
        let checks = try XCTUnwrap(report?.checks)
        let qk = try XCTUnwrap(checks.first { $0.id == "policy.network.attention_qk_norm_max" })
        let heads = try XCTUnwrap(report?.transformer?.attentionHeads)
        XCTAssertEqual(qk.value, heads.map(\.qk.spectralNorm).max())
        XCTAssertFalse(qk.passed)
        XCTAssertTrue(qk.message.contains("block 1 head 0"), qk.message)
        XCTAssertTrue(try XCTUnwrap(checks.first { $0.id == "policy.network.attention_ov_norm_max" }).passed)
        let (plain, noTransformer) = try audit(["fixtures/models/mlp_torch.safetensors", "--policy", policy.path])
        XCTAssertEqual(plain.status, 1, plain.stderr)
        let unavailable = try XCTUnwrap(noTransformer?.checks.first { $0.id == "policy.network.attention_qk_norm_max" })
        XCTAssertNil(unavailable.value)
        XCTAssertTrue(unavailable.message.contains("no transformer section"), unavailable.message)
        // The gate's message states the domain of the transformer bound it judged.
        let (gate, gated) = try audit(["fixtures/transformers/gpt2", "--threshold", "10"])
        XCTAssertEqual(gate.status, 1)
        let g = try XCTUnwrap(gated?.checks.first { $0.id == "gmsi.threshold" })
        XCTAssertTrue(g.message.contains("local on n ≤ 16 tokens"), g.message)
    }
}

extension TransformerCLITests {
    /// A model folder holding `pytorch_model.bin` (read by the data-only pickle machine) gives the
    /// same transformer analysis as the same weights in `model.safetensors`.
    func testPyTorchBinFolderEqualsSafetensorsFolder() throws {
        let (a, pickled) = try audit(["fixtures/transformers/bert_bin"])
        XCTAssertEqual(a.status, 0, a.stderr)
        let (b, safetensors) = try audit(["fixtures/transformers/bert"])
        XCTAssertEqual(b.status, 0, b.stderr)
        var x = try XCTUnwrap(pickled?.transformer)
        let y = try XCTUnwrap(safetensors?.transformer)
        XCTAssertEqual(pickled?.input.format, "pytorch")
        XCTAssertEqual(x.config, "fixtures/transformers/bert_bin/config.json")
        x.config = y.config
        XCTAssertEqual(x, y)
    }

    /// Data mode through the CLI: token probes with a padding mask, the measured norms beside the
    /// bound on the measured domain, data_gmsi with its null components explained; usage and
    /// input errors with their exit codes.
    func testTokenProbesThroughTheCLI() throws {
        let (r, report) = try audit(["fixtures/transformers/gpt2", "--probe", "fixtures/transformers/probes/gpt2_tokens.npy",
                                     "--attention-mask", "fixtures/transformers/probes/gpt2_mask.npy", "--jobs", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rep = try XCTUnwrap(report)
        let d = try XCTUnwrap(rep.transformer?.data)
        XCTAssertEqual(d.probeKind, "token_ids")
        XCTAssertEqual(d.attentionMask, "fixtures/transformers/probes/gpt2_mask.npy")
        XCTAssertEqual(d.jacobianNorms.count, 3)
        XCTAssertEqual(d.boundHolds, true)
        XCTAssertEqual(rep.data?.gJ, d.jacobianNorms.max())
        XCTAssertEqual(rep.dataGmsi, d.parameterJacobianNorms.max())
        XCTAssertNotNil(rep.dataGmsiNullReasons?["sqrt_g_H"])
        // gmsi stays the weights-only bound on the stated domain (SPEC §7).
        XCTAssertEqual(rep.gmsi, rep.transformer?.networkBound)
        let text = try CLI.run(["fixtures/transformers/gpt2", "--probe", "fixtures/transformers/probes/gpt2_embeds.npy", "--no-timestamps"])
        XCTAssertEqual(text.status, 0, text.stderr)
        XCTAssertTrue(text.stdout.contains("probes (3 × 6 tokens): max ‖∂h/∂x‖₂"), text.stdout)

        let usage = try CLI.run(["fixtures/transformers/gpt2", "--attention-mask", "fixtures/transformers/probes/gpt2_mask.npy"])
        XCTAssertEqual(usage.status, 2, usage.stderr)
        XCTAssertTrue(usage.stderr.contains("--attention-mask needs --probe"), usage.stderr)
        let wrong = try CLI.run(["fixtures/transformers/bert", "--probe", "fixtures/transformers/probes/gpt2_embeds.npy",
                                 "--attention-mask", "fixtures/transformers/probes/bert_tokens.npy"])
        XCTAssertEqual(wrong.status, 65, wrong.stderr)
    }
}

/// Probes padded differently through the CLI (issue 18): RoBERTa with its attention mask, each
/// probe with its own position ids, and a last-token classifier with --labels, each probe reading
/// its own token (numbers against torch: TransformerPaddedProbeTests).
final class TransformerPaddedCLITests: XCTestCase {
    func testPaddedProbesThroughTheCLI() throws {
        let p = "fixtures/transformers/padded/"
        let rob = try CLI.run(["fixtures/transformers/heads/roberta", "--probe", p + "roberta_tokens.npy", "--attention-mask",
                               p + "roberta_mask.npy", "--jobs", "1", "--json", "-", "--no-timestamps", "--quiet"])
        XCTAssertEqual(rob.status, 0, rob.stderr)
        let r = try AuditReportV1.decode(rob.stdoutData)
        XCTAssertEqual(r.transformer?.data?.output?.probePositionIds, [[2, 3, 4, 5, 1], [2, 3, 1, 1, 1], [2, 1, 3, 4, 1]])
        XCTAssertNil(r.transformer?.data?.output?.positionIds)
        XCTAssertEqual(r.transformer?.data?.boundHolds, true)
        let cls = try CLI.run(["fixtures/transformers/seqcls/gpt2_cls", "--probe", p + "gpt2_cls_tokens.npy", "--labels",
                               p + "gpt2_cls_labels.npy", "--jobs", "1", "--json", "-", "--no-timestamps", "--quiet"])
        XCTAssertEqual(cls.status, 0, cls.stderr)
        let c = try AuditReportV1.decode(cls.stdoutData)
        XCTAssertEqual(c.transformer?.data?.output?.readPositions, [2, 4, 3])
        XCTAssertNotNil(c.transformer?.data?.output?.labels)
        XCTAssertEqual(c.data?.probeCount, 3)
    }
}
