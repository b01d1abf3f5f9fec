import Foundation
import Testing
import AuditReport

/// `schemas/audit-report.schema.json` against what `AuditReportV1.jsonData()` really writes: the
/// `required` lists must equal the keys written when every optional is unset, the `properties`
/// must equal the keys written when every optional is set, and sample reports must validate.
@Suite struct SchemaTests {
    static let schemaURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("schemas/audit-report.schema.json")

    let schema: JSON
    let validator: MiniSchemaValidator

    init() throws {
        let data = try #require(FileManager.default.contents(atPath: Self.schemaURL.path), "schema file missing")
        schema = try JSON.parse(data)
        validator = MiniSchemaValidator(schema: schema)
    }

    // MARK: Fixtures

    /// Every optional unset (numbers that are always written are NaN, so they encode as null).
    static func bareReport() -> AuditReportV1 {
        AuditReportV1(input: InputInfo(path: "m.npy", format: "npy", sha256: String(repeating: "0", count: 64),
                                       bytes: 128, architectureSource: "inferred"),
                      settings: Settings(), layers: [], network: NetworkReport(), gmsi: nil, gmsiMode: "weights",
                      gmsiComponents: [:], gmsiReason: nil, checks: [], verdict: .pass, assumptions: [])
    }

    /// Every nested object present, with every optional inside it unset.
    static func minimalNested() -> AuditReportV1 {
        var r = bareReport()
        var withMetrics = LayerReport(name: "a", kind: "dense", tensors: [], status: .analyzed)
        withMetrics.metrics = SpectrumMetricsV1(tol: .nan, rank: nil, spectralNorm: .nan, sigmaMin: nil, condition: nil,
                                                frobenius: nil, nuclear: nil, stableRank: nil, spectralEntropy: nil,
                                                normalizedEntropy: nil, effectiveRank: nil, erankRV: nil,
                                                typicalGain: nil, entropyBound: nil)
        withMetrics.heavyTail = HeavyTailV1(wwAlpha: nil, wwAlphaWeighted: nil, wwXmin: nil, wwKSDistance: nil,
                                            mpBulkEdge: nil, mpSpikes: nil)
        withMetrics.folded = FoldedViewV1(batchNorm: "bn")
        r.network.structure = StructureReportV1(source: "inferred", declared: false,
                                                guesses: [StructureGuessV1(kind: "order", layer: nil, detail: "d")])
        r.layers = [LayerReport(name: "b", kind: "tensor", tensors: ["b"], status: .skipped), withMetrics]
        r.network.chain = [ChainFactor(layer: "a", kind: "operator", value: 1)]
        r.checks = [Check(id: "layer.finite", layer: nil, metric: "finite", value: nil, limit: nil, comparison: "finite",
                          passed: true, message: "")]
        r.gmsiComponents = ["jacobian_bound": nil]
        r.data = DataReport(probeCount: 0, probePath: "p.npy", labelsPath: nil, loss: nil, seed: 0, perSample: .init())
        // Issue 19: a recurrent state-map trajectory with every optional unset.
        r.data?.recurrentTrajectory = [RecurrentTrajectoryV1(layer: "lstm", direction: "l0", cell: "lstm", stateMap: "h", steps: 1,
                                                             perProbe: [.init(perStep: [0.5])])]
        r.shard = ShardInfo(index: 1, count: 2)
        // Issue 19: a recurrent layer's horizon bound with every optional unset.
        r.network.recurrent = [RecurrentBoundV1(layer: "lstm", horizon: 1, output: "sequence",
                                                directions: [RecurrentDirectionV1(name: "l0", cell: "lstm", log10BoundSequence: 1,
                                                                                  log10BoundFinalState: 1, spectralRadius: 1,
                                                                                  contractive: false, growthPerStep: nil)])]
        r.transformer = SampleReports.transformerSection(complete: false)
        var entry = DeltaEntry(name: "w", matchedBy: "name", kind: "matrix", shape: [2, 2])
        entry.metrics = withMetrics.metrics
        entry.lora = LoRAInfo(rank: 1, alpha: 1, scaling: 1, rslora: false, tensorA: "a", tensorB: "b")
        r.delta = DeltaReport(mode: "weights", model: DeltaInput(path: "m", format: "npz"), base: DeltaInput(path: "b", format: "npz"),
                              matching: "name", topKRule: "k", entries: [entry], unmatchedModel: [], unmatchedBase: [],
                              mismatched: [DeltaMismatch(name: "x", baseName: "x", shape: [1], baseShape: [2], reason: "r")],
                              network: DeltaNetwork(),
                              quantization: [QuantizationDamage(rank: 1, name: "w", dtype: "f16", baseDtype: "f32",
                                                                relativeSpectralNorm: nil, relativeFrobenius: nil, boundFactorRatio: nil)])
        return r
    }

