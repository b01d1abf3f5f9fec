import Foundation
import AuditReport
import LinearAlgebra
import SpectralModel
import WeightFiles

/// Errors that stop an audit before a report exists (the CLI maps them to exit codes).
public enum AuditError: Error, CustomStringConvertible {
    /// The architecture manifest or Keras config is unusable.
    case architecture(String)
    /// A check input (policy, baseline) is unusable.
    case input(String)

    public var description: String {
        switch self {
        case .architecture(let s), .input(let s): return s
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
        let bounds = NetworkBounds.compute(graph: graph, factors: analysis.factors, foldedInto: analysis.foldedInto,
                                           extraLipschitz: analysis.extraLipschitz, broken: analysis.broken)
        for (node, share) in bounds.shares {
            if let row = analysis.rowIndex[node] { layers[row].layerShare = share }
        }
        if configuration.shard?.ownsPassiveRows ?? true { layers += try unreferencedRows(store: store, graph: graph) }

        var assumptions = graph.assumptions
        if let d = bounds.report.inputDimension, graph.inputDimension == nil {
            assumptions.append("input dimension d = \(d) taken from the first layer's fan-in")
        }
        let gmsi = bounds.report.lipschitzBound
        let gmsiReason: String? = gmsi == nil
            ? (bounds.report.reason ?? (bounds.report.log10LipschitzBound != nil ? "Lipschitz bound exceeds Float64; see log10_lipschitz_bound" : nil))
            : nil
        let settings = Settings(svd: configuration.svd.description, threshold: configuration.threshold,
                                policy: configuration.policyPath, baseline: configuration.baselinePath,
                                maxIncreasePercent: configuration.maxIncreasePercent,
                                inputShape: configuration.inputShape, heavyTail: configuration.heavyTail,
                                seed: configuration.seed)
        var report = AuditReportV1(
            created: configuration.timestamps ? ISO8601DateFormatter().string(from: Date()) : nil,
            input: input, settings: settings, layers: layers, network: bounds.report,
            gmsi: gmsi, gmsiMode: "weights", gmsiComponents: ["jacobian_bound": gmsi],
            gmsiReason: gmsiReason, checks: [], verdict: .pass, assumptions: assumptions)
        if let options = configuration.data {
            do {
                let result = try DataAudit.run(store: store, graph: graph, options: options,
                                               lipschitzBound: bounds.report.lipschitzBound,
                                               progress: configuration.progress)
                report.data = result.report
                report.gmsiMode = "data"
                report.gmsiComponents = result.components
                report.gmsi = configuration.gmsiAggregate.combine(result.components.values.compactMap { $0 })
                report.gmsiReason = report.gmsi == nil ? "no data-mode component could be measured" : nil
                if configuration.gmsiAggregate != .max {
                    report.assumptions.append("gmsi aggregates the data components by \(configuration.gmsiAggregate.rawValue) (--gmsi-aggregate), not the default max")
                }
                report.assumptions += result.notes
            } catch let e as DataAuditError where e.kind == .unsupported {
                // The forward engine's limit, not the file's fault: the data GMSI is unavailable
                // with the reason (a gmsi check then fails unless --allow-unavailable).
                report.gmsiMode = "data"
                report.gmsi = nil
                report.gmsiComponents = ["g_J": nil, "g_theta": nil, "sqrt_g_K": nil, "sqrt_g_H": nil]
                report.gmsiReason = "data audit unavailable: " + e.message
                report.assumptions.append("data audit not run: " + e.message)
            }
        }
        report.checks = Checks.evaluate(report: report, configuration: configuration)
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
        let sorted = store.format == .safetensors || store.format == .safetensorsSharded
        return NetworkGraph.inferred(from: store.tensors, fileOrderIsModelOrder: !sorted)
    }

    /// Rows for tensors no graph node reads: optimizer state (one row), audit annotations (one
    /// row), and any other weight, each in a row of its own, so nothing is silently skipped.
    static func unreferencedRows(store: any TensorStore, graph: NetworkGraph) throws -> [LayerReport] {
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
        for t in store.tensors where (t.role == .weights || t.role == .buffer) && !used.contains(t.name) {
            var row = LayerReport(name: t.name, kind: "tensor", tensors: [t.name], status: .skipped,
                                  reason: t.role == .buffer ? "integer buffer" : "not referenced by the network structure")
            // Read it anyway: a corrupt tensor makes the file malformed, and non-finite weights
            // fail the audit wherever they are.
            let values = try store.loadFloat64(t.name)
            let bad = NonFinite.scan(values)?.count ?? 0
            if bad > 0 && t.role == .weights {
                row.status = .nonFinite
                row.reason = "\(bad) non-finite value\(bad == 1 ? "" : "s") in '\(t.name)'"
            }
            rows.append(row)
        }
        return rows
    }
}

/// `FileDigest.sha256` on a background thread; `value()` waits for it (and rethrows its error),
/// `cancelAndWait()` ends it early and waits until the thread is done.
final class BackgroundDigest: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var result: Result<String, Error> = .success("")
    private var finished = false
    private var cancelled = false

    init(path: String) {
        Thread.detachNewThread { [self] in
            let r = Result { try FileDigest.sha256(path: path, isCancelled: { self.isCancelled }) }
            lock.lock()
            result = r
            lock.unlock()
            done.signal()
        }
    }

    private var isCancelled: Bool {
        lock.lock()
        defer { lock.unlock() }
        return cancelled
    }

    private func waitOnce() {
        lock.lock()
        let wasFinished = finished
        lock.unlock()
        if wasFinished { return }
        done.wait()
        lock.lock()
        finished = true
        lock.unlock()
    }

    func value() throws -> String {
        waitOnce()
        lock.lock()
        defer { lock.unlock() }
        return try result.get()
    }

    func cancelAndWait() {
        lock.lock()
        cancelled = !finished
        lock.unlock()
        waitOnce()
    }
}
