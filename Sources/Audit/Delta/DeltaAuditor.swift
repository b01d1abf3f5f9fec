import Foundation
import AuditReport
import LinearAlgebra
import WeightFiles

/// Delta audits (`--base BASE`, PEFT LoRA adapters, quantization damage; SPEC §7 "Deltas").
///
/// - `run(modelPath:basePath:)`: the ordinary audit of MODEL (its layers, bounds, GMSI and
///   checks), BASE audited the same way for its bounds, then the `delta` section: tensors paired
///   by `DeltaMatching`, each pair loaded, compared (`DeltaSpectra`) and dropped before the next
///   — one pair in memory at a time. A lower-precision MODEL (f16/bf16 against f32, later GGUF
///   blocks against F16/F32) is the same comparison, ranked in `delta.quantization`.
/// - `runAdapter(folder:basePath:)`: a PEFT adapter; alone, each module's ΔW = s·B·A from its
///   thin factors (`LowRank.productSingularValues`); with BASE, the report's layers and bounds
///   are BASE with the adapter merged (`LoRAMergedStore`) and each module is compared with BASE.
public enum DeltaAuditor {
    public static func run(modelPath: String, basePath: String, configuration: AuditConfiguration) throws -> AuditReportV1 {
        let model = try ModelFile.open(modelPath, limits: configuration.limits)
        let base = try ModelFile.open(basePath, limits: configuration.limits)
        var report = try Auditor.run(store: model, configuration: configuration)
        let baseReport = try Auditor.run(store: base, configuration: referenceConfiguration(configuration))
        let matching = DeltaMatching(model: model.tensors, base: base.tensors)
        var entries: [DeltaEntry] = []
        for pair in matching.pairs {
            var e = DeltaEntry(name: pair.model.name, matchedBy: pair.matchedBy, kind: "vector", shape: pair.model.shape)
            e.baseName = pair.base.name
            e.layer = pair.model.layer ?? pair.base.layer
            e.dtype = DeltaPrecision.storedType(pair.model)
            e.baseDtype = DeltaPrecision.storedType(pair.base)
            let w = try model.loadFloat64(pair.model.name)
            let wb = try base.loadFloat64(pair.base.name)
            if let bad = NonFinite.scan(w) ?? NonFinite.scan(wb) {
                e.reason = "\(bad.count) non-finite value\(bad.count == 1 ? "" : "s") in '\(NonFinite.scan(w) != nil ? pair.model.name : pair.base.name)'"
                entries.append(e)
                continue
            }
            if let (mw, rule) = try DeltaSpectra.operatorMatrix(w, pair.model),
               let (mb, baseRule) = try DeltaSpectra.operatorMatrix(wb, pair.base) {
                guard mw.rows == mb.rows, mw.cols == mb.cols else {
                    e.reason = "operators differ in shape: [\(mw.rows), \(mw.cols)] (\(rule)) vs base [\(mb.rows), \(mb.cols)] (\(baseRule))"
                    entries.append(e)
                    continue
                }
                e.kind = "matrix"
                e.shape = [mw.rows, mw.cols]
                e.orientation = rule == baseRule ? rule : "\(rule); base \(baseRule)"
                e.method = SpectrumMethod.gesdd.rawValue
                try DeltaSpectra.compare(model: mw, base: mb, into: &e, includeSpectra: configuration.includeSpectra)
            } else {
                DeltaSpectra.compareVectors(model: w, base: wb, into: &e)
            }
            entries.append(e)
        }
        var delta = DeltaReport(mode: "weights", model: DeltaInput(path: modelPath, format: model.format.rawValue, sha256: report.input.sha256),
                                base: DeltaInput(path: basePath, format: base.format.rawValue, sha256: baseReport.input.sha256),
                                matching: DeltaMatching.rule, topKRule: DeltaSpectra.topKRule, entries: entries,
                                unmatchedModel: matching.unmatchedModel, unmatchedBase: matching.unmatchedBase,
                                mismatched: matching.mismatched, network: nil, quantization: nil)
        finish(&delta, model: report, base: baseReport)
        attach(delta, to: &report, configuration: configuration)
        return report
    }