    /// A delta section with every optional unset (an adapter alone: no base, network or ranking).
    static func minimalDelta() -> AuditReportV1 {
        var r = bareReport()
        r.delta = DeltaReport(mode: "lora", model: DeltaInput(path: "a", format: "peft_lora"), base: nil, matching: "none",
                              topKRule: "k", entries: [DeltaEntry(name: "w", matchedBy: "lora_module", kind: "lora", shape: [1, 1])],
                              unmatchedModel: [], unmatchedBase: [], mismatched: [], network: nil, quantization: nil)
        // Data without recurrent layers (issue 19: `recurrent_trajectory` is optional).
        r.data = DataReport(probeCount: 0, probePath: "p.npy", labelsPath: nil, loss: nil, seed: 0, perSample: .init())
        // A transformer section without data mode (`data` is written only with probes).
        var t = SampleReports.transformerSection(complete: false)
        t.data = nil
        t.head = nil
        r.transformer = t
        return r
    }

    /// Transformer data mode of a report written before task heads (`transformer.head` and
    /// `transformer.data.output` are optional).
    static func transformerDataWithoutHead() -> AuditReportV1 {
        var r = bareReport()
        var t = SampleReports.transformerSection(complete: false)
        t.head = nil
        t.data?.output = nil
        r.transformer = t
        return r
    }

