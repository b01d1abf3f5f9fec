import Foundation
import XCTest

/// `--base` and LoRA adapters through the built CLI, against the numpy float64 references of
/// `fixtures/generate_deltas.py` (`fixtures/deltas/reference.json`): every delta metric to 1e-9
/// relative (singular values relative to the largest), LoRA spectra equal to numpy's on the
/// formed s·B·A, quantization damage equal to numpy's ‖W − deq(Q(W))‖₂/‖W‖₂.
final class DeltaCLITests: XCTestCase {
    static let dir = "fixtures/deltas/"
    nonisolated(unsafe) static let reference: [String: Any] = {
        let url = CLI.packageRoot.appendingPathComponent("fixtures/deltas/reference.json")
        return (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any] ?? [:]
    }()

    func audit(_ args: [String], status: Int32 = 0) throws -> [String: Any] {
        let r = try CLI.run(args + ["--json", "-", "--no-timestamps"])
        XCTAssertEqual(r.status, status, r.stderr)
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
    }

    func close(_ a: Double?, _ b: Double?, _ tol: Double = 1e-9, _ what: String) {
        guard let a, let b else { return XCTFail("\(what): missing (\(String(describing: a)) vs \(String(describing: b)))") }
        XCTAssertLessThanOrEqual(abs(a - b), tol * max(abs(b), 1e-300), "\(what): \(a) vs numpy \(b)")
    }

    /// Compares every entry with `reference[key][refName(entry)]`.
    func checkEntries(_ report: [String: Any], key: String, refName: (String) -> String = { $0 }, file: StaticString = #filePath) throws {
        let delta = try XCTUnwrap(report["delta"] as? [String: Any])
        let refs = try XCTUnwrap(Self.reference[key] as? [String: [String: Any]])
        let entries = try XCTUnwrap(delta["entries"] as? [[String: Any]])
        XCTAssertEqual(entries.count, refs.count, "every reference tensor is matched")
        for e in entries {
            let name = e["name"] as! String
            let ref = try XCTUnwrap(refs[refName(name)], "no reference for \(name)")
            if e["kind"] as? String == "vector" {
                close(e["delta_relative_spectral_norm"] as? Double, ref["relative_norm"] as? Double, 1e-9, "\(name) relative norm")
                continue
            }
            let m = try XCTUnwrap(e["metrics"] as? [String: Any])
            let rm = try XCTUnwrap(ref["delta_metrics"] as? [String: Any])
            for metric in ["spectral_norm", "frobenius", "nuclear", "stable_rank", "spectral_entropy", "normalized_entropy",
                           "effective_rank", "erank_rv", "typical_gain", "entropy_bound", "sigma_min", "condition"] {
                close(m["delta_" + metric] as? Double, rm[metric] as? Double, 1e-9, "\(name) delta_\(metric)")
            }
            XCTAssertEqual(m["delta_rank"] as? Int, rm["rank"] as? Int, "\(name) delta_rank")
            for (field, refField) in [("delta_relative_spectral_norm", "relative_spectral_norm"),
                                      ("delta_relative_frobenius", "relative_frobenius"),
                                      ("delta_spectral_norm_change", "spectral_norm_change"),
                                      ("delta_entropy_change", "entropy_change"),
                                      ("delta_top_subspace_share", "top_subspace_share"),
                                      ("isotropic_share", "isotropic_share")] {
                // Differences of nearly equal numbers: compared relative to the operand's scale.
                let scale = field.hasSuffix("_change") ? max(abs(ref["spectral_norm_base"] as? Double ?? 1), 1) : nil
                if let scale {
                    let a = e[field] as? Double ?? .nan, b = ref[refField] as? Double ?? .nan
                    XCTAssertLessThanOrEqual(abs(a - b), 1e-9 * scale, "\(name) \(field): \(a) vs \(b)")
                } else {
                    close(e[field] as? Double, ref[refField] as? Double, 1e-9, "\(name) \(field)")
                }
            }
            XCTAssertEqual(e["top_k"] as? Int, ref["top_k"] as? Int, "\(name) top_k")
            let sv = try XCTUnwrap(e["singular_values"] as? [Double])
            let rsv = try XCTUnwrap(ref["delta_singular_values"] as? [Double])
            for (i, (a, b)) in zip(sv, rsv).enumerated() {
                XCTAssertLessThanOrEqual(abs(a - b), 1e-9 * rsv[0], "\(name) σ_\(i)")
            }
        }
    }