    public static func runAdapter(folder: String, basePath: String?, configuration: AuditConfiguration) throws -> AuditReportV1 {
        let adapter = try PEFTAdapter(folder: folder, limits: configuration.limits)
        let adapterSHA = try FileDigest.sha256(path: adapter.weightsPath)
        let modelInput = DeltaInput(path: folder, format: "peft_lora", sha256: adapterSHA)
        var entries: [DeltaEntry] = []
        var unmatched: [String] = adapter.otherTensors
        var mismatched: [DeltaMismatch] = []
        var report: AuditReportV1
        var delta: DeltaReport
        if let basePath {
            let base = try ModelFile.open(basePath, limits: configuration.limits)
            var applied: [PEFTAdapter.Module] = []
            for module in adapter.modules {
                guard let info = base.tensors.first(where: { $0.name == module.baseTensor }) else {
                    unmatched.append(module.baseTensor)
                    continue
                }
                let stored = module.fanInFanOut && info.shape.count == 2 ? [module.shape[1], module.shape[0]] : module.shape
                guard info.shape == stored else {
                    mismatched.append(DeltaMismatch(name: module.name, baseName: info.name, shape: stored, baseShape: info.shape,
                                                    reason: "the LoRA update's shape differs from the base tensor's"))
                    continue
                }
                applied.append(module)
            }
            let merged = LoRAMergedStore(base: base, adapter: adapter, modules: applied)
            report = try Auditor.run(store: merged, configuration: configuration)
            report.assumptions.append("layers and bounds are the base '\(basePath)' with the LoRA adapter '\(folder)' merged (W + s·B·A, float64)")
            let baseReport = try Auditor.run(store: base, configuration: referenceConfiguration(configuration))
            for module in applied {
                var e = try loraEntry(module, adapter: adapter, configuration: configuration)
                let info = try base.info(module.baseTensor)
                e.baseName = info.name
                e.baseDtype = DeltaPrecision.storedType(info)
                e.layer = info.layer
                let wb = try base.loadFloat64(info.name)
                if let bad = NonFinite.scan(wb) {
                    e.reason = "\(bad.count) non-finite value\(bad.count == 1 ? "" : "s") in '\(info.name)'"
                } else if e.reason == nil {
                    var baseInfo = info
                    if module.fanInFanOut { baseInfo.orientation = .inOut } else if baseInfo.shape.count == 2 { baseInfo.orientation = .outIn }
                    guard let (mb, _) = try DeltaSpectra.operatorMatrix(wb, baseInfo) else { continue }
                    let (b, a) = try LoRAMergedStore.factors(module, adapter: adapter)
                    var d = try b.multiplied(by: a)
                    for i in d.storage.indices { d.storage[i] *= module.scaling }
                    let w = Matrix(rows: mb.rows, cols: mb.cols, storage: zip(mb.storage, d.storage).map { $0 + $1 })
                    let values = try e.singularValues ?? LowRank.productSingularValues(b: b, a: a, scale: module.scaling)
                    try DeltaSpectra.compare(model: w, base: mb, into: &e, includeSpectra: configuration.includeSpectra,
                                             deltaValues: values) { uk, vk in
                        // ‖U_kᵀ (s B A) V_k‖_F² = s² ‖(U_kᵀ B)(A V_k)‖_F²: no out × in product needed.
                        let core = try uk.transposed().multiplied(by: b).multiplied(by: a.multiplied(by: vk))
                        return module.scaling * module.scaling * core.frobeniusSquared
                    }
                    if !configuration.includeSpectra { e.singularValues = nil }
                }
                entries.append(e)
            }
            delta = DeltaReport(mode: "lora_merged", model: modelInput,
                                base: DeltaInput(path: basePath, format: base.format.rawValue, sha256: baseReport.input.sha256),
                                matching: "lora_module: base tensor '<module>.weight' by name", topKRule: DeltaSpectra.topKRule,
                                entries: entries, unmatchedModel: unmatched, unmatchedBase: [], mismatched: mismatched,
                                network: nil, quantization: nil)
            finish(&delta, model: report, base: baseReport)
        } else {
            for module in adapter.modules {
                var e = try loraEntry(module, adapter: adapter, configuration: configuration)
                if !configuration.includeSpectra { e.singularValues = nil }
                entries.append(e)
            }
            let why = "a LoRA adapter alone is not a network; its updates are in the delta section (--base BASE gives the merged model's bounds)"
            let attrs = try? FileManager.default.attributesOfItem(atPath: adapter.weightsPath)
            report = AuditReportV1(
                created: configuration.timestamps ? ISO8601DateFormatter().string(from: Date()) : nil,
                input: InputInfo(path: folder, format: "peft_lora", sha256: adapterSHA,
                                 bytes: (attrs?[.size] as? NSNumber)?.intValue ?? 0, architectureSource: "peft_adapter_config"),
                settings: Settings(svd: configuration.svd.description, threshold: configuration.threshold,
                                   policy: configuration.policyPath, baseline: configuration.baselinePath,
                                   maxIncreasePercent: configuration.maxIncreasePercent, inputShape: configuration.inputShape,
                                   heavyTail: configuration.heavyTail, seed: configuration.seed),
                layers: [], network: NetworkReport(reason: why), gmsi: nil, gmsiMode: "weights", gmsiComponents: ["jacobian_bound": nil],
                gmsiReason: why, checks: [], verdict: .pass, assumptions: [])
            report.checks = Checks.evaluate(report: report, configuration: configuration)
            delta = DeltaReport(mode: "lora", model: modelInput, base: nil, matching: "none (adapter alone)",
                                topKRule: DeltaSpectra.topKRule, entries: entries, unmatchedModel: unmatched, unmatchedBase: [],
                                mismatched: [], network: nil, quantization: nil)
        }
        attach(delta, to: &report, configuration: configuration)
        return report
    }

