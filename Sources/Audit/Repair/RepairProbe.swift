import Foundation
import AuditReport
import ModelBuilder
import SpectralModel
import WeightFiles

/// What a repair cost and bought on probe inputs, through the forward/backward machinery's public
/// entry points (`ForwardModel`): logits before and after, their relative change, top-1 agreement,
/// accuracy with labels, and the attribution instability `AI(x; ε)` of SPEC §5 (saliency
/// `a(x) = ∇_x f_ĉ(x)`, ĉ = argmax f(x) kept for the perturbed inputs, δ uniform on the sphere of
/// radius `ε‖x‖`, SplitMix64 seeded per probe, `1 − cos`; cos = 1 when both saliencies vanish).
public enum RepairProbe {
    public static func measure(graph: NetworkGraph, before: any TensorStore, replacements: [String: [Double]],
                               probePath: String, labelsPath: String?, epsilon: Double = 0.01, samples: Int = 8,
                               seed: UInt64 = 0) throws -> RepairReportV1.Probe {
        let probes = try NPYTensorStore(path: probePath)
        guard let p = probes.tensors.first, p.shape.count >= 2, p.dtype.isFloatingPoint else {
            throw DataAuditError("\(probePath): probe array must be floating point with shape [N, input…]")
        }
        let n = p.shape[0]
        let shape = Array(p.shape.dropFirst())
        let x = try probes.loadFloat64(p.name)
        guard x.allSatisfy({ $0.isFinite }) else { throw DataAuditError("\(probePath): probe inputs contain NaN or Inf") }
        let m0: ForwardModel, m1: ForwardModel
        do {
            m0 = try ForwardModel(graph: graph, store: before, inputShape: shape)
            m1 = try ForwardModel(graph: graph, store: OverlayTensorStore(base: before, replaced: replacements), inputShape: shape)
        } catch let e as ForwardModelError {
            throw DataAuditError(e.message)
        }
        guard m0.inputDimension * n == x.count else {
            throw DataAuditError("\(probePath): probe shape \(p.shape) does not fit the model's input (\(m0.inputDimension) values)")
        }
        let C = m0.outputCount
        let l0 = m0.logits(native: x, count: n), l1 = m1.logits(native: x, count: n)
        var maxChange = 0.0, sumChange = 0.0, agree = 0
        var top0 = [Int](repeating: 0, count: n), top1 = [Int](repeating: 0, count: n)
        for s in 0..<n {
            let a = l0[(s * C)..<((s + 1) * C)], b = l1[(s * C)..<((s + 1) * C)]
            var d = 0.0, nn = 0.0
            for (u, v) in zip(a, b) { d += (u - v) * (u - v); nn += u * u }
            let rel = nn > 0 ? (d / nn).squareRoot() : d.squareRoot()
            maxChange = Swift.max(maxChange, rel)
            sumChange += rel
            top0[s] = argmax(a)
            top1[s] = argmax(b)
            if top0[s] == top1[s] { agree += 1 }
        }
        var accBefore: Double?, accAfter: Double?
        if let labelsPath {
            let ls = try NPYTensorStore(path: labelsPath)
            guard let li = ls.tensors.first else { throw DataAuditError("\(labelsPath): no labels") }
            let lv = try ls.loadFloat64(li.name)
            let labels: [Int]
            if li.shape == [n] {
                labels = lv.map { Int($0) }
            } else if li.shape == [n, C] {
                labels = (0..<n).map { argmax(lv[($0 * C)..<(($0 + 1) * C)]) }
            } else {
                throw DataAuditError("\(labelsPath): labels must have shape [\(n)] (class ids) or [\(n), \(C)], found \(li.shape)")
            }
            accBefore = Double(zip(top0, labels).filter { $0 == $1 }.count) / Double(n)
            accAfter = Double(zip(top1, labels).filter { $0 == $1 }.count) / Double(n)
        }
        let ai0 = attributionInstability(m0, x: x, n: n, classes: top0, epsilon: epsilon, samples: samples, seed: seed)
        let ai1 = attributionInstability(m1, x: x, n: n, classes: top1, epsilon: epsilon, samples: samples, seed: seed)
        return RepairReportV1.Probe(path: probePath, labelsPath: labelsPath, count: n, outputChangeMax: maxChange,
                                    outputChangeMean: sumChange / Double(n), top1Agreement: Double(agree) / Double(n),
                                    accuracyBefore: accBefore, accuracyAfter: accAfter,
                                    attributionInstabilityBefore: ai0, attributionInstabilityAfter: ai1,
                                    attributionEpsilon: epsilon, attributionSamples: samples, seed: seed)
    }

    static func argmax<C: Collection>(_ v: C) -> Int where C.Element == Double {
        var best = 0, value = -Double.infinity
        for (k, x) in v.enumerated() where x > value { best = k; value = x }
        return best
    }

    /// Saliencies `∇_x f_c(x)` of a batch (internal layout; cosines do not depend on it).
    static func saliency(_ m: ForwardModel, internalX: [Double], n: Int, classes: [Int]) -> [Double] {
        let tape = m.forward(internalX, count: n)
        var seed = [Double](repeating: 0, count: n * m.outputCount)
        for s in 0..<n { seed[s * m.outputCount + classes[s]] = 1 }
        return m.backward(tape, seed: seed).inputCotangent
    }

    /// Mean over probes of `AI(x; ε)`.
    static func attributionInstability(_ m: ForwardModel, x: [Double], n: Int, classes: [Int], epsilon: Double,
                                       samples: Int, seed: UInt64) -> Double {
        guard samples > 0, n > 0 else { return 0 }
        let d = m.inputDimension
        let xi = m.toInternal(x, count: n)
        let a0 = saliency(m, internalX: xi, n: n, classes: classes)
        var total = [Double](repeating: 0, count: n)
        var generators = (0..<n).map { SplitMix(seed: seed &+ UInt64($0) &* 0x9E37_79B9_7F4A_7C15) }
        for _ in 0..<samples {
            var xp = xi
            for s in 0..<n {
                var dir = (0..<d).map { _ in generators[s].gaussian() }
                let dn = dir.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let xn = xi[(s * d)..<((s + 1) * d)].reduce(0) { $0 + $1 * $1 }.squareRoot()
                let r = epsilon * xn / Swift.max(dn, .leastNormalMagnitude)
                for k in 0..<d { dir[k] *= r; xp[s * d + k] += dir[k] }
            }
            let a1 = saliency(m, internalX: xp, n: n, classes: classes)
            for s in 0..<n {
                var dot = 0.0, n0 = 0.0, n1 = 0.0
                for k in (s * d)..<((s + 1) * d) { dot += a0[k] * a1[k]; n0 += a0[k] * a0[k]; n1 += a1[k] * a1[k] }
                let cos: Double = (n0 == 0 && n1 == 0) ? 1 : ((n0 == 0 || n1 == 0) ? 0 : dot / (n0 * n1).squareRoot())
                total[s] += 1 - cos
            }
        }
        return total.reduce(0, +) / Double(n * samples)
    }

    /// SplitMix64 with Box–Muller normals.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        mutating func uniform() -> Double { (Double(next() >> 11) + 0.5) * 0x1p-53 }
        mutating func gaussian() -> Double {
            (-2 * log(uniform())).squareRoot() * cos(2 * Double.pi * uniform())
        }
    }
}
