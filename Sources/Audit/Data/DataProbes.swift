import Foundation
import SpectralModel
import WeightFiles

/// How probe arrays are matched to the model's input layout.
struct ProbeLayout {
    enum Conversion { case none, channelsFirstToLast, channelsLastToFirst }
    /// The model's native input shape (Keras `[H, W, C]`, PyTorch `[C, H, W]`, or `[d]`).
    var nativeShape: [Int]
    var conversion: Conversion
    var notes: [String]

    /// The first `n` probes in the model's native layout.
    func convert(_ x: [Double], _ n: Int) -> [Double] {
        guard conversion != .none else { return x }
        let d = nativeShape.reduce(1, *)
        var out = [Double](repeating: 0, count: n * d)
        switch conversion {
        case .none:
            break
        case .channelsFirstToLast:  // probe [C, spatial…] → native [spatial…, C]
            let c = nativeShape.last!, positions = d / c
            for s in 0..<n { for ch in 0..<c { for p in 0..<positions { out[s * d + p * c + ch] = x[s * d + ch * positions + p] } } }
        case .channelsLastToFirst:  // probe [spatial…, C] → native [C, spatial…]
            let c = nativeShape[0], positions = d / c
            for s in 0..<n { for ch in 0..<c { for p in 0..<positions { out[s * d + ch * positions + p] = x[s * d + p * c + ch] } } }
        }
        return out
    }
}

extension DataAudit {
    /// Matches the probe array's per-sample shape `ps` to the model input.
    static func resolveLayout(graph: NetworkGraph, probeShape ps: [Int]) throws -> ProbeLayout {
        let channelsFirst = graph.source != "keras_config"
        var notes: [String] = []
        let ns: [Int]
        if let s = graph.inputShape {
            ns = s
        } else {
            ns = ps
            notes.append("input shape \(ps) taken from the probe array (\(ps.count >= 2 ? (channelsFirst ? "channels-first" : "channels-last") : "flat"))")
        }
        let d = ns.reduce(1, *)
        func other(_ s: [Int]) -> [Int] {
            guard s.count >= 2 else { return s }
            return channelsFirst ? Array(s.dropFirst()) + [s[0]] : [s.last!] + Array(s.dropLast())
        }
        if ps == ns {
            if ns.count >= 2, other(ns) == ns {
                notes.append("probe shape \(ps) fits both channel orders; read as the model's own (\(channelsFirst ? "channels-first" : "channels-last"))")
            }
            return ProbeLayout(nativeShape: ns, conversion: .none, notes: notes)
        }
        if ps.count == ns.count, ns.count >= 2, other(ns) == ps {
            notes.append("probes \(ps) are \(channelsFirst ? "channels-last" : "channels-first"); converted to the model's \(ns)")
            return ProbeLayout(nativeShape: ns, conversion: channelsFirst ? .channelsLastToFirst : .channelsFirstToLast, notes: notes)
        }
        if ps.reduce(1, *) == d, ps.count == 1 || ns.count == 1 {
            if ns.count > 1 { notes.append("flat probes read as \(ns) in C order") }
            return ProbeLayout(nativeShape: ns, conversion: .none, notes: notes)
        }
        throw DataAuditError("probe inputs of shape \(ps) do not fit the model input \(ns)")
    }

    /// Labels → targets `N × C` and the loss.
    static func loadTargets(path: String, count n: Int, classes C: Int, requested: LossKind?) throws
        -> (targets: [Double], loss: LossKind, notes: [String]) {
        let store = try NPYTensorStore(path: path)
        guard let info = store.tensors.first, let first = info.shape.first, first >= n else {
            throw DataAuditError("\(path): needs at least \(n) labels")
        }
        let raw = try store.loadFloat64(info.name)
        guard raw.allSatisfy({ $0.isFinite }) else { throw DataAuditError("\(path): labels contain NaN or Inf") }
        var notes: [String] = []
        let perRow = info.shape.dropFirst().reduce(1, *)
        if perRow == 1 && (C > 1 || !info.dtype.isFloatingPoint) {
            // Class indices.
            var t = [Double](repeating: 0, count: n * C)
            for i in 0..<n {
                let v = raw[i]
                guard v == v.rounded(), v >= 0, Int(v) < C else {
                    throw DataAuditError("\(path): label \(v) of probe \(i) is not a class index in [0, \(C))")
                }
                t[i * C + Int(v)] = 1
            }
            let loss = requested ?? .crossEntropy
            notes.append("labels: class indices, \(loss == .mse ? "mse against one-hot targets" : "cross-entropy on the logits")")
            return (t, loss, notes)
        }
        guard perRow == C else { throw DataAuditError("\(path): labels of shape \(info.shape) do not fit \(C) outputs") }
        let t = Array(raw.prefix(n * C))
        let oneHot = (0..<n).allSatisfy { i in
            let row = t[(i * C)..<((i + 1) * C)]
            return row.allSatisfy { $0 == 0 || $0 == 1 } && row.reduce(0, +) == 1
        }
        let loss = requested ?? (oneHot ? .crossEntropy : .mse)
        notes.append("labels: \(oneHot ? "one-hot rows" : "real targets N × C"), loss \(loss.rawValue)\(loss == .mse ? " (ℓ = ½‖f − y‖²)" : "")")
        return (t, loss, notes)
    }
}

/// The probe file (`.npy`, `[N, input…]`, floating point): read here, once, so the phases see
/// only arrays.
struct ProbeArray {
    let path: String
    let store: NPYTensorStore
    let name: String
    /// N in the file, and how many are used (`--probe-limit`).
    let total: Int
    let count: Int
    let sampleShape: [Int]

    static func load(path: String, limit: Int?) throws -> ProbeArray {
        let store = try NPYTensorStore(path: path)
        guard let info = store.tensors.first, info.shape.count >= 2, info.shape[0] >= 1 else {
            throw DataAuditError("\(path): probe array must have shape [N, input…] with N ≥ 1")
        }
        guard info.dtype.isFloatingPoint else {
            throw DataAuditError("\(path): probe array must be floating point, not \(info.dtype.rawValue)")
        }
        let total = info.shape[0]
        return ProbeArray(path: path, store: store, name: info.name, total: total,
                          count: Swift.min(total, Swift.max(1, limit ?? total)), sampleShape: Array(info.shape.dropFirst()))
    }

    /// The first `count` probes, row-major `count × dimension`, finite.
    func values(count n: Int, dimension d: Int) throws -> [Double] {
        let raw = Array(try store.loadFloat64(name).prefix(n * d))
        guard raw.allSatisfy({ $0.isFinite }) else { throw DataAuditError("\(path): probe inputs contain NaN or Inf") }
        return raw
    }
}