    /// One module's update alone: ΔW = s·B·A, spectrum from the thin factors.
    static func loraEntry(_ module: PEFTAdapter.Module, adapter: PEFTAdapter, configuration: AuditConfiguration) throws -> DeltaEntry {
        var e = DeltaEntry(name: module.baseTensor, matchedBy: "lora_module", kind: "lora",
                           shape: [module.shape[0], module.shape.dropFirst().reduce(1, *)])
        e.layer = module.name
        e.dtype = try adapter.store.info(module.tensorA).dtype.rawValue
        e.orientation = module.fanInFanOut ? "lora: s·B·A (base stored [in, out], fan_in_fan_out)" : "lora: s·B·A"
        e.method = "lora_thin_qr_gesdd"
        e.lora = LoRAInfo(rank: module.rank, alpha: module.alpha, scaling: module.scaling, rslora: adapter.rslora,
                          tensorA: module.tensorA, tensorB: module.tensorB)
        let (b, a) = try LoRAMergedStore.factors(module, adapter: adapter)
        guard b.allFinite, a.allFinite else {
            e.reason = "non-finite values in the LoRA factors"
            return e
        }
        let values = try LowRank.productSingularValues(b: b, a: a, scale: module.scaling)
        e.metrics = SpectrumMetrics.compute(singularValues: values, rows: e.shape[0], cols: e.shape[1])
        e.singularValues = values
        return e
    }

    /// BASE's own audit: no checks, no probes, no progress (its bounds only).
    static func referenceConfiguration(_ c: AuditConfiguration) -> AuditConfiguration {
        var r = c
        r.threshold = nil
        r.policy = nil
        r.baseline = nil
        r.maxIncreasePercent = nil
        r.data = nil
        r.progress = nil
        r.shard = nil
        return r
    }

    /// Bound factors per entry, the network comparison and the quantization ranking.
    static func finish(_ delta: inout DeltaReport, model: AuditReportV1, base: AuditReportV1) {
        func factor(_ report: AuditReportV1, _ tensor: String?) -> Double? {
            guard let tensor, let row = report.layers.first(where: { $0.status == .analyzed && $0.tensors.contains(tensor) }) else { return nil }
            return row.operatorNorm ?? row.metrics?.spectralNorm
        }
        for i in delta.entries.indices {
            let fm = factor(model, delta.entries[i].name)
            let fb = factor(base, delta.entries[i].baseName)
            delta.entries[i].boundFactorModel = fm
            delta.entries[i].boundFactorBase = fb
            if let fm, let fb, fb > 0 { delta.entries[i].boundFactorRatio = fm / fb }
        }
        var n = DeltaNetwork()
        n.lipschitzBoundBase = base.network.lipschitzBound
        n.lipschitzBoundModel = model.network.lipschitzBound
        n.log10LipschitzBoundBase = base.network.log10LipschitzBound
        n.log10LipschitzBoundModel = model.network.log10LipschitzBound
        if let a = model.network.log10LipschitzBound, let b = base.network.log10LipschitzBound {
            n.deltaLog10LipschitzBound = a - b
            n.lipschitzBoundRatio = Foundation.pow(10, a - b)
        } else {
            n.reason = model.network.reason ?? base.network.reason ?? "a network bound is unavailable"
        }
        n.typicalBoundBase = base.network.typicalBound
        n.typicalBoundModel = model.network.typicalBound
        delta.network = n
        // Lower precision: fewer bits per element than the base's (DeltaPrecision).
        let lower = delta.entries.filter { DeltaPrecision.isLower($0.dtype, than: $0.baseDtype) }
        if !lower.isEmpty {
            let ranked = lower.sorted { ($0.relativeSpectralNorm ?? -1) > ($1.relativeSpectralNorm ?? -1) }
            delta.quantization = ranked.enumerated().map { i, e in
                QuantizationDamage(rank: i + 1, name: e.name, dtype: e.dtype ?? "", baseDtype: e.baseDtype ?? "",
                                   relativeSpectralNorm: e.relativeSpectralNorm, relativeFrobenius: e.relativeFrobenius,
                                   boundFactorRatio: e.boundFactorRatio)
            }
        }
    }

    static func attach(_ delta: DeltaReport, to report: inout AuditReportV1, configuration: AuditConfiguration) {
        report.delta = delta
        // The audit of MODEL alone judged delta rules as unavailable: they are judged now.
        report.checks.removeAll { $0.id.hasPrefix("policy.delta.") }
        report.checks += DeltaChecks.evaluate(delta: delta, configuration: configuration)
        report.verdict = report.checks.allSatisfy(\.passed) ? .pass : .fail
    }
}
