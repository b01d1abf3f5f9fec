import Foundation
import LinearAlgebra
import SpectralModel

/// What every phase of the data audit shares: the compiled model, the probes (internal layout),
/// their batches and forward tapes, the logits and the execution policy (batch size and worker
/// threads, passed in through `DataAuditOptions`; no process-wide setting is touched here).
struct DataAuditContext {
    let model: ForwardModel
    let options: DataAuditOptions
    /// Probes in the model's internal layout, `n × d`.
    let x: [Double]
    let n: Int
    /// Batches `[start, end)` of fixed size `batchSize(…)` (results do not depend on `jobs`).
    let chunks: [(Int, Int)]
    let jobs: Int
    /// One forward tape per batch, kept for every later pass.
    let tapes: [ForwardTape]
    /// `n × C`.
    let logits: [Double]
    /// Predicted class per probe.
    let predicted: [Int]

    var d: Int { model.inputDimension }
    var C: Int { model.outputCount }
    var P: Int { model.parameterCount }

    init(model: ForwardModel, options: DataAuditOptions, x: [Double], n: Int) throws {
        let cs = Self.batchSize(options.chunkSize, C: model.outputCount,
                                largestValue: model.ops.map(\.size).max() ?? model.inputDimension)
        try self.init(model: model, options: options, x: x, n: n,
                      chunks: stride(from: 0, to: n, by: cs).map { ($0, Swift.min(n, $0 + cs)) })
    }

    /// Probes per batch: `chunkSize`, or fewer so that the input-Jacobian pass of a batch (C
    /// cotangent rows per probe through the widest value) stays within 2²² doubles (32 MB) — at
    /// least one probe. A wide first layer with C = 360 classes (torchcrepe) needs ~100 MB per
    /// probe, so it runs one probe per batch, and the batches spread over the worker threads.
    /// Depends on the model only, never on `jobs`, so results do not depend on the thread count.
    static func batchSize(_ chunkSize: Int, C: Int, largestValue: Int) -> Int {
        Swift.max(1, Swift.min(chunkSize, (1 << 22) / Swift.max(1, C * largestValue)))
    }

    /// The same probes in batches for the one-row passes of the NTK and Hessian products, which
    /// need no `C` rows per probe: `batchSize(chunkSize, C: 1, …)` probes per batch (≤ 32 MB per
    /// value), but at least two batches when n ≥ 2 so that both cores of `--jobs 2` share every
    /// product — sized by the model and n, never by `jobs`. One more forward pass; taller GEMMs
    /// per product. `self` when the batches are the same.
    func forOneRowPasses() throws -> DataAuditContext {
        let cs = Swift.min(Self.batchSize(options.chunkSize, C: 1, largestValue: model.ops.map(\.size).max() ?? d), Swift.max(1, (n + 1) / 2))
        let rows = stride(from: 0, to: n, by: cs).map { ($0, Swift.min(n, $0 + cs)) }
        if rows.count == chunks.count || x.isEmpty { return self }
        return try DataAuditContext(model: model, options: options, x: x, n: n, chunks: rows)
    }

    private init(model: ForwardModel, options: DataAuditOptions, x: [Double], n: Int, chunks: [(Int, Int)]) throws {
        self.model = model
        self.options = options
        self.x = x
        self.n = n
        self.chunks = chunks
        jobs = Swift.max(1, options.jobs)
        let d = model.inputDimension, C = model.outputCount
        tapes = try parallelMap(chunks.count, jobs: jobs) { k in
            let (a, b) = chunks[k]
            return model.forward(Array(x[(a * d)..<(b * d)]), count: b - a)
        }
        let logits = tapes.flatMap { $0.output }
        self.logits = logits
        predicted = (0..<n).map { i in (0..<C).max { logits[i * C + $0] < logits[i * C + $1] }! }
    }

    /// A context over forward tapes computed elsewhere (tests; no probes kept).
    init(model: ForwardModel, options: DataAuditOptions, n: Int, chunks: [(Int, Int)], tapes: [ForwardTape]) {
        self.model = model
        self.options = options
        x = []
        self.n = n
        self.chunks = chunks
        jobs = Swift.max(1, options.jobs)
        self.tapes = tapes
        logits = tapes.flatMap { $0.output }
        predicted = []
    }

    /// `body(k)` for every batch k on `jobs` threads, results in batch order.
    func perBatch<T>(_ body: (Int) throws -> T) throws -> [T] {
        try parallelMap(chunks.count, jobs: jobs, body)
    }
}

// MARK: - shared helpers

@inline(__always)
func addInPlace(_ y: inout [Double], _ x: [Double]) {
    y.withUnsafeMutableBufferPointer { yp in x.withUnsafeBufferPointer { xp in for i in 0..<xp.count { yp[i] += xp[i] } } }
}

@inline(__always)
func dot(_ a: [Double], _ b: [Double]) -> Double {
    var s = 0.0
    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in for i in 0..<ap.count { s += ap[i] * bp[i] } } }
    return s
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
