import Foundation
import AuditReport
import LinearAlgebra
import SpectralModel
import WeightFiles

/// Per-layer analysis of a graph: one `LayerReport` per node (except inputs), operators analysed
/// concurrently by `configuration.jobs` workers, each loading only the tensors of the layer it
/// works on. Results are stored by node index, so the report is identical whatever `jobs` is.
final class LayerAnalysis: @unchecked Sendable {
    let store: any TensorStore
    let graph: NetworkGraph
    let configuration: AuditConfiguration

    /// Outputs, filled by `run()`.
    private(set) var factors: [Int: OperatorFactor] = [:]
    /// BatchNorm node → operator node it was folded into.
    private(set) var foldedInto: [Int: Int] = [:]
    /// BatchNorm (unfolded: max|s|) and PReLU (max(1, max|α|)) factors.
    private(set) var extraLipschitz: [Int: Double] = [:]
    /// Node → why it breaks the network bound (non-finite weights, failed analysis).
    private(set) var broken: [Int: String] = [:]
    /// Node → row in the returned array.
    private(set) var rowIndex: [Int: Int] = [:]
    /// Node → a read error that makes the whole file malformed.
    private var fatal: [Int: WeightFileError] = [:]

    private let lock = NSLock()
    /// Input spatial size of each node, when the network input size is known.
    private let spatial: [Int: [Int]]
    /// Large safetensors tensors for `--svd gram|fast` (Sources/Audit/Fast): read with `pread`,
    /// Gram accumulated over row chunks. nil: every tensor through the store.
    let streaming: StreamedSpectrum?
    /// `merge`: rows and bound inputs of the partial reports, used instead of analysing.
    private let replay: ShardReplay?
    /// Set by `run()` before its jobs start: the layer list, and idle jobs' cores lent to the
    /// tiles of large Grams still running (issue 20: the last or only big layer).
    private(set) var sharing: CoreSharing?

    /// `allowStreaming: false` reads every tensor through `store` (the repair's overlay store
    /// serves modified tensors that the file itself does not hold).
    init(store: any TensorStore, graph: NetworkGraph, configuration: AuditConfiguration, replay: ShardReplay? = nil,
         allowStreaming: Bool = true) {
        self.store = store
        self.graph = graph
        self.configuration = configuration
        self.spatial = graph.spatialSizes(inputSpatial: configuration.inputShape ?? graph.inputSpatial)
        self.replay = replay
        switch configuration.svd {
        case .gram, .fast:
            // Only worth a second look at the file when some tensor is large enough to stream.
            let large = store.tensors.contains { $0.elementCount >= StreamedSpectrum.minimumElements }
            streaming = replay == nil && large && allowStreaming ? RawTensorSource(store: store).map(StreamedSpectrum.init) : nil
        default: streaming = nil
        }
    }

    /// `--shard`: the bound inputs this partial audit computed (for `ReportMerge`).
    var boundInputs: [ShardBoundInput] {
        let nodes = Set(factors.keys).union(extraLipschitz.keys).union(broken.keys).sorted()
        return nodes.map { i in
            ShardBoundInput(node: i, layer: graph.nodes[i].name, sigma: factors[i]?.sigma,
                            effectiveRank: factors[i]?.effectiveRank, stableRank: factors[i]?.stableRank,
                            extraLipschitz: extraLipschitz[i], broken: broken[i])
        }
    }

    /// BatchNorm nodes that directly follow an operator with no activation in between and are
    /// that operator's only consumer: folded into it (SPEC §1).
    private func foldingPlan() -> [Int: Int] {
        var consumers = [Int](repeating: 0, count: graph.nodes.count)
        for n in graph.nodes { for i in n.inputs { consumers[i] += 1 } }
        var plan: [Int: Int] = [:] // operator → bn
        for (i, n) in graph.nodes.enumerated() {
            guard case .batchNorm = n.kind, n.inputs.count == 1 else { continue }
            let op = n.inputs[0]
            let opNode = graph.nodes[op]
            guard consumers[op] == 1, opNode.activation == nil || opNode.activation == .linear else { continue }
            switch opNode.kind {
            case .dense, .conv: plan[op] = i
            default: continue
            }
        }
        return plan
    }

