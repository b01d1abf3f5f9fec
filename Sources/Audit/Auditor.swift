import Foundation
import AuditReport
import LinearAlgebra
import ModelBuilder
import SpectralModel
import WeightFiles

/// Errors that stop an audit before a report exists (the CLI maps them to exit codes).
public enum AuditError: Error, CustomStringConvertible {
    /// The architecture manifest or Keras config is unusable.
    case architecture(String)
    /// A check input (policy, baseline) is unusable.
    case input(String)
    /// An option contradicts the model (`--input-shape`) or configures a check that would check
    /// nothing (a policy rule matching no layer): a usage error (exit status 2).
    case usage(String)

    public var description: String {
        switch self {
        case .architecture(let s), .input(let s), .usage(let s): return s
        }
    }
}

/// Runs an audit: file → tensors → network graph → per-layer spectra (in parallel) → network
/// bounds → GMSI → checks → report. Nothing here prints; progress goes to the callback.
public enum Auditor {
    public static func run(path: String, configuration: AuditConfiguration) throws -> AuditReportV1 {
        let store = try ModelFile.open(path, limits: configuration.limits)
        return try run(store: store, configuration: configuration)
    }

    public static func run(store: any TensorStore, configuration: AuditConfiguration) throws -> AuditReportV1 {
        try run(store: store, configuration: configuration, replay: nil)
    }