    func testFineTunedPairMatchesNumpy() throws {
        let r = try audit([Self.dir + "mlp_ft.safetensors", "--base", Self.dir + "mlp_base.safetensors"])
        try checkEntries(r, key: "mlp_ft_vs_base")
        let delta = r["delta"] as! [String: Any]
        XCTAssertEqual(delta["mode"] as? String, "weights")
        XCTAssertEqual((delta["unmatched_model"] as? [String])?.count, 0)
        // The network change is the two audits' bounds.
        let model = try audit([Self.dir + "mlp_ft.safetensors"])
        let base = try audit([Self.dir + "mlp_base.safetensors"])
        let net = delta["network"] as! [String: Any]
        let lm = (model["network"] as! [String: Any])["lipschitz_bound"] as? Double
        let lb = (base["network"] as! [String: Any])["lipschitz_bound"] as? Double
        close(net["lipschitz_bound_model"] as? Double, lm, 1e-15, "L model")
        close(net["lipschitz_bound_base"] as? Double, lb, 1e-15, "L base")
        close(net["lipschitz_bound_ratio"] as? Double, lm.flatMap { m in lb.map { m / $0 } }, 1e-12, "L ratio")
        // The rest of the report is MODEL's own audit.
        XCTAssertEqual((r["network"] as! [String: Any])["lipschitz_bound"] as? Double, lm)
    }

    func testKerasH5AgainstWeightsH5MatchesByLayerAndVariable() throws {
        let r = try audit([Self.dir + "keras_ft.weights.h5", "--base", Self.dir + "keras_base.h5"])
        try checkEntries(r, key: "keras_ft_vs_base") { name in
            let parts = name.split(separator: "/").map(String.init)  // layers/<layer>/vars/<i>
            return parts[1] + "/" + (parts[3] == "0" ? "kernel" : "bias")
        }
        let entries = (r["delta"] as! [String: Any])["entries"] as! [[String: Any]]
        XCTAssertTrue(entries.allSatisfy { $0["matched_by"] as? String == "keras_layer_variable" })
        XCTAssertEqual(entries.first { ($0["name"] as! String).contains("conv2d/vars/0") }?["orientation"] as? String, "conv_hwio→reshape")
    }

    func testQuantizationDamageIsRankedAndMatchesNumpy() throws {
        for tag in ["f16", "bf16"] {
            let r = try audit([Self.dir + "mlp_base_\(tag).safetensors", "--base", Self.dir + "mlp_base.safetensors"])
            try checkEntries(r, key: "mlp_\(tag)_vs_base")
            let q = try XCTUnwrap((r["delta"] as! [String: Any])["quantization"] as? [[String: Any]])
            XCTAssertEqual(q.count, 6)
            let damage = q.map { $0["delta_relative_spectral_norm"] as! Double }
            XCTAssertEqual(damage, damage.sorted(by: >), "ranked, most damaged first")
            XCTAssertEqual(q.map { $0["rank"] as! Int }, Array(1...6))
            XCTAssertTrue(q.allSatisfy { $0["dtype"] as? String == tag && $0["base_dtype"] as? String == "f32" })
        }
        // Same precision: no ranking.
        let same = try audit([Self.dir + "mlp_ft.safetensors", "--base", Self.dir + "mlp_base.safetensors"])
        XCTAssertNil((same["delta"] as! [String: Any])["quantization"])
    }

    func testLoRAAdapterAloneMatchesNumpyOnTheFormedProduct() throws {
        for folder in ["lora_adapter", "lora_rslora"] {
            let r = try audit([Self.dir + folder])
            let delta = try XCTUnwrap(r["delta"] as? [String: Any])
            XCTAssertEqual(delta["mode"] as? String, "lora")
            XCTAssertNil(r["gmsi"] as? Double)
            let refs = Self.reference[folder] as! [String: [String: Any]]
            for e in delta["entries"] as! [[String: Any]] {
                let name = e["name"] as! String
                let ref = try XCTUnwrap(refs[name])
                let lora = e["lora"] as! [String: Any]
                XCTAssertEqual(lora["rank"] as? Int, ref["r"] as? Int, name)
                close(lora["scaling"] as? Double, ref["scaling"] as? Double, 1e-15, "\(name) scaling")
                let sv = e["singular_values"] as! [Double], rsv = ref["delta_singular_values"] as! [Double]
                XCTAssertEqual(sv.count, rsv.count)
                for (a, b) in zip(sv, rsv) { XCTAssertLessThanOrEqual(abs(a - b), 1e-9 * rsv[0], "\(name)") }
                let m = e["metrics"] as! [String: Any], rm = ref["delta_metrics"] as! [String: Any]
                for metric in ["spectral_norm", "stable_rank", "effective_rank", "spectral_entropy", "nuclear", "entropy_bound"] {
                    close(m["delta_" + metric] as? Double, rm[metric] as? Double, 1e-9, "\(name) \(metric)")
                }
            }
        }
        // rank_pattern / alpha_pattern: fc3 has r = 2, fc2 has α = 3 (s = 3/4).
        let ref = Self.reference["lora_adapter"] as! [String: [String: Any]]
        XCTAssertEqual(ref["fc3.weight"]?["r"] as? Int, 2)
        XCTAssertEqual(ref["fc2.weight"]?["scaling"] as? Double, 0.75)
    }

