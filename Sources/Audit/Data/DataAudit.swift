import Foundation
import AuditReport
import LinearAlgebra
import ModelBuilder
import SpectralModel
import WeightFiles

/// What `DataAudit.run` returns: the report section, the data GMSI and its components.
public struct DataAuditResult: Sendable {
    public var report: DataReport
    /// `max{g_J, g_θ, sqrt(g_K), sqrt(g_H)}` over the available components (SPEC §5).
    public var gmsi: Double?
    /// Exactly the keys `g_J`, `g_theta`, `sqrt_g_K`, `sqrt_g_H` (nil when unavailable).
    public var components: [String: Double?]
    /// How the audit read the probes and labels and which methods gave which numbers (for the
    /// report's assumptions).
    public var notes: [String]
}

/// Why the data audit could not run.
public struct DataAuditError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Equatable {
        /// The probe or label data do not fit the model (exit 65 in the CLI).
        case input
        /// The network has a layer or setting the forward engine has no op for: the tool's limit,
        /// reported as an unavailable data audit with this reason (not as a malformed file).
        case unsupported
    }
    public var message: String
    public var kind: Kind
    public init(_ message: String, kind: Kind = .input) {
        self.message = message
        self.kind = kind
    }
    public var description: String { message }
}

/// The data-dependent audit of SPEC.md §5 on a probe set, in phases (each its own type):
/// input and parameter Jacobians (`JacobianPhase`), NTK and Gauss–Newton (`NTKPhase`), loss
/// Hessian (`HessianPhase`), attribution stability (`AttributionPhase`), then the data GMSI.
/// Everything in float64; nothing uses finite differences. Seeds, batch size and worker threads
/// come from `DataAuditOptions`; the library sets no process-wide state (the executable settles
/// the BLAS thread count).
public enum DataAudit {
    /// Builds the graph as the weights-only audit does and runs `run(store:graph:…)`.
    public static func run(store: any TensorStore, configuration: AuditConfiguration, options: DataAuditOptions,
                           lipschitzBound: Double?, progress: ((Int, Int, String) -> Void)? = nil) throws -> DataAuditResult {
        let graph = try Auditor.buildGraph(store: store, configuration: configuration)
        return try run(store: store, graph: graph, options: options, lipschitzBound: lipschitzBound, progress: progress)
    }

    public static func run(store: any TensorStore, graph graphIn: NetworkGraph, options: DataAuditOptions,
                           lipschitzBound: Double?, progress: ((Int, Int, String) -> Void)? = nil) throws -> DataAuditResult {
        var notes: [String] = []
        let phases = 6
        progress?(0, phases, "probes")

        // Probes and the model.
        if graphIn.outputs.isEmpty, let issue = graphIn.structureIssue {
            // A graph of unconnected per-tensor rows (GGUF until its structure is built).
            throw DataAuditError("data audit needs the network's structure: \(issue)", kind: .unsupported)
        }
        let probes = try ProbeArray.load(path: options.probePath, limit: options.probeLimit)
        // Issue 19: LSTM/GRU layers onto the engine, the probes read as [T, F] sequences.
        let graph: NetworkGraph
        do {
            let (g, recurrentNotes) = try RecurrentGraph.forData(graphIn, store: store, probeShape: probes.sampleShape,
                                                                        rnnNonlinearity: options.rnnNonlinearity)
            graph = g
            notes += recurrentNotes
        } catch let e as ForwardModelError {
            throw DataAuditError(e.message, kind: e.kind == .unsupported ? .unsupported : .input)
        }
        let layout = try resolveLayout(graph: graph, probeShape: probes.sampleShape)
        notes += layout.notes
        let model: ForwardModel
        do {
            model = try ForwardModel(graph: graph, store: store, inputShape: layout.nativeShape)
        } catch let e as ForwardModelError {
            throw DataAuditError(e.message, kind: e.kind == .unsupported ? .unsupported : .input)
        }
        notes += model.notes
        let n = probes.count, d = model.inputDimension, C = model.outputCount, P = model.parameterCount
        let raw = try probes.values(count: n, dimension: d)
        let x = model.toInternal(layout.convert(raw, n), count: n)
        if n < probes.total { notes.append("probes: the first \(n) of \(probes.total)") }

        // Labels and loss.
        var targets: [Double]? = nil
        var loss: LossKind? = options.loss
        if let lp = options.labelsPath {
            let t = try loadTargets(path: lp, count: n, classes: C, requested: options.loss)
            targets = t.targets
            loss = t.loss
            notes += t.notes
        }
        let lossKind = loss ?? .crossEntropy

        let context = try DataAuditContext(model: model, options: options, x: x, n: n)
        progress?(1, phases, "input and parameter Jacobians")
        let jac = try JacobianPhase(context: context).run()
        let gJ = jac.norm.max()!
        progress?(2, phases, "NTK and Gauss–Newton")
        let probs: [Double] = (0..<n).flatMap { softmax(Array(context.logits[($0 * C)..<(($0 + 1) * C)])) }
        let products = try context.forOneRowPasses()
        let ntk = try NTKPhase(context: products, probs: probs, loss: lossKind).run(jacobians: jac)
        notes += ntk.notes
        progress?(3, phases, "loss Hessian")
        var hessian: HessianPhase.Result? = nil
        var gHReason: String? = nil
        if let targets, !options.skipHessian {
            hessian = try HessianPhase(context: products, probs: probs, targets: targets, loss: lossKind).run()
            notes.append(hessian!.note)
        } else {
            gHReason = targets == nil ? "no labels: only the Gauss–Newton part" : "Hessian skipped (option)"
        }
        progress?(4, phases, "attribution")
        var ai: [Double] = []
        if options.attributionSamples > 0 {
            let (values, note) = try AttributionPhase(context: context, saliency: jac.saliency).run()
            ai = values
            notes.append(note)
        }
        progress?(5, phases, "report")
        let trajectory = try RecurrentTrajectory.measure(context: context, graph: graphIn, store: store)

        var report = DataReport(probeCount: n, probePath: options.probePath, labelsPath: options.labelsPath,
                                loss: targets == nil && options.loss == nil ? nil : lossKind.rawValue, seed: options.seed,
                                perSample: DataReport.PerSample(jacobianNorm: jac.norm, jacobianEntropy: jac.entropy, tau: jac.tau,
                                                                parameterGradientNorm: jac.gtheta, attributionInstability: ai))
        report.gJ = gJ
        report.gJMean = jac.norm.reduce(0, +) / Double(n)
        report.gJP95 = percentile(jac.norm, 0.95)
        report.gTheta = jac.gtheta.max()!
        report.gK = ntk.gK
        report.ntkLambdaMin = ntk.lambdaMin
        report.ntkCondition = ntk.condition
        report.gH = hessian?.gH
        report.gHReason = gHReason
        report.hessianLambdaMax = hessian?.lambdaMax
        report.hessianLambdaMin = hessian?.lambdaMin
        report.gaussNewtonLambdaMax = ntk.gaussNewtonMax
        if let L = lipschitzBound, gJ > 0 { report.boundRatio = L / gJ }
        if !trajectory.isEmpty { report.recurrentTrajectory = trajectory }
        if !ai.isEmpty {
            report.attributionInstabilityMean = ai.reduce(0, +) / Double(ai.count)
            report.attributionInstabilityMax = ai.max()
            report.attributionEpsilon = options.attributionEpsilon
        }
        let components: [String: Double?] = [
            "g_J": gJ, "g_theta": report.gTheta, "sqrt_g_K": ntk.gK.squareRoot(), "sqrt_g_H": hessian.map { $0.gH.squareRoot() },
        ]
        let gmsi = components.values.compactMap { $0 }.max()
        notes.append("parameters θ (P = \(P)): dense and conv kernels and biases, BatchNorm γ and β, PReLU α; BatchNorm moving statistics are constants")
        progress?(6, phases, "done")
        return DataAuditResult(report: report, gmsi: gmsi, components: components, notes: notes)
    }