    /// Throws the first (in node order, so deterministically) error that shows the file is
    /// malformed; other analysis failures become the row's status.
    func run() throws -> [LayerReport] {
        let plan = foldingPlan()
        for (op, bn) in plan { foldedInto[bn] = op }
        var rows: [LayerReport?] = Array(repeating: nil, count: graph.nodes.count)
        var work: [Int] = []
        for (i, node) in graph.nodes.enumerated() {
            switch node.kind {
            case .input:
                continue
            case .dense, .conv, .embedding:
                work.append(i)
            case .batchNorm:
                if let op = foldedInto[i] {
                    var r = LayerReport(name: node.name, kind: node.kind.reportKind, tensors: node.tensors.map(\.name),
                                        status: .skipped, reason: "folded into '\(graph.nodes[op].name)' as diag(s)·A")
                    r.activation = node.activation?.name
                    rows[i] = r
                } else {
                    work.append(i)
                }
            case .prelu:
                work.append(i)
            case .unsupported, .parameterized:
                // No spectra, but the tensors are still read: corrupt data is a malformed file
                // and non-finite weights fail the audit wherever they sit.
                if node.tensors.isEmpty { rows[i] = passiveRow(node) } else { work.append(i) }
            default:
                rows[i] = passiveRow(node)
            }
        }
        // --shard: only this shard's operator layers; rows without analysis in shard 1 only.
        if let shard = configuration.shard {
            let owned = shard.owned(work.map { graph.nodes[$0].name })
            work = work.filter { owned.contains(graph.nodes[$0].name) }
            if !shard.ownsPassiveRows { rows = rows.map { _ in nil } }
        }
        if let replay {
            for (i, input) in replay.bounds {
                if let sigma = input.sigma {
                    factors[i] = OperatorFactor(sigma: sigma, effectiveRank: input.effectiveRank, stableRank: input.stableRank)
                }
                if let x = input.extraLipschitz { extraLipschitz[i] = x }
                if let b = input.broken { broken[i] = b }
            }
        }
        let total = work.count
        // Longest first (LPT): the biggest layers start at once and the small ones fill the gaps,
        // so no core idles on one large layer at the end. Rows are stored by node index, so the
        // report does not depend on this order.
        let todo = work.map { (node: $0, cost: Self.estimatedCost(graph.nodes[$0])) }
            .enumerated()
            .sorted { a, b in a.element.cost != b.element.cost ? a.element.cost > b.element.cost : a.offset < b.offset }
            .map(\.element.node)
        let results = ResultSlots(count: graph.nodes.count)
        let finished = AtomicCounter()
        // A job that finds no layer left helps with the tiles of the large Grams still running;
        // cores beyond the number of layers are lent to them as threads (a lone 2048² layer).
        let sharing = CoreSharing(items: todo.count, jobs: max(1, configuration.jobs))
        self.sharing = sharing
        DispatchQueue.concurrentPerform(iterations: CoreSharing.jobsRunning(max(1, configuration.jobs), items: todo.count)) { _ in
            sharing.work { k in
                let i = todo[k]
                results.set(i, replay.map { replayed(node: i, $0) } ?? analyse(node: i, foldBatchNorm: plan[i]))
                configuration.progress?(finished.increment() + 1, total, graph.nodes[i].name)
            }
        }
        for (i, r) in results.values.enumerated() where r != nil { rows[i] = r }
        if let first = fatal.keys.min(), let e = fatal[first] { throw e }
        var out: [LayerReport] = []
        for (i, r) in rows.enumerated() {
            guard let r else { continue }
            rowIndex[i] = out.count
            out.append(r)
        }
        return out
    }

    /// A node's relative analysis cost, for scheduling only: `elements × min(rows, cols)` of each
    /// tensor viewed as a matrix (first dimension × the rest), i.e. the order of a Gram product.
    static func estimatedCost(_ node: Node) -> Double {
        node.tensors.reduce(0.0) { sum, t in
            guard let first = t.shape.first else { return sum }
            let rest = t.shape.dropFirst().reduce(1, *)
            let n = Double(first) * Double(rest)
            return sum + n * Double(Swift.min(first, Swift.max(rest, 1)))
        }
    }