    func testLoRAMergedIntoBase() throws {
        let r = try audit([Self.dir + "lora_adapter", "--base", Self.dir + "mlp_base.safetensors"])
        try checkEntries(r, key: "lora_adapter")
        XCTAssertEqual((r["delta"] as! [String: Any])["mode"] as? String, "lora_merged")
        // The layers are the merged model's: peft's merge_and_unload() (stored in f32) to 1e-6.
        let merged = try audit([Self.dir + "lora_merged.safetensors"])
        let layers = r["layers"] as! [[String: Any]], mergedLayers = merged["layers"] as! [[String: Any]]
        XCTAssertEqual(layers.count, mergedLayers.count)
        for (a, b) in zip(layers, mergedLayers) {
            let sa = (a["metrics"] as? [String: Any])?["spectral_norm"] as? Double
            let sb = (b["metrics"] as? [String: Any])?["spectral_norm"] as? Double
            close(sa, sb, 1e-6, "merged σ_max of \(a["name"] ?? "")")
        }
        close((r["network"] as! [String: Any])["lipschitz_bound"] as? Double,
              (merged["network"] as! [String: Any])["lipschitz_bound"] as? Double, 1e-6, "merged L")
    }

    /// Conv2d LoRA (lora_A [r, in, k, k], lora_B [out, r, 1, 1]) and fan_in_fan_out (GPT-2
    /// Conv1D, base stored [in, out]): the update and the merged layer agree with numpy.
    func testConvAndFanInFanOutAdapters() throws {
        for name in ["conv", "fifo"] {
            let r = try audit([Self.dir + "lora_\(name)", "--base", Self.dir + "\(name)_base.safetensors"])
            try checkEntries(r, key: "lora_\(name)")
            let refs = Self.reference["lora_\(name)"] as! [String: [String: Any]]
            for (tensor, ref) in refs {
                // The merged store serves W + s·B·A in the base's stored layout: the layer's own
                // spectrum is numpy's on the merged operator.
                let row = try XCTUnwrap((r["layers"] as! [[String: Any]]).first { ($0["tensors"] as? [String])?.contains(tensor) == true })
                close((row["metrics"] as? [String: Any])?["spectral_norm"] as? Double, ref["spectral_norm_model"] as? Double,
                      1e-9, "\(name): merged σ_max of \(tensor)")
            }
            let alone = try audit([Self.dir + "lora_\(name)"])
            let e = try XCTUnwrap(((alone["delta"] as! [String: Any])["entries"] as! [[String: Any]]).first)
            let rsv = refs.values.first!["delta_singular_values"] as! [Double]
            for (a, b) in zip(e["singular_values"] as! [Double], rsv) { XCTAssertLessThanOrEqual(abs(a - b), 1e-9 * rsv[0], name) }
        }
    }

    func testDeltaPolicyGates() throws {
        let tmp = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        let policy = tmp.appendingPathComponent("p.json")
        try Data("""
        {"schema": "spectral-audit-policy/1",
         "network": {"delta_log10_lipschitz_bound_max": 0.5},
         "rules": [{"layers": "fc*", "metric": "delta_relative_spectral_norm", "max": 0.02},
                   {"layers": "fc*", "metric": "delta_top_subspace_share", "min": 0}]}
        """.utf8).write(to: policy)
        let r = try audit([Self.dir + "mlp_ft.safetensors", "--base", Self.dir + "mlp_base.safetensors", "--policy", policy.path],
                          status: 1)
        let checks = r["checks"] as! [[String: Any]]
        let failed = checks.filter { $0["passed"] as? Bool == false }
        XCTAssertFalse(failed.isEmpty)
        XCTAssertTrue(failed.allSatisfy { $0["id"] as? String == "policy.delta.delta_relative_spectral_norm_max" })
        XCTAssertTrue(checks.contains { $0["id"] as? String == "policy.delta.network.delta_log10_lipschitz_bound_max" && $0["passed"] as? Bool == true })
        // The same policy without --base cannot judge deltas.
        let plain = try audit([Self.dir + "mlp_ft.safetensors", "--policy", policy.path], status: 1)
        XCTAssertTrue((plain["checks"] as! [[String: Any]]).contains { $0["id"] as? String == "policy.delta.unavailable" })
        // Every renderer shows the delta section.
        for (flag, needle) in [("--markdown", "### Delta"), ("--html", "class=\"delta\""), ("--junit", "delta_mode")] {
            let out = try CLI.run([Self.dir + "mlp_ft.safetensors", "--base", Self.dir + "mlp_base.safetensors", flag, "-"])
            XCTAssertTrue(out.stdout.contains(needle), "\(flag) lacks the delta section")
        }
        let text = try CLI.run([Self.dir + "mlp_base_f16.safetensors", "--base", Self.dir + "mlp_base.safetensors"])
        XCTAssertTrue(text.stdout.contains("Quantization damage"))
    }