    // MARK: - pieces (also used by the tests)

    /// Exact `H_S v`, `H_S = (1/N) Σ ∇²_θ ℓ_i`, summed over batches in batch order.
    static func hessianVectorProduct(model: ForwardModel, tapes: [ForwardTape], chunks: [(Int, Int)], v vector: [Double],
                                     gradient: [Double], probs: [Double], targets: [Double], C: Int, n: Int,
                                     loss: LossKind, jobs: Int) throws -> [Double] {
        var options = DataAuditOptions(probePath: "")
        options.jobs = jobs
        let context = DataAuditContext(model: model, options: options, n: n, chunks: chunks, tapes: tapes)
        return try HessianPhase(context: context, probs: probs, targets: targets, loss: loss).product(vector, gradient: gradient)
    }

    /// `∇_f ℓ_i` for every probe (`N × C`).
    static func lossGradients(logits: [Double], probs: [Double], targets: [Double], n: Int, C: Int, loss: LossKind) -> [Double] {
        HessianPhase.lossGradients(logits: logits, probs: probs, targets: targets, n: n, C: C, loss: loss)
    }

    /// Mean loss over the probes (for tests and reports).
    public static func meanLoss(logits: [Double], targets: [Double], n: Int, C: Int, loss: LossKind) -> Double {
        var total = 0.0
        for i in 0..<n {
            let f = Array(logits[(i * C)..<((i + 1) * C)]), y = Array(targets[(i * C)..<((i + 1) * C)])
            switch loss {
            case .mse: total += 0.5 * zip(f, y).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
            case .crossEntropy:
                let m = f.max()!
                let lse = m + Foundation.log(f.reduce(0) { $0 + Foundation.exp($1 - m) })
                total += zip(f, y).reduce(0) { $0 + $1.1 * (lse - $1.0) }
            }
        }
        return total / Double(n)
    }

    static func softmax(_ f: [Double]) -> [Double] {
        let m = f.max() ?? 0
        let e = f.map { Foundation.exp($0 - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// numpy's default (linear) percentile.
    static func percentile(_ v: [Double], _ q: Double) -> Double {
        let s = v.sorted()
        let pos = q * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = Swift.min(lo + 1, s.count - 1)
        return s[lo] + (pos - Double(lo)) * (s[hi] - s[lo])
    }
}
