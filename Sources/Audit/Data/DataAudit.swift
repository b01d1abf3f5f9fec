import Foundation
import AuditReport
import LinearAlgebra
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
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The data-dependent audit of SPEC.md §5 on a probe set: input Jacobians, parameter Jacobians,
/// NTK, loss Hessian (exact Hessian–vector products + Lanczos), Gauss–Newton part, attribution
/// stability and the data GMSI. Everything in float64; nothing uses finite differences.
public enum DataAudit {
    /// Builds the graph as the weights-only audit does and runs `run(store:graph:…)`.
    public static func run(store: any TensorStore, configuration: AuditConfiguration, options: DataAuditOptions,
                           lipschitzBound: Double?, progress: ((Int, Int, String) -> Void)? = nil) throws -> DataAuditResult {
        let graph = try Auditor.buildGraph(store: store, configuration: configuration)
        return try run(store: store, graph: graph, options: options, lipschitzBound: lipschitzBound, progress: progress)
    }

    public static func run(store: any TensorStore, graph: NetworkGraph, options: DataAuditOptions,
                           lipschitzBound: Double?, progress: ((Int, Int, String) -> Void)? = nil) throws -> DataAuditResult {
        BLASThreads.set(1)
        var notes: [String] = []
        let phases = 6
        progress?(0, phases, "probes")

        // Probes and the model.
        let probeStore = try NPYTensorStore(path: options.probePath)
        guard let pinfo = probeStore.tensors.first, pinfo.shape.count >= 2, pinfo.shape[0] >= 1 else {
            throw DataAuditError("\(options.probePath): probe array must have shape [N, input…] with N ≥ 1")
        }
        guard pinfo.dtype.isFloatingPoint else {
            throw DataAuditError("\(options.probePath): probe array must be floating point, not \(pinfo.dtype.rawValue)")
        }
        let total = pinfo.shape[0]
        let n = Swift.min(total, Swift.max(1, options.probeLimit ?? total))
        let ps = Array(pinfo.shape.dropFirst())
        if graph.outputs.isEmpty, let issue = graph.structureIssue {
            // A graph of unconnected per-tensor rows (GGUF until its structure is built).
            throw DataAuditError("data audit needs the network's structure: \(issue)")
        }
        let layout = try resolveLayout(graph: graph, probeShape: ps)
        notes += layout.notes
        let model: ForwardModel
        do {
            model = try ForwardModel(graph: graph, store: store, inputShape: layout.nativeShape)
        } catch let e as ForwardModelError {
            throw DataAuditError(e.message)
        }
        notes += model.notes
        let d = model.inputDimension, C = model.outputCount, P = model.parameterCount
        var raw = try probeStore.loadFloat64(pinfo.name)
        raw = Array(raw.prefix(n * d))
        guard raw.allSatisfy({ $0.isFinite }) else { throw DataAuditError("\(options.probePath): probe inputs contain NaN or Inf") }
        let nativeX = layout.convert(raw, n)
        let x = model.toInternal(nativeX, count: n)
        if n < total { notes.append("probes: the first \(n) of \(total)") }

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

        // Forward passes, one tape per batch (kept for every later pass).
        let cs = Swift.max(1, options.chunkSize)
        let chunks = stride(from: 0, to: n, by: cs).map { ($0, Swift.min(n, $0 + cs)) }
        let jobs = Swift.max(1, options.jobs)
        let tapes: [ForwardTape] = try parallelMap(chunks.count, jobs: jobs) { k in
            let (a, b) = chunks[k]
            return model.forward(Array(x[(a * d)..<(b * d)]), count: b - a)
        }
        let logits = tapes.flatMap { $0.output }
        let predicted = (0..<n).map { i in (0..<C).max { logits[i * C + $0] < logits[i * C + $1] }! }
        progress?(1, phases, "input and parameter Jacobians")

        // Input Jacobians (C reverse passes per sample, batched) and per-sample parameter Grams.
        let explicit = n * C * P <= options.explicitJacobianLimit
        let seedRows: [Double] = {
            var s = [Double](repeating: 0, count: cs * C * C)
            for r in 0..<(cs * C) { s[r * C + r % C] = 1 }
            return s
        }()
        struct JacChunk {
            var norm: [Double] = [], entropy: [Double] = [], tau: [Double] = [], gtheta: [Double] = []
            var saliency: [Double] = []
            var jtheta: [Double] = []
        }
        let jac: [JacChunk] = try parallelMap(chunks.count, jobs: jobs) { k in
            let tape = tapes[k], m = tape.count
            let res = model.backward(tape, seed: Array(seedRows.prefix(m * C * C)), rowsPerSample: C,
                                     request: BackwardRequest(perSampleGram: true, perRowParameterGradients: explicit))
            var out = JacChunk()
            for s in 0..<m {
                let j = Array(res.inputCotangent[(s * C * d)..<((s + 1) * C * d)])
                let sv = try SVD.singularValues(Matrix(rows: C, cols: d, storage: j)).values
                let metrics = SpectrumMetrics.compute(singularValues: sv, rows: C, cols: d)
                out.norm.append(metrics.spectralNorm)
                out.entropy.append(metrics.spectralEntropy ?? 0)
                let fro = metrics.frobenius ?? 0
                out.tau.append(metrics.spectralNorm > 0 ? fro / (Double(d).squareRoot() * metrics.spectralNorm) : 0)
                let c = predicted[chunks[k].0 + s]
                out.saliency.append(contentsOf: j[(c * d)..<((c + 1) * d)])
                let g = Array(res.perSampleGram![(s * C * C)..<((s + 1) * C * C)])
                let lam = try SVD.singularValues(Matrix(rows: C, cols: C, storage: symmetrized(g, C))).values.first ?? 0
                out.gtheta.append(lam.squareRoot())
            }
            if explicit { out.jtheta = res.perRowParameterGradients! }
            return out
        }
        let jNorm = jac.flatMap(\.norm), jEntropy = jac.flatMap(\.entropy), tau = jac.flatMap(\.tau)
        let gThetaPer = jac.flatMap(\.gtheta)
        let saliency = jac.flatMap(\.saliency)
        let gJ = jNorm.max()!
        let gJMean = jNorm.reduce(0, +) / Double(n)
        let gJP95 = percentile(jNorm, 0.95)
        let gTheta = gThetaPer.max()!
        progress?(2, phases, "NTK and Gauss–Newton")

        // Loss-Hessian factors of the logits: CE uses diag(p) − p pᵀ = R Rᵀ with R = diag(√p) − p √pᵀ.
        let probs: [Double] = (0..<n).flatMap { softmax(Array(logits[($0 * C)..<(($0 + 1) * C)])) }
        let gnFactor: (Int, [Double]) -> [Double]  // sample i, vector v (C) ↦ R_i v   (Rᵀ via transpose flag below)
        let gnFactorT: (Int, [Double]) -> [Double]
        if lossKind == .crossEntropy {
            gnFactor = { i, v in
                let p = Array(probs[(i * C)..<((i + 1) * C)])
                let sv = zip(p, v).reduce(0.0) { $0 + $1.0.squareRoot() * $1.1 }
                return (0..<C).map { p[$0].squareRoot() * v[$0] - p[$0] * sv }
            }
            gnFactorT = { i, v in
                let p = Array(probs[(i * C)..<((i + 1) * C)])
                let pv = zip(p, v).reduce(0.0) { $0 + $1.0 * $1.1 }
                return (0..<C).map { p[$0].squareRoot() * (v[$0] - pv) }
            }
            notes.append("Gauss–Newton part: H_ℓ = diag(p) − p pᵀ with p the model's softmax (the cross-entropy Hessian in the logits does not depend on the labels)")
        } else {
            gnFactor = { _, v in v }
            gnFactorT = { _, v in v }
            notes.append("Gauss–Newton part: mse, ℓ = ½‖f − y‖², H_ℓ = I (so λ_max(G) = g_K)")
        }

        var gK: Double, ntkMin: Double?, ntkCond: Double?, gnMax: Double
        let NC = n * C
        if explicit {
            let js = jac.flatMap(\.jtheta)  // NC × P, rows (sample, class)
            let sv = try SVD.singularValues(Matrix(rows: NC, cols: P, storage: js)).values
            let s1 = sv.first ?? 0
            gK = s1 * s1 / Double(n)
            if NC <= P, let last = sv.last {
                ntkMin = last * last / Double(n)
                let tol = s1 * Double(Swift.max(NC, P)) * Double.ulpOfOne
                ntkCond = last > tol ? (s1 * s1) / (last * last) : nil
            } else {
                ntkMin = 0
                ntkCond = nil
                notes.append("NTK: N·C = \(NC) > P = \(P), so K_S is singular (λ_min = 0)")
            }
            var m = [Double](repeating: 0, count: NC * P)
            for i in 0..<n {
                for c in 0..<C {
                    var e = [Double](repeating: 0, count: C)
                    e[c] = 1
                    let col = gnFactor(i, e)  // column c of R_i: row c of M_i = Σ_a R_i[a, c] J_i[a, :]
                    for a in 0..<C where col[a] != 0 {
                        let w = col[a], src = (i * C + a) * P, dst = (i * C + c) * P
                        for q in 0..<P { m[dst + q] += w * js[src + q] }
                    }
                }
            }
            let gsv = try SVD.singularValues(Matrix(rows: NC, cols: P, storage: m)).values.first ?? 0
            gnMax = gsv * gsv / Double(n)
            notes.append("NTK and Gauss–Newton spectra: dense, from the materialised N·C × P parameter Jacobian")
        } else {
            // K_S v = J_S (J_Sᵀ v): one reverse pass (parameter gradient) and one forward-mode pass per product.
            func kApply(_ v: [Double], factor: Bool) throws -> [Double] {
                let grads: [[Double]] = try parallelMap(chunks.count, jobs: jobs) { k in
                    let (a, b) = chunks[k]
                    var seed = Array(v[(a * C)..<(b * C)])
                    if factor {
                        for s in 0..<(b - a) {
                            let r = gnFactor(a + s, Array(seed[(s * C)..<((s + 1) * C)]))
                            for c in 0..<C { seed[s * C + c] = r[c] }
                        }
                    }
                    return model.backward(tapes[k], seed: seed, request: BackwardRequest(parameterGradient: true, inputCotangent: false)).parameterGradient!
                }
                var gsum = grads[0]
                for k in 1..<grads.count { addInPlace(&gsum, grads[k]) }
                let g = model.prepareTangent(gsum)
                let outs: [[Double]] = try parallelMap(chunks.count, jobs: jobs) { k in
                    let (a, b) = chunks[k]
                    var o = model.jvp(tapes[k], inputTangent: nil, parameterTangent: g).last!
                    if factor {
                        for s in 0..<(b - a) {
                            let r = gnFactorT(a + s, Array(o[(s * C)..<((s + 1) * C)]))
                            for c in 0..<C { o[s * C + c] = r[c] }
                        }
                    }
                    return o
                }
                let inv = 1 / Double(n)
                return outs.flatMap { $0 }.map { $0 * inv }
            }
            let kr = try SymmetricLanczos.extremes(dimension: NC, tolerance: options.lanczosTolerance,
                                                   maxIterations: options.lanczosMaxIterations, seed: options.seed ^ 0x4E544B,
                                                   minBudget: options.ntkLambdaMinBudget) {
                try kApply($0, factor: false)
            }
            gK = kr.lambdaMax
            if !kr.convergedMax {
                notes.append("NTK: Lanczos did not reach tolerance \(options.lanczosTolerance) for λ_max in \(kr.iterations) products; g_K is a Ritz value (a lower bound), error estimate \(kr.errorMax)")
            }
            if kr.convergedMin {
                ntkMin = Swift.max(kr.lambdaMin, 0)
                ntkCond = kr.lambdaMin > 10 * options.lanczosTolerance * kr.lambdaMax ? kr.lambdaMax / kr.lambdaMin : nil
            } else {
                ntkMin = nil
                ntkCond = nil
                notes.append("NTK: λ_min not reported: Lanczos had not resolved the bottom of the spectrum after \(kr.iterations) products (Ritz upper bound \(kr.lambdaMin), error estimate \(kr.errorMin)); raise the budget or lower N for it")
            }
            notes.append("NTK: symmetric Lanczos on K_S/N (N·C = \(NC)), \(kr.iterations) products J_S(J_Sᵀ v) (one reverse and one forward-mode pass each), full reorthogonalisation")
            let gr = try SymmetricLanczos.extremes(dimension: NC, tolerance: options.lanczosTolerance,
                                                   maxIterations: options.lanczosMaxIterations, seed: options.seed ^ 0x474E,
                                                   needMin: false) {
                try kApply($0, factor: true)
            }
            gnMax = gr.lambdaMax
            notes.append("Gauss–Newton: symmetric Lanczos on Rᵀ K_S R / N (same nonzero spectrum as G), \(gr.iterations) products\(gr.convergedMax ? "" : ", not converged: a lower bound")")
        }
        progress?(3, phases, "loss Hessian")

        // Loss Hessian by Lanczos on exact Hessian–vector products.
        var gH: Double? = nil, gHReason: String? = nil, hMax: Double? = nil, hMin: Double? = nil
        if let targets, !options.skipHessian {
            let grad = lossGradients(logits: logits, probs: probs, targets: targets, n: n, C: C, loss: lossKind)
            let maxIter = Swift.max(2, Swift.min(options.lanczosMaxIterations, options.lanczosBasisBytes / Swift.max(1, 8 * P)))
            let hr = try SymmetricLanczos.extremes(dimension: P, tolerance: options.lanczosTolerance, maxIterations: maxIter,
                                                   seed: options.seed ^ 0x48455353) { v in
                try hessianVectorProduct(model: model, tapes: tapes, chunks: chunks, v: v, gradient: grad, probs: probs,
                                         targets: targets, C: C, n: n, loss: lossKind, jobs: jobs)
            }
            hMax = hr.lambdaMax
            hMin = hr.lambdaMin
            gH = Swift.max(Swift.abs(hr.lambdaMax), Swift.abs(hr.lambdaMin))
            notes.append("loss Hessian: symmetric Lanczos on exact Hessian–vector products (Pearlmutter R-operator: forward-mode tangents, then the second-order reverse pass), P = \(P), \(hr.iterations) products, error estimates \(hr.errorMax) (λ_max), \(hr.errorMin) (λ_min)\(hr.converged ? "" : "; NOT converged within \(maxIter) products (basis memory cap): λ_max is a lower and λ_min an upper bound")")
        } else if targets == nil {
            gHReason = "no labels: only the Gauss–Newton part"
        } else {
            gHReason = "Hessian skipped (option)"
        }
        progress?(4, phases, "attribution")

        // Attribution stability.
        var ai: [Double] = []
        if options.attributionSamples > 0 {
            let S = options.attributionSamples, eps = options.attributionEpsilon
            let parts: [[Double]] = try parallelMap(chunks.count, jobs: jobs) { k in
                let (a, b) = chunks[k]
                let m = b - a
                var xs = [Double](repeating: 0, count: m * S * d)
                for s in 0..<m {
                    let i = a + s
                    let xi = Array(x[(i * d)..<((i + 1) * d)])
                    let radius = eps * SymmetricLanczos.dot(xi, xi).squareRoot()
                    var rng = SplitMix64(seed: options.seed ^ (UInt64(i) &* 0x9E37_79B9_7F4A_7C15) ^ 0xA77)
                    for t in 0..<S {
                        let dir = gaussianDirection(d, &rng)
                        let base = (s * S + t) * d
                        for e in 0..<d { xs[base + e] = xi[e] + radius * dir[e] }
                    }
                }
                let tape = model.forward(xs, count: m * S)
                var seed = [Double](repeating: 0, count: m * S * C)
                for s in 0..<m { for t in 0..<S { seed[(s * S + t) * C + predicted[a + s]] = 1 } }
                let g = model.backward(tape, seed: seed).inputCotangent
                var out = [Double](repeating: 0, count: m)
                for s in 0..<m {
                    let sal = Array(saliency[((a + s) * d)..<((a + s + 1) * d)])
                    var acc = 0.0
                    for t in 0..<S {
                        let pert = Array(g[((s * S + t) * d)..<((s * S + t + 1) * d)])
                        acc += 1 - cosine(sal, pert)
                    }
                    out[s] = acc / Double(S)
                }
                return out
            }
            ai = parts.flatMap { $0 }
            notes.append("attribution: a(x) = ∇_x f_ĉ(x) with ĉ = argmax f(x) kept for the perturbed inputs; δ uniform on the sphere of radius ε‖x‖ (\(S) draws, SplitMix64 seeded per probe from seed \(options.seed)); cos = 1 when both saliencies vanish, 0 when one does")
        }
        progress?(5, phases, "report")

        var report = DataReport(probeCount: n, probePath: options.probePath, labelsPath: options.labelsPath,
                                loss: targets == nil && options.loss == nil ? nil : lossKind.rawValue, seed: options.seed,
                                perSample: DataReport.PerSample(jacobianNorm: jNorm, jacobianEntropy: jEntropy, tau: tau,
                                                                parameterGradientNorm: gThetaPer, attributionInstability: ai))
        report.gJ = gJ
        report.gJMean = gJMean
        report.gJP95 = gJP95
        report.gTheta = gTheta
        report.gK = gK
        report.ntkLambdaMin = ntkMin
        report.ntkCondition = ntkCond
        report.gH = gH
        report.gHReason = gHReason
        report.hessianLambdaMax = hMax
        report.hessianLambdaMin = hMin
        report.gaussNewtonLambdaMax = gnMax
        if let L = lipschitzBound, gJ > 0 { report.boundRatio = L / gJ }
        if !ai.isEmpty {
            report.attributionInstabilityMean = ai.reduce(0, +) / Double(ai.count)
            report.attributionInstabilityMax = ai.max()
            report.attributionEpsilon = options.attributionEpsilon
        }
        let components: [String: Double?] = [
            "g_J": gJ, "g_theta": gTheta, "sqrt_g_K": gK.squareRoot(), "sqrt_g_H": gH.map { $0.squareRoot() },
        ]
        let gmsi = components.values.compactMap { $0 }.max()
        notes.append("parameters θ (P = \(P)): dense and conv kernels and biases, BatchNorm γ and β, PReLU α; BatchNorm moving statistics are constants")
        progress?(6, phases, "done")
        return DataAuditResult(report: report, gmsi: gmsi, components: components, notes: notes)
    }