    /// Every optional set, everywhere (checked by `assertNothingUnset`, so a new field must be added here).
    static func maximalReport() -> AuditReportV1 {
        var r = SampleReports.withData()
        r.created = "2026-11-29T11:00:00Z"
        r.gmsiReason = "n/a"
        r.shard = ShardInfo(index: 1, count: 4, arch: "arch.json", allowUnavailable: true,
                            bounds: [ShardBoundInput(node: 1, layer: "conv1", sigma: 2, effectiveRank: 3, stableRank: 1.5,
                                                     extraLipschitz: 1, broken: "b")])
        r.settings = Settings(svd: "topk:8", threshold: 10, policy: "p.json", baseline: "b.json", maxIncreasePercent: 5,
                              inputShape: [32, 32, 3], heavyTail: true, seed: 1)
        r.network.reason = "note"
        var l = r.layers[0]
        l.reason = "r"
        l.methodTolerance = 1e-6
        l.heavyTail = HeavyTailV1(wwAlpha: 3.1, wwAlphaWeighted: 2.2, wwXmin: 0.5, wwKSDistance: 0.04, mpBulkEdge: 1.3,
                                  mpSpikes: 2)
        l.operatorNormMethod = "fft_exact"
        l.foldedBatchNorm = "bn"
        l.operatorSingularValues = [4, 3, 2]
        l.estimateErrors = ["spectral_entropy": 0.01]
        // Issue 16: the folded view, guesses, a gate label, the network's structure.
        var folded = FoldedViewV1(batchNorm: "bn")
        folded.shape = l.shape
        folded.method = "gram_syevd"
        folded.methodTolerance = 1e-6
        folded.metrics = l.metrics
        folded.operatorNorm = 2
        folded.operatorNormMethod = "upper_bound"
        folded.singularValues = [2, 1]
        folded.operatorSingularValues = [2, 1]
        folded.nullReasons = ["rank": "topk"]
        l.folded = folded
        l.guessed = ["activation after 'conv1' assumed relu (Lip 1)"]
        l.gate = "i"
        r.network.structure = StructureReportV1(source: "inferred", declared: false,
                                                guesses: [StructureGuessV1(kind: "activation", layer: "conv1", detail: "d")],
                                                issue: "ambiguous")
        r.layers = [l]
        r.checks = [Check(id: "x", layer: "conv1", metric: "m", value: 1, limit: 2, comparison: "<=", passed: true,
                          message: "")]
        r.data!.gHReason = "labels given"
        r.transformer = SampleReports.transformerSection(complete: true)
        // Schema 2.0.0 additions.
        r.settings.dataThreshold = 20
        r.dataGmsiReason = "n/a"
        r.dataGmsiNullReasons = ["sqrt_g_H": "no labels"]
        r.warnings = ["baseline: analysed layers not in the baseline: conv1"]
        r.network.typicalBoundReason = "n/a"
        // Issue 19: horizon bounds.
        r.network.horizon = 100
        r.network.recurrent = [RecurrentBoundV1(layer: "lstm", horizon: 100, output: "final_state", lipschitzBound: 20,
                                                log10LipschitzBound: 1.3,
                                                directions: [RecurrentDirectionV1(name: "l0", cell: "gru", log10BoundSequence: 1.5,
                                                                                  log10BoundFinalState: 1.3, spectralRadius: 0.5,
                                                                                  contractive: true, growthPerStep: 1.01)],
                                                reason: "r")]
        r.layers[0].nullReasons = ["rank": "topk"]
        var trajectory = RecurrentTrajectoryV1(layer: "lstm", direction: "l0", cell: "lstm", stateMap: "h", steps: 2,
                                               perProbe: [.init(perStep: [0.5, 0.8])])
        trajectory.boundGrowthPerStep = 3
        trajectory.boundSpectralRadius = 2.5
        r.data?.recurrentTrajectory = [trajectory]
        var entry = DeltaEntry(name: "conv1/kernel:0", matchedBy: "keras_layer_variable", kind: "lora", shape: [2, 3])
        entry.baseName = "layers/conv1/vars/0"
        entry.layer = "conv1"
        entry.dtype = "f16"
        entry.baseDtype = "f32"
        entry.orientation = "out_in"
        entry.method = "gesdd"
        entry.metrics = r.layers[0].metrics
        entry.relativeSpectralNorm = 0.1
        entry.relativeFrobenius = 0.2
        entry.spectralNormChange = 0.3
        entry.relativeSpectralNormChange = 0.04
        entry.entropyChange = -0.1
        entry.topK = 2
        entry.topSubspaceShare = 0.5
        entry.isotropicShare = 0.6
        entry.boundFactorBase = 2
        entry.boundFactorModel = 2.2
        entry.boundFactorRatio = 1.1
        entry.lora = LoRAInfo(rank: 2, alpha: 4, scaling: 2, rslora: false, tensorA: "a", tensorB: "b")
        entry.singularValues = [0.3, 0.1]
        entry.reason = "r"
        var network = DeltaNetwork()
        network.lipschitzBoundBase = 1
        network.lipschitzBoundModel = 2
        network.log10LipschitzBoundBase = 0
        network.log10LipschitzBoundModel = 0.30103
        network.deltaLog10LipschitzBound = 0.30103
        network.lipschitzBoundRatio = 2
        network.typicalBoundBase = 0.5
        network.typicalBoundModel = 0.7
        network.reason = "n"
        r.delta = DeltaReport(mode: "lora_merged", model: DeltaInput(path: "a", format: "peft_lora", sha256: "00"),
                              base: DeltaInput(path: "b.h5", format: "keras_h5", sha256: "11"), matching: "name",
                              topKRule: "k", entries: [entry], unmatchedModel: ["u"], unmatchedBase: ["v"],
                              mismatched: [DeltaMismatch(name: "x", baseName: "y", shape: [1], baseShape: [2], reason: "r")],
                              network: network,
                              quantization: [QuantizationDamage(rank: 1, name: "w", dtype: "f16", baseDtype: "f32",
                                                                relativeSpectralNorm: 0.1, relativeFrobenius: 0.1, boundFactorRatio: 1)])
        return r
    }

    /// Fails for every `nil` stored anywhere in `value` (so the maximal fixture covers every key).
    static func unsetPaths(_ value: Any, _ path: String = "report") -> [String] {
        let m = Mirror(reflecting: value)
        if m.displayStyle == .optional {
            guard let inner = m.children.first?.value else { return [path] }
            return unsetPaths(inner, path)
        }
        var found: [String] = []
        for (i, child) in m.children.enumerated() {
            let name: String
            if m.displayStyle == .dictionary, let pair = Mirror(reflecting: child.value).children.map(\.value) as [Any]?,
               pair.count == 2 {
                found += unsetPaths(pair[1], "\(path)[\(pair[0])]")
                continue
            }
            name = child.label ?? "[\(i)]"
            found += unsetPaths(child.value, path + "." + name)
        }
        return found
    }