    /// `replay` (from `ReportMerge`): rows and bound inputs of partial reports stand in for the
    /// per-layer analysis; everything else runs as in a whole audit.
    static func run(store: any TensorStore, configuration: AuditConfiguration, replay: ShardReplay?) throws -> AuditReportV1 {
        // The input's SHA-256 (a full read of the file) runs beside graph building and analysis.
        let digest = BackgroundDigest(path: store.path)
        // No thread may outlive the audit: on an early error, stop the digest and wait for it
        // (process exit would otherwise tear OpenSSL down under the running thread).
        defer { digest.cancelAndWait() }
        let graph = try buildGraph(store: store, configuration: configuration)
        let shapeNotes = try InputShapeCheck.validate(graph: graph, configuration: configuration)
        let attrs = try? FileManager.default.attributesOfItem(atPath: store.path)
        var input = InputInfo(path: store.path, format: store.format.rawValue, sha256: "",
                              bytes: (attrs?[.size] as? NSNumber)?.intValue ?? 0,
                              architectureSource: graph.source)

        if let replay {
            input.sha256 = try digest.value()
            try replay.check(input: input, graph: graph)
        }
        let analysis = LayerAnalysis(store: store, graph: graph, configuration: configuration, replay: replay)
        var layers = try analysis.run()
        input.sha256 = try digest.value()
        let recurrent = RecurrentBounds.compute(graph: graph, store: store, horizon: configuration.horizon)
        let bounds = NetworkBounds.compute(graph: graph, factors: analysis.factors, foldedInto: analysis.foldedInto,
                                           extraLipschitz: analysis.extraLipschitz, broken: analysis.broken,
                                           recurrent: recurrent)
        for (node, r) in recurrent {
            // Issue 19: the row of an LSTM/GRU says how it enters the bound (or why it does not).
            guard let row = analysis.rowIndex[node] else { continue }
            if let lg = r.report.log10LipschitzBound {
                layers[row].reason = "'\(graph.nodes[node].name)' is a recurrent layer: no global Lipschitz constant over an unbounded horizon, so it enters the network bound through its horizon bound L ≤ 10^\(String(format: "%.4g", lg)) for input sequences of length ≤ T = \(configuration.horizon) (--horizon; network.recurrent); its matrices are analysed per tensor and per gate in the rows below"
            } else if let why = r.report.reason {
                layers[row].reason = (layers[row].reason.map { $0 + "; " } ?? "") + why
            }
        }
        for (node, share) in bounds.shares {
            if let row = analysis.rowIndex[node] { layers[row].layerShare = share }
        }
        if configuration.shard?.ownsPassiveRows ?? true {
            layers = try insertTensorRows(layers, analysis: analysis, store: store, graph: graph)
            layers += try unreferencedRows(store: store, graph: graph, analysis: analysis)
        }
        StructureReporting.annotate(&layers, graph: graph)
        var network = bounds.report
        network.structure = StructureReporting.report(graph: graph)
        var assumptions = graph.assumptions + shapeNotes
        if !recurrent.isEmpty {
            network.recurrent = recurrent.keys.sorted().map { recurrent[$0]!.report }
            assumptions += recurrent.keys.sorted().flatMap { recurrent[$0]!.notes }
            if network.log10LipschitzBound != nil, recurrent.values.contains(where: { $0.logFactor != nil }) {
                network.horizon = configuration.horizon
                assumptions.append("the network bound holds when every LSTM/GRU/RNN layer reads a sequence of length ≤ T = \(configuration.horizon) (--horizon) from zero initial states: they enter through their horizon bounds")
            }
        }

        if let d = bounds.report.inputDimension, graph.inputDimension == nil {
            assumptions.append("input dimension d = \(d) taken from the first layer's fan-in")
        }
        let gmsi = bounds.report.lipschitzBound
        let gmsiReason: String? = gmsi == nil
            ? (bounds.report.reason ?? (bounds.report.log10LipschitzBound != nil ? "Lipschitz bound exceeds Float64; see log10_lipschitz_bound" : nil))
            : nil
        var settings = Settings(svd: configuration.svd.description, threshold: configuration.threshold,
                                policy: configuration.policyPath, baseline: configuration.baselinePath,
                                maxIncreasePercent: configuration.maxIncreasePercent,
                                inputShape: configuration.inputShape, heavyTail: configuration.heavyTail,
                                seed: configuration.seed)
        settings.dataThreshold = configuration.dataThreshold
        var report = AuditReportV1(
            created: configuration.timestamps ? ISO8601DateFormatter().string(from: Date()) : nil,
            input: input, settings: settings, layers: layers, network: network,
            gmsi: gmsi, gmsiMode: "weights", gmsiComponents: ["jacobian_bound": gmsi],
            gmsiReason: gmsiReason, checks: [], verdict: .pass, assumptions: assumptions)
        try TransformerAudit.apply(to: &report, store: store, configuration: configuration)
        if let options = configuration.data,
           try !TransformerDataAudit.apply(to: &report, store: store, configuration: configuration, options: options) {
            do {
                let result = try DataAudit.run(store: store, graph: graph, options: options,
                                               lipschitzBound: bounds.report.lipschitzBound,
                                               progress: configuration.progress)
                // SPEC §7: the data aggregate has its own name and gate; `gmsi` stays the weights-only value.
                report.data = result.report
                report.applyDataGMSI(components: result.components, aggregate: configuration.gmsiAggregate)
                report.assumptions += result.notes
            } catch let e as DataAuditError where e.kind == .unsupported {
                report.markDataAuditUnavailable(e.message, aggregate: configuration.gmsiAggregate)
            }
        }
        NullReasons.fill(&report, svd: configuration.svd)
        report.checks = Checks.evaluate(report: report, configuration: configuration)
        if let policy = configuration.policy, configuration.shard == nil {
            let unmatched = Checks.unmatchedRules(report: report, policy: policy)
            if let rule = unmatched.first(where: { !$0.rule.optional }) {
                throw AuditError.usage(Checks.unmatchedMessage(rule, report: report, path: configuration.policyPath))
            }
            report.addWarnings(unmatched.map { Checks.unmatchedMessage($0, report: report, path: configuration.policyPath) })
        }
        if let base = configuration.baseline {
            report.addWarnings(BaselineComparison(report: report, baseline: base).warnings)
        }
        report.checks += StructureReporting.checks(report: report, requirement: configuration.requireStructure)
        if let shard = configuration.shard {
            // A partial report: network-level checks wait for `merge`.
            report.shard = ShardInfo(index: shard.index, count: shard.count, arch: configuration.manifestPath,
                                     allowUnavailable: configuration.allowUnavailable, bounds: analysis.boundInputs)
            report.checks = report.checks.filter { $0.layer != nil }
        }
        report.verdict = report.checks.allSatisfy(\.passed) ? .pass : .fail
        return report
    }