    private func passiveRow(_ node: Node) -> LayerReport {
        var r = LayerReport(name: node.name, kind: node.kind.reportKind, tensors: node.tensors.map(\.name), status: .skipped)
        switch node.kind {
        case .activation(let a):
            r.reason = "activation without weights"
            r.activation = a.name
            r.activationLipschitz = a.lipschitz
        case .pooling:
            r.reason = "pooling without weights (Lipschitz constant in network.chain)"
        case .passThrough(let s):
            r.reason = "\(s): Lipschitz constant 1"
        case .add:
            r.reason = "merge: branch bounds add"
        case .concatenate:
            r.reason = "merge: branch bounds combine in quadrature"
        case .parameterized(let cls, _):
            r.reason = UnsupportedReasons.reason(layer: node.name, className: cls, source: graph.source)
        case .unsupported(let cls, _):
            r.status = .unsupported
            r.reason = UnsupportedReasons.reason(layer: node.name, className: cls, source: graph.source)
        default:
            break
        }
        return r
    }

    private func record(_ body: () -> Void) {
        lock.lock()
        body()
        lock.unlock()
    }

    /// Analyses one weighted node; never throws: failures become the row's status and reason.
    private func analyse(node i: Int, foldBatchNorm bn: Int?) -> LayerReport {
        let node = graph.nodes[i]
        var row = LayerReport(name: node.name, kind: node.kind.reportKind, tensors: node.tensors.map(\.name), status: .analyzed)
        if let a = node.activation {
            row.activation = a.name
            row.activationLipschitz = a.lipschitz
        }
        do {
            switch node.kind {
            case .dense(let kernel, let bias):
                if let bias, let bad = NonFinite.scan(try store.loadFloat64(bias.name)) { return nonFiniteRow(row, i, bias.name, bad) }
                if bn == nil, let m = try streamed(kernel, orientation: kernel.orientation == .inOut ? "in_out→transpose" : "out_in",
                                                   node: i, row: &row) {
                    guard let (metrics, certificate) = m else { return row }
                    record { factors[i] = OperatorFactor(sigma: metrics.spectralNorm + (certificate ?? 0),
                                                         effectiveRank: metrics.effectiveRank, stableRank: metrics.stableRank) }
                    break
                }
                let data = try store.loadFloat64(kernel.name)
                if let bad = NonFinite.scan(data) { return nonFiniteRow(row, i, kernel.name, bad) }
                let a = try OperatorBuilder.dense(data: data, ref: kernel)
                row.orientation = kernel.orientation == .inOut ? "in_out→transpose" : "out_in"
                // `metrics`: the tensor as stored (SPEC §7); a folded BatchNorm adds its own view.
                var (metrics, certificate) = try spectrumWithCertificate(blocks: [a], rows: a.rows, cols: a.cols, row: &row)
                if let bn {
                    guard let s = try batchNormScale(bn, row: &row) else { return row }
                    let folded = try BatchNormFold.fold(a, scale: s)
                    row.foldedBatchNorm = graph.nodes[bn].name
                    row.tensors += graph.nodes[bn].tensors.map(\.name)
                    var view = LayerReport(name: node.name, kind: row.kind, tensors: [], status: .analyzed)
                    (metrics, certificate) = try spectrumWithCertificate(blocks: [folded], rows: folded.rows, cols: folded.cols, row: &view)
                    row.folded = Self.foldedView(view, batchNorm: graph.nodes[bn].name)
                }
                // Krylov σ_1 is a lower estimate: the product uses σ_1 + residual bound.
                let upper = metrics.spectralNorm + (certificate ?? 0)
                record { factors[i] = OperatorFactor(sigma: upper, effectiveRank: metrics.effectiveRank,
                                                     stableRank: metrics.stableRank) }
            case .conv(let spec):
                let data = try store.loadFloat64(spec.kernel.name)
                if let bad = NonFinite.scan(data) { return nonFiniteRow(row, i, spec.kernel.name, bad) }
                if let bias = spec.bias, let bad = NonFinite.scan(try store.loadFloat64(bias.name)) {
                    return nonFiniteRow(row, i, bias.name, bad)
                }
                let kernel = try OperatorBuilder.conv(data: data, spec: spec)
                row.orientation = spec.kernel.orientation.rawValue
                row.groups = kernel.groups
                // The reshaped view is block-diagonal over groups: its spectrum is the union.
                _ = try spectrum(blocks: kernel.reshapedMatrices(), rows: kernel.outChannels,
                                 cols: kernel.inChannels * kernel.tapCount, row: &row)
                var op = try OperatorBuilder.convOperatorNorm(kernel, spec: spec, spatial: spatial[i],
                                                              includeSpectrum: configuration.includeSpectra)
                row.operatorNorm = op.norm
                row.operatorNormMethod = op.method
                row.operatorSingularValues = op.spectrum
                if let bn {
                    // The stored kernel above; the folded operator diag(s)·K in its own view,
                    // whose operator norm is the product's factor (SPEC §7).
                    guard let s = try batchNormScale(bn, row: &row) else { return row }
                    let folded = try BatchNormFold.fold(kernel, scale: s)
                    row.foldedBatchNorm = graph.nodes[bn].name
                    row.tensors += graph.nodes[bn].tensors.map(\.name)
                    var view = LayerReport(name: node.name, kind: row.kind, tensors: [], status: .analyzed)
                    _ = try spectrum(blocks: folded.reshapedMatrices(), rows: folded.outChannels,
                                     cols: folded.inChannels * folded.tapCount, row: &view)
                    op = try OperatorBuilder.convOperatorNorm(folded, spec: spec, spatial: spatial[i],
                                                              includeSpectrum: configuration.includeSpectra)
                    view.operatorNorm = op.norm
                    view.operatorNormMethod = op.method
                    view.operatorSingularValues = op.spectrum
                    row.folded = Self.foldedView(view, batchNorm: graph.nodes[bn].name)
                }
                record { factors[i] = OperatorFactor(sigma: op.norm, effectiveRank: nil, stableRank: nil) }
            case .embedding(let table):
                // The table [vocab, dim] maps one-hot tokens to vectors: A = tableᵀ (dim × vocab);
                // every graph builder gives it the `in_out` rule.
                if try streamed(table, orientation: "embedding→transpose", node: i, row: &row) != nil { break }
                let data = try store.loadFloat64(table.name)
                if let bad = NonFinite.scan(data) { return nonFiniteRow(row, i, table.name, bad) }
                let a = try OperatorBuilder.dense(data: data, ref: table)
                row.orientation = "embedding→transpose"
                _ = try spectrum(blocks: [a], rows: a.rows, cols: a.cols, row: &row)
            case .batchNorm:
                guard let s = try batchNormScale(i, row: &row) else { return row }
                // diag(s): singular values are |s_i|.
                let values = s.map { abs($0) }.sorted(by: >)
                row.shape = [s.count, s.count]
                row.method = AnalysisMethod.diagonal.rawValue
                let m = SpectrumMetrics.compute(singularValues: values, rows: s.count, cols: s.count)
                row.metrics = m
                if configuration.includeSpectra { row.singularValues = values }
                record { extraLipschitz[i] = values.first ?? 0 }
            case .prelu(let alpha):
                let a = try store.loadFloat64(alpha.name)
                if let bad = NonFinite.scan(a) { return nonFiniteRow(row, i, alpha.name, bad) }
                let lip = max(1, a.map { abs($0) }.max() ?? 0)
                row.status = .skipped
                row.reason = "PReLU: Lip = max(1, max|α|)"
                row.activationLipschitz = lip
                record { extraLipschitz[i] = lip }
            case .unsupported, .parameterized:
                var passive = passiveRow(node)
                for t in node.tensors {
                    if let bad = NonFinite.scan(try store.loadFloat64(t.name)) {
                        passive = nonFiniteRow(passive, i, t.name, bad)
                        break
                    }
                }
                return passive
            default:
                return passiveRow(node)
            }
        } catch let e as WeightFileError
                    where e.kind == .unsupported && node.tensors.contains(where: { (try? store.info($0.name))?.quantization?.unsupportedReason != nil }) {
            // A tensor the reader lists but stores in an encoding it does not decode (e.g. a
            // GGUF IQ* quantization): this row only, with the reader's reason.
            row.status = .unsupported
            row.reason = e.detail ?? e.description
            record { broken[i] = "layer '\(node.name)' could not be read: \(e.detail ?? e.description)" }
        } catch let e as WeightFileError {
            // The file itself is bad (truncated data, over a limit): the audit stops with exit 65.
            record { fatal[i] = e }
            row.status = .unsupported
            row.reason = e.description
        } catch {
            row.status = .unsupported
            row.reason = "\(error)"
            record { broken[i] = "layer '\(node.name)' could not be analysed: \(error)" }
        }
        return row
    }