    /// The same weights in two formats (.keras zip against legacy .h5; npz against safetensors):
    /// every change is exactly 0, nothing is unmatched.
    func testSameWeightsInAnotherFormatChangeNothing() throws {
        for (model, base, how) in [("fixtures/models/mlp.keras", "fixtures/models/mlp.h5", "keras_layer_variable"),
                                   ("fixtures/models/mlp_torch.npz", "fixtures/models/mlp_torch.safetensors", "name")] {
            let delta = try audit([model, "--base", base])["delta"] as! [String: Any]
            let entries = delta["entries"] as! [[String: Any]]
            XCTAssertEqual(entries.count, 6, model)
            XCTAssertEqual((delta["unmatched_model"] as! [String]) + (delta["unmatched_base"] as! [String]), [])
            for e in entries {
                XCTAssertEqual(e["matched_by"] as? String, how)
                XCTAssertEqual(e["delta_relative_spectral_norm"] as? Double, 0, "\(e["name"]!)")
                if e["kind"] as? String == "matrix" {
                    XCTAssertEqual(e["delta_spectral_norm_change"] as? Double, 0)
                    XCTAssertEqual(e["delta_entropy_change"] as? Double, 0)
                    XCTAssertEqual((e["metrics"] as? [String: Any])?["delta_rank"] as? Int, 0)
                    XCTAssertNil(e["delta_top_subspace_share"], "no change: no share")
                }
            }
            XCTAssertEqual((delta["network"] as! [String: Any])["delta_log10_lipschitz_bound"] as? Double, 0)
        }
    }

    func testUnmatchedAndBadInputs() throws {
        // Different names: nothing is guessed, everything is listed.
        let r = try audit([Self.dir + "mlp_ft.safetensors", "--base", "fixtures/models/mlp_torch.safetensors"])
        let delta = r["delta"] as! [String: Any]
        XCTAssertEqual((delta["entries"] as? [Any])?.count, 0)
        XCTAssertEqual((delta["unmatched_model"] as? [String])?.count, 6)
        XCTAssertEqual((delta["unmatched_base"] as? [String])?.count, 6)
        XCTAssertEqual(try CLI.run([Self.dir + "mlp_ft.safetensors", "--base", "fixtures/deltas/nope.safetensors"]).status, 66)
        XCTAssertEqual(try CLI.run([Self.dir + "mlp_ft.safetensors", "--base", Self.dir + "mlp_base.safetensors", "--shard", "1/2"]).status, 2)
        XCTAssertEqual(try CLI.run([Self.dir + "lora_adapter", "--output", "/tmp/x.h5"]).status, 2)
        // An HDF5 base is read in the preflight child first, like the model: a libhdf5 crash is a refusal.
        let crash = try CLI.run(["fixtures/models/mlp_torch.safetensors", "--base", "fixtures/hostile/fuzz/hdf5-file/libhdf5-contig-read-null.h5"])
        XCTAssertEqual(crash.status, 65, crash.stderr)
        XCTAssertTrue(crash.stderr.contains("libhdf5"), crash.stderr)
        // A broken adapter config: one line, exit 65.
        let tmp = try CLI.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: tmp) }
        try FileManager.default.copyItem(atPath: CLI.packageRoot.appendingPathComponent(Self.dir + "lora_adapter/adapter_model.safetensors").path,
                                         toPath: tmp.appendingPathComponent("adapter_model.safetensors").path)
        try Data(#"{"peft_type": "LORA", "r": 3, "lora_alpha": 8}"#.utf8).write(to: tmp.appendingPathComponent("adapter_config.json"))
        let bad = try CLI.run([tmp.path])
        XCTAssertEqual(bad.status, 65, bad.stderr)
        XCTAssertTrue(bad.stderr.contains("lora_A [3, in…]"), bad.stderr)
        XCTAssertEqual(bad.stderr.split(separator: "\n").count, 1)
        try Data(#"{"peft_type": "LORA", "r": 4, "lora_alpha": 8, "use_dora": true}"#.utf8).write(to: tmp.appendingPathComponent("adapter_config.json"))
        XCTAssertEqual(try CLI.run([tmp.path]).status, 65)
        try Data(#"{"peft_type": "LORA", "r": "four", "lora_alpha": 8}"#.utf8).write(to: tmp.appendingPathComponent("adapter_config.json"))
        XCTAssertEqual(try CLI.run([tmp.path]).status, 65)
    }
}