    static func buildGraph(store: any TensorStore, configuration: AuditConfiguration) throws -> NetworkGraph {
        if let manifestPath = configuration.manifestPath {
            return try ArchitectureManifest.load(path: manifestPath, limits: configuration.limits).graph(tensors: store.tensors)
        }
        if let json = store.architectureJSON {
            let config = try KerasModelConfig.parse(json, path: store.path, limits: configuration.limits)
            // Keras 2 and 3 differ in hard_sigmoid's slope (0.2 vs 1/6); the file says which.
            let version = (store as? HDF5TensorStore)?.fileAttributes["keras_version"]
            let major = version.flatMap { Int($0.prefix { $0.isNumber }) } ?? 3
            return NetworkGraph.fromKeras(config, tensors: store.tensors, kerasMajor: major)
        }
        if store.format == .gguf || store.format == .ggufSplit {
            let architecture = (store as? any ModelMetadataProviding)?.metadata[GGUFFormat.architectureKey]?.stringValue
            return NetworkGraph.ggufTensors(from: store.tensors, architecture: architecture)
        }
        if let onnx = store.onnxGraph {
            return NetworkGraph.fromONNX(onnx, tensors: store.tensors, load: { [store] in try? store.loadFloat64($0) })
        }
        let sorted = store.format == .safetensors || store.format == .safetensorsSharded
        return NetworkGraph.inferred(from: store.tensors, fileOrderIsModelOrder: !sorted)
    }

    /// Rows for tensors no graph node reads: optimizer state (one row), audit annotations (one
    /// row), and any other weight, each in a row of its own with its spectrum as stored
    /// (`LayerAnalysis.tensorRows`), so nothing is silently skipped.
    static func unreferencedRows(store: any TensorStore, graph: NetworkGraph, analysis: LayerAnalysis) throws -> [LayerReport] {
        let used = Set(graph.nodes.flatMap { $0.tensors.map(\.name) })
        var rows: [LayerReport] = []
        let optimizer = store.tensors.filter { $0.role == .optimizerState }.map(\.name)
        if !optimizer.isEmpty {
            rows.append(LayerReport(name: "(optimizer state)", kind: "optimizer_state", tensors: optimizer, status: .skipped,
                                    reason: "optimizer slots are not part of the network"))
        }
        let audit = store.tensors.filter { $0.role == .audit }.map(\.name)
        if !audit.isEmpty {
            rows.append(LayerReport(name: "(spectral_audit annotations)", kind: "audit", tensors: audit, status: .skipped,
                                    reason: "results of an earlier audit stored in the file"))
        }
        let stray = store.tensors.filter { ($0.role == .weights || $0.role == .buffer) && !used.contains($0.name) }
        for t in stray {
            // Read it anyway: a corrupt tensor makes the file malformed, and non-finite weights
            // fail the audit wherever they are.
            if let reason = t.quantization?.unsupportedReason {
                // Listed by the reader but stored in an encoding it does not decode.
                rows.append(LayerReport(name: t.name, kind: "tensor", tensors: [t.name], status: .unsupported, reason: reason))
                continue
            }
            var r = try analysis.tensorRows(t, owner: nil, siblings: stray)
            if r[0].status == .analyzed {
                r[0].reason = graph.source == "manifest"
                    ? "not referenced by the --arch manifest: spectrum of the tensor as stored; not a factor of the network bound"
                    : "placed in no layer of the structure: spectrum of the tensor as stored; not a factor of the network bound"
            } else if t.role == .buffer {
                r[0].reason = "integer buffer"
            }
            rows += r
        }
        return rows
    }