    // MARK: - pieces

    /// Exact `H_S v`, `H_S = (1/N) Σ ∇²_θ ℓ_i`, summed over batches in batch order.
    static func hessianVectorProduct(model: ForwardModel, tapes: [ForwardTape], chunks: [(Int, Int)], v vector: [Double],
                                     gradient: [Double], probs: [Double], targets: [Double], C: Int, n: Int,
                                     loss: LossKind, jobs: Int) throws -> [Double] {
        let inv = 1 / Double(n)
        let v = model.prepareTangent(vector)
        let parts: [[Double]] = try parallelMap(chunks.count, jobs: jobs) { k in
            let (a, b) = chunks[k]
            let tan = model.jvp(tapes[k], inputTangent: nil, parameterTangent: v)
            let fdot = tan.last!
            var gy = [Double](repeating: 0, count: (b - a) * C), rgy = gy
            for s in 0..<(b - a) {
                let i = a + s
                for c in 0..<C { gy[s * C + c] = gradient[i * C + c] * inv }
                switch loss {
                case .mse:
                    for c in 0..<C { rgy[s * C + c] = fdot[s * C + c] * inv }
                case .crossEntropy:
                    var mass = 0.0, pf = 0.0
                    for c in 0..<C { mass += targets[i * C + c]; pf += probs[i * C + c] * fdot[s * C + c] }
                    for c in 0..<C { rgy[s * C + c] = mass * probs[i * C + c] * (fdot[s * C + c] - pf) * inv }
                }
            }
            return model.secondOrderBackward(tapes[k], tangents: tan, parameterTangent: v, seed: gy, seedTangent: rgy)
        }
        var out = parts[0]
        for k in 1..<parts.count { addInPlace(&out, parts[k]) }
        return out
    }