    /// Objects of the encoded report by schema definition name (`#` is the report itself).
    static func objectsByDefinition(_ report: JSON) -> [String: [JSON]] {
        var out: [String: [JSON]] = ["#": [report]]
        func add(_ name: String, _ value: JSON?) { if let v = value, v.objectValue != nil { out[name, default: []].append(v) } }
        for name in ["tool", "input", "settings", "network", "data", "shard"] { add(name, report[name]) }
        for layer in report["layers"]?.arrayValue ?? [] {
            add("layer", layer)
            add("metrics", layer["metrics"])
            add("heavy_tail", layer["heavy_tail"])
            add("folded_view", layer["folded"])
            add("metrics", layer["folded"]?["metrics"])
        }
        add("structure", report["network"]?["structure"])
        for guess in report["network"]?["structure"]?["guesses"]?.arrayValue ?? [] { add("structure_guess", guess) }
        for factor in report["network"]?["chain"]?.arrayValue ?? [] { add("chain_factor", factor) }
        for rec in report["network"]?["recurrent"]?.arrayValue ?? [] {
            add("recurrent_bound", rec)
            for d in rec["directions"]?.arrayValue ?? [] { add("recurrent_direction", d) }
        }
        for check in report["checks"]?.arrayValue ?? [] { add("check", check) }
        add("per_sample", report["data"]?["per_sample"])
        for t in report["data"]?["recurrent_trajectory"]?.arrayValue ?? [] {
            add("recurrent_trajectory", t)
            for p in t["per_probe"]?.arrayValue ?? [] { add("recurrent_trajectory_probe", p) }
        }
        if let t = report["transformer"] {
            add("transformer", t)
            add("transformer_domain", t["domain"])
            for h in t["attention_heads"]?.arrayValue ?? [] {
                add("attention_head", h)
                add("metrics", h["qk"])
                add("metrics", h["ov"])
            }
            for n in t["norms"]?.arrayValue ?? [] { add("norm", n) }
            for b in t["blocks"]?.arrayValue ?? [] { add("block_bound", b) }
            add("transformer_data", t["data"])
            add("transformer_head", t["head"])
            add("transformer_output", t["data"]?["output"])
        }
        if let d = report["delta"] {
            add("delta", d)
            add("delta_input", d["model"])
            add("delta_input", d["base"])
            add("delta_network", d["network"])
            for e in d["entries"]?.arrayValue ?? [] {
                add("delta_entry", e)
                add("delta_metrics", e["metrics"])
                add("lora", e["lora"])
            }
            for m in d["mismatched"]?.arrayValue ?? [] { add("delta_mismatch", m) }
            for q in d["quantization"]?.arrayValue ?? [] { add("quantization_damage", q) }
        }
        return out
    }

    func definition(_ name: String) -> JSON? { name == "#" ? schema : schema["$defs"]?[name] }

    static func encoded(_ r: AuditReportV1) throws -> JSON { try JSON.parse(try r.jsonData()) }

    // MARK: Tests