    /// After the row of each layer the operator model does not cover (LSTM, attention, unknown
    /// layers…), one row per weight tensor it holds (and per recurrent gate).
    static func insertTensorRows(_ layers: [LayerReport], analysis: LayerAnalysis, store: any TensorStore,
                                 graph: NetworkGraph) throws -> [LayerReport] {
        var extra: [Int: [LayerReport]] = [:]
        let byName = Dictionary(store.tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for (i, node) in graph.nodes.enumerated() {
            let refs: [TensorRef]
            switch node.kind {
            case .unsupported(_, let t): refs = t
            case .parameterized(let cls, let t) where cls != "buffers": refs = t
            case .prelu(let alpha) where alpha.shape.count >= 2: refs = [alpha] // e.g. Keras α [1, 1, C]
            default: continue
            }
            guard let row = analysis.rowIndex[i] else { continue }
            let infos = refs.compactMap { byName[$0.name] }
            var rows: [LayerReport] = []
            for t in infos where t.shape.count >= 2 && t.dtype.isFloatingPoint && t.role == .weights {
                rows += try analysis.tensorRows(t, owner: node, siblings: infos)
            }
            if !rows.isEmpty { extra[row] = rows }
        }
        var out: [LayerReport] = []
        for (k, r) in layers.enumerated() {
            out.append(r)
            out += extra[k] ?? []
        }
        return out
    }
}

/// `FileDigest.sha256` on a background thread; `value()` waits for it (and rethrows its error),
/// `cancelAndWait()` ends it early and waits until the thread is done.
///
/// "Done" means joined (`pthread_join`), not merely signalled: a detached thread that has posted its
/// result still runs its exit path (closure release, OpenSSL's and the runtime's thread-local
/// destructors) for a moment, and a caller that returns in that window, e.g. an audit refused
/// early, leaves those thread-local allocations unreachable but not yet freed (LeakSanitizer saw
/// 1,056 bytes in a CI fuzz smoke of `peft-adapter`). Joining makes every allocation of the thread
/// freed before `value()`/`cancelAndWait()` return.
final class BackgroundDigest: @unchecked Sendable {
    private let path: String
    private let lock = NSLock()
    private let joinLock = NSLock()
    private var result: Result<String, Error>?
    private var cancelled = false
    private var thread: pthread_t?

    init(path: String) {
        self.path = path
        let context = Unmanaged.passRetained(self).toOpaque()
        var tid = pthread_t()
        let rc = pthread_create(&tid, nil, { raw in
            Unmanaged<BackgroundDigest>.fromOpaque(raw!).takeRetainedValue().compute()
            return nil
        }, context)
        if rc == 0 {
            thread = tid
        } else {
            // No thread to be had (EAGAIN): hash on the caller's thread instead.
            Unmanaged<BackgroundDigest>.fromOpaque(context).release()
            compute()
        }
    }

    deinit {
        // Only reachable without a join if neither value() nor cancelAndWait() was called.
        if let thread { pthread_detach(thread) }
    }

    private func compute() {
        let r = Result { try FileDigest.sha256(path: path, isCancelled: { self.isCancelled }) }
        lock.lock()
        result = r
        lock.unlock()
    }

    private var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    /// Joins the thread once; later (or concurrent) callers wait for that join.
    private func join() {
        joinLock.lock()
        defer { joinLock.unlock() }
        if let t = thread {
            pthread_join(t, nil)
            thread = nil
        }
    }

    func value() throws -> String {
        join()
        lock.lock()
        defer { lock.unlock() }
        guard let result else { throw CancellationError() }
        return try result.get()
    }

    func cancelAndWait() {
        lock.lock()
        cancelled = true
        lock.unlock()
        join()
    }
}

extension Auditor {
    /// The model's input shape (without the batch dimension) when the file states it (a Keras
    /// model config), for `inspect`; nil when it does not or the config cannot be read.
    public static func storedInputShape(store: any TensorStore, limits: ReaderLimits = ReaderLimits()) -> [Int]? {
        guard store.architectureJSON != nil,
              let graph = try? buildGraph(store: store, configuration: { var c = AuditConfiguration(); c.limits = limits; return c }())
        else { return nil }
        return graph.inputShape
    }
}