    /// `∇_f ℓ_i` for every probe (`N × C`).
    static func lossGradients(logits: [Double], probs: [Double], targets: [Double], n: Int, C: Int, loss: LossKind) -> [Double] {
        var g = [Double](repeating: 0, count: n * C)
        for i in 0..<n {
            switch loss {
            case .mse:
                for c in 0..<C { g[i * C + c] = logits[i * C + c] - targets[i * C + c] }
            case .crossEntropy:
                var mass = 0.0
                for c in 0..<C { mass += targets[i * C + c] }
                for c in 0..<C { g[i * C + c] = mass * probs[i * C + c] - targets[i * C + c] }
            }
        }
        return g
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

    static func symmetrized(_ g: [Double], _ k: Int) -> [Double] {
        var out = g
        for a in 0..<k { for b in 0..<k { out[a * k + b] = 0.5 * (g[a * k + b] + g[b * k + a]) } }
        return out
    }

    /// numpy's default (linear) percentile.
    static func percentile(_ v: [Double], _ q: Double) -> Double {
        let s = v.sorted()
        let pos = q * Double(s.count - 1)
        let lo = Int(pos.rounded(.down)), hi = Swift.min(lo + 1, s.count - 1)
        return s[lo] + (pos - Double(lo)) * (s[hi] - s[lo])
    }

    static func cosine(_ a: [Double], _ b: [Double]) -> Double {
        let na = SymmetricLanczos.dot(a, a).squareRoot(), nb = SymmetricLanczos.dot(b, b).squareRoot()
        if na == 0 && nb == 0 { return 1 }
        if na == 0 || nb == 0 { return 0 }
        return Swift.max(-1, Swift.min(1, SymmetricLanczos.dot(a, b) / (na * nb)))
    }

    /// A unit vector uniform on the sphere (normalised Gaussian, Box–Muller).
    static func gaussianDirection(_ d: Int, _ rng: inout SplitMix64) -> [Double] {
        var v = [Double](repeating: 0, count: d)
        var i = 0
        while i < d {
            let u1 = (Double(rng.next() >> 11) + 1) * 0x1.0p-53  // (0, 1]
            let u2 = Double(rng.next() >> 11) * 0x1.0p-53
            let r = (-2 * Foundation.log(u1)).squareRoot()
            v[i] = r * Foundation.cos(2 * Double.pi * u2)
            if i + 1 < d { v[i + 1] = r * Foundation.sin(2 * Double.pi * u2) }
            i += 2
        }
        let nrm = SymmetricLanczos.dot(v, v).squareRoot()
        return nrm > 0 ? v.map { $0 / nrm } : v
    }
}

@inline(__always)
func addInPlace(_ y: inout [Double], _ x: [Double]) {
    y.withUnsafeMutableBufferPointer { yp in x.withUnsafeBufferPointer { xp in for i in 0..<xp.count { yp[i] += xp[i] } } }
}

/// `body(0) … body(count − 1)` on `jobs` threads; results in index order (so reductions over
/// them are deterministic whatever the thread count).
func parallelMap<T>(_ count: Int, jobs: Int, _ body: (Int) throws -> T) throws -> [T] {
    if count == 0 { return [] }
    if jobs <= 1 || count == 1 { return try (0..<count).map(body) }
    var results = [Result<T, Error>?](repeating: nil, count: count)
    let workers = Swift.min(jobs, count)
    withoutActuallyEscaping(body) { body in
        let call = UnsafeSendable(body)
        results.withUnsafeMutableBufferPointer { rp in
            let slots = UnsafeSendable(rp)
            DispatchQueue.concurrentPerform(iterations: workers) { w in
                for i in stride(from: w, to: count, by: workers) {
                    slots.value[i] = Result { try call.value(i) }
                }
            }
        }
    }
    return try results.map { try $0!.get() }
}

struct UnsafeSendable<T>: @unchecked Sendable {
    let value: T
    init(_ v: T) { value = v }
}