    /// The folded view of an operator from the scratch row its spectrum was written into.
    static func foldedView(_ r: LayerReport, batchNorm: String) -> FoldedViewV1 {
        var v = FoldedViewV1(batchNorm: batchNorm)
        v.shape = r.shape
        v.method = r.method
        v.methodTolerance = r.methodTolerance
        v.metrics = r.metrics
        v.singularValues = r.singularValues
        v.operatorNorm = r.operatorNorm
        v.operatorNormMethod = r.operatorNormMethod
        v.operatorSingularValues = r.operatorSingularValues
        return v
    }

    /// `s_i = γ_i / sqrt(var_i + ε)` of a BatchNorm node; nil (and the row marked) if non-finite.
    private func batchNormScale(_ bn: Int, row: inout LayerReport) throws -> [Double]? {
        guard case .batchNorm(let spec) = graph.nodes[bn].kind else { return nil }
        let variance = try store.loadFloat64(spec.variance.name)
        let mean = try store.loadFloat64(spec.mean.name)
        let ones = [Double](repeating: 1, count: variance.count)
        let gamma = try spec.gamma.map { try store.loadFloat64($0.name) } ?? ones
        let beta = try spec.beta.map { try store.loadFloat64($0.name) } ?? ones.map { _ in 0 }
        for (name, v) in [(spec.variance.name, variance), (spec.mean.name, mean), (spec.gamma?.name ?? "", gamma),
                          (spec.beta?.name ?? "", beta)] {
            if let bad = NonFinite.scan(v) {
                row = nonFiniteRow(row, bn, name, bad)
                return nil
            }
        }
        return try BatchNormFold.scale(gamma: gamma, beta: beta, mean: mean, variance: variance, epsilon: spec.epsilon)
    }