    @Test func schemaIsWellFormed() throws {
        #expect(schema["$schema"]?.stringValue == "https://json-schema.org/draft/2020-12/schema")
        #expect(schema["properties"]?["schema_version"]?["const"]?.stringValue == ReportVersion.schemaVersion)
        #expect(schema["properties"]?["definitions"]?["const"]?.stringValue == ReportVersion.definitions)
        let defs = try #require(schema["$defs"]?.objectValue)
        for (name, def) in defs.sorted(by: { $0.key < $1.key }) + [("#", schema)] {
            #expect(def["additionalProperties"] == .bool(false), "\(name) must forbid additional properties")
            let properties = def["properties"]?.keys ?? []
            let required = Set(def["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            #expect(required.isSubset(of: properties), "\(name): required keys without a property")
        }
        // Every $ref resolves.
        func refs(_ j: JSON) -> [String] {
            switch j {
            case .object(let o): return (o["$ref"]?.stringValue.map { [$0] } ?? []) + o.values.flatMap(refs)
            case .array(let a): return a.flatMap(refs)
            default: return []
            }
        }
        for ref in refs(schema) { #expect(validator.resolve(ref) != nil, "unresolved \(ref)") }
        let status = schema["$defs"]?["layer"]?["properties"]?["status"]?["enum"]?.arrayValue?.compactMap(\.stringValue)
        #expect(Set(status ?? []) == Set(["analyzed", "skipped", "unsupported", "non_finite"]))
    }

    @Test func maximalFixtureSetsEveryOptional() {
        #expect(Self.unsetPaths(Self.maximalReport()) == [])
        // The walk does see unset optionals (so the check above can fail).
        let bare = Self.unsetPaths(Self.bareReport())
        #expect(bare.contains("report.created") && bare.contains("report.network.lipschitzBound"))
        #expect(Self.unsetPaths(Self.minimalNested()).contains("report.layers.[1].metrics.rank"))
    }

    @Test func requiredListsMatchKeysWrittenWithEveryOptionalUnset() throws {
        var instances: [String: [JSON]] = [:]
        for r in [Self.bareReport(), Self.minimalNested(), Self.minimalDelta(), Self.transformerDataWithoutHead()] {
            instances.merge(Self.objectsByDefinition(try Self.encoded(r))) { $0 + $1 }
        }
        let defs = try #require(schema["$defs"]?.objectValue).keys.sorted() + ["#"]
        for name in defs {
            let objects = try #require(instances[name], "no minimal instance of \(name)")
            let alwaysWritten = objects.dropFirst().reduce(objects[0].keys) { $0.intersection($1.keys) }
            let required = Set(definition(name)?["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])
            #expect(required == alwaysWritten, "\(name): required \(required.sorted()) vs written \(alwaysWritten.sorted())")
        }
    }

    @Test func propertiesMatchKeysWrittenWithEveryOptionalSet() throws {
        let instances = Self.objectsByDefinition(try Self.encoded(Self.maximalReport()))
        let defs = try #require(schema["$defs"]?.objectValue).keys.sorted() + ["#"]
        for name in defs {
            let objects = try #require(instances[name], "no maximal instance of \(name)")
            let written = objects.reduce(Set<String>()) { $0.union($1.keys) }
            let properties = definition(name)?["properties"]?.keys ?? []
            #expect(properties == written, "\(name): properties \(properties.sorted()) vs written \(written.sorted())")
        }
    }

    @Test(arguments: ["weights", "data", "hostile", "bare", "minimal", "maximal", "delta"])
    func sampleReportsValidate(_ name: String) throws {
        let report: AuditReportV1
        switch name {
        case "weights": report = SampleReports.weightsOnly()
        case "data": report = SampleReports.withData()
        case "hostile": report = SampleReports.hostileReport()
        case "bare": report = Self.bareReport()
        case "minimal": report = Self.minimalNested()
        case "delta": report = Self.minimalDelta()
        default: report = Self.maximalReport()
        }
        let data = try report.jsonData()
        try Golden.dump(String(decoding: data, as: UTF8.self), "report-\(name).json")
        let errors = validator.validate(try JSON.parse(data))
        #expect(errors == [], "\(name) does not validate")
    }

    @Test func validatorRejectsDrift() throws {
        guard case .object(var report) = try Self.encoded(SampleReports.weightsOnly()) else {
            Issue.record("report is not an object"); return
        }
        #expect(validator.validate(.object(report)) == [])
        var extra = report
        extra["unexpected"] = .number(1)
        #expect(validator.validate(.object(extra)).contains { $0.contains("unexpected key unexpected") })
        var missing = report
        missing["verdict"] = nil
        #expect(validator.validate(.object(missing)).contains { $0.contains("missing required key verdict") })
        report["verdict"] = .string("maybe")
        #expect(!validator.validate(.object(report)).isEmpty)
        report["verdict"] = .string("pass")
        guard case .array(var layers)? = report["layers"], case .object(var layer) = layers[0] else {
            Issue.record("no layers"); return
        }
        layer["status"] = .string("analysed")
        layer["operator_norm"] = .null
        layers[0] = .object(layer)
        report["layers"] = .array(layers)
        let errors = validator.validate(.object(report))
        #expect(errors.contains { $0.hasPrefix("/layers/0/status") })
        #expect(errors.contains { $0.hasPrefix("/layers/0/operator_norm") })
    }

    @Test func jsonRoundTrips() throws {
        for r in [SampleReports.weightsOnly(), SampleReports.withData(), Self.maximalReport(), Self.bareReport(), Self.minimalDelta()] {
            let decoded = try AuditReportV1.decode(try r.jsonData())
            #expect(decoded == r)
            #expect(try decoded.jsonData() == (try r.jsonData()))
        }
    }

    /// The synthesized encoders of `LayerReport`, `DataReport`, `ChainFactor`, `HeavyTailV1` and
    /// `Settings` use JSONEncoder's default `.throw` strategy: a non-finite number there makes
    /// `jsonData()` throw instead of writing `null`. Recorded so the fix (in AuditReport) is noticed.
    @Test func nonFiniteLayerNumbersAreOmittedNotThrown() throws {
        var r = SampleReports.weightsOnly()
        r.layers[0].operatorNorm = .infinity
        r.layers[0].layerShare = .nan
        let data = try r.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        #expect(!text.contains("inf") && !text.contains("nan"))
        let back = try AuditReportV1.decode(data)
        #expect(back.layers[0].operatorNorm == nil)
        #expect(back.layers[0].layerShare == nil)
    }
}