    /// `merge`: the row a partial report holds for node `i`.
    private func replayed(node i: Int, _ replay: ShardReplay) -> LayerReport {
        var row = replay.rows[i] ?? LayerReport(name: graph.nodes[i].name, kind: graph.nodes[i].kind.reportKind, tensors: [],
                                                 status: .unsupported, reason: "missing from the partial reports")
        row.layerShare = nil
        return row
    }

    func nonFiniteRow(_ row: LayerReport, _ i: Int, _ tensor: String, _ bad: (count: Int, first: Int)) -> LayerReport {
        var r = row
        r.status = .nonFinite
        r.reason = "\(bad.count) non-finite value\(bad.count == 1 ? "" : "s") in '\(tensor)' (first at flat index \(bad.first))"
        record { broken[i] = "layer '\(graph.nodes[i].name)' has non-finite weights" }
        return r
    }
}

/// Per-node result slots written by concurrent workers.
final class ResultSlots: @unchecked Sendable {
    private var slots: [LayerReport?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ i: Int, _ r: LayerReport) {
        lock.lock()
        slots[i] = r
        lock.unlock()
    }

    var values: [LayerReport?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}

/// A shared counter for work distribution.
final class AtomicCounter: @unchecked Sendable {
    private var value = 0
    private let lock = NSLock()
    /// Returns the value before incrementing.
    func increment() -> Int {
        lock.lock()
        defer { lock.unlock() }
        value += 1
        return value - 1
    }
}
