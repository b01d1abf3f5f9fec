import Foundation
import LinearAlgebra

/// The generator behind `SoundnessHarnessTests` (issue 16, item 5): small PyTorch-style state
/// dicts of dense and conv1d chains with BatchNorms under every naming convention the inference
/// knows, written as safetensors or npz in model order, sorted by name, or shuffled — each with
/// its true operators kept in memory so the test can compute the truth in float64 (LAPACK).
/// Seeded (HarnessRNG); no Python.
struct SoundnessCase {
    /// One layer of the real network: `y = S (A x + b − m) + β` (S, m, β only with a BatchNorm),
    /// then ReLU except after the last layer. `A` is the explicit operator (conv: the zero-padded
    /// `same` convolution on length `positions`, rows `o·n + t`, as PyTorch flattens `[C, n]`).
    struct Layer {
        var a: Matrix
        var bias: [Double]
        /// Per output row (conv: per channel, repeated over positions).
        var scale: [Double]?
        var shift: [Double]?
    }

    var label: String
    var layers: [Layer]
    /// (name, shape, values) in the order the file stores them.
    var tensors: [(name: String, shape: [Int], values: [Double])]
    var npz: Bool
    var inputDimension: Int
}

struct HarnessRNG {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * uniform() }
    mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + Int(next() % UInt64(range.count)) }
    mutating func normal() -> Double {
        let u = max(uniform(), 1e-300), v = uniform()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
    mutating func shuffle<T>(_ a: inout [T]) {
        guard a.count > 1 else { return }
        for i in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(i, int(0...i)) }
    }
}

enum SoundnessGenerator {
    /// BatchNorm naming conventions (`N` is the operator's number, `op` its name).
    static let conventions = ["_BN", "_bn", ".bn", ".batchnorm", "_batchnorm", "bnN", "sequential"]
    static let orders = ["model", "sorted", "shuffled"]

    static func make(seed: UInt64) -> SoundnessCase {
        var rng = HarnessRNG(state: seed)
        let convention = conventions[Int(seed % UInt64(conventions.count))]
        let order = orders[Int((seed / 7) % 3)]
        // Every fifth case: a dense chain of scaled permutations with extreme BatchNorm scales.
        let adversarial = seed % 5 == 4
        let conv = !adversarial && rng.uniform() < 0.4
        let depth = adversarial ? rng.int(2...3) : rng.int(2...4)
        let positions = 5
        // Equal widths half of the time, so that channel counts alone cannot pair BatchNorms.
        let equal = adversarial || rng.uniform() < 0.5
        var widths = [adversarial ? 6 : (conv ? rng.int(1...3) : rng.int(3...8))]
        for _ in 0..<depth { widths.append(equal ? (conv ? 3 : 6) : (conv ? rng.int(2...4) : rng.int(3...8))) }
        var layers: [SoundnessCase.Layer] = []
        var tensors: [(String, [Int], [Double])] = []
        var layerIndex = 0
        func opName(_ i: Int) -> String { convention == "sequential" ? "net.\(layerIndex)" : (conv && i < depth - 1 ? "conv\(i + 1)" : "fc\(i + 1)") }
        func bnName(_ i: Int, _ op: String) -> String {
            switch convention {
            case "bnN": return "bn\(i + 1)"
            case "sequential": return "net.\(layerIndex + 1)"
            default: return op + convention
            }
        }
        var convChannels: Int?
        for i in 0..<depth {
            let isConv = conv && i < depth - 1
            let name = opName(i)
            let cout = isConv ? widths[i + 1] : (i == depth - 1 && !adversarial ? rng.int(1...4) : widths[i + 1])
            var layer: SoundnessCase.Layer
            if isConv {
                let cin = widths[i], k = 3, n = positions
                let w = (0..<(cout * cin * k)).map { _ in rng.normal() * rng.uniform(0.2, 1.2) }
                tensors.append((name + ".weight", [cout, cin, k], w))
                var a = Matrix(rows: cout * n, cols: cin * n)
                for o in 0..<cout { for c in 0..<cin { for j in 0..<k { for t in 0..<n {
                    let s = t + j - 1
                    if s >= 0 && s < n { a.storage[(o * n + t) * (cin * n) + c * n + s] += w[(o * cin + c) * k + j] }
                } } } }
                let b = (0..<cout).map { _ in rng.normal() * 0.3 }
                tensors.append((name + ".bias", [cout], b))
                layer = SoundnessCase.Layer(a: a, bias: b.flatMap { Array(repeating: $0, count: n) })
                convChannels = cout
            } else {
                let fanIn = convChannels.map { $0 * positions } ?? widths[i]
                var w = (0..<(cout * fanIn)).map { _ in rng.normal() * rng.uniform(0.1, 1.0) }
                if adversarial && cout == fanIn {
                    // A scaled permutation (the issue's fc/fc_bn construction, randomised):
                    // folding a BatchNorm into the wrong one of these undercuts the truth.
                    var perm = Array(0..<cout)
                    rng.shuffle(&perm)
                    w = [Double](repeating: 0, count: cout * fanIn)
                    for r in 0..<cout { w[r * fanIn + perm[r]] = exp(rng.uniform(log(0.01), 0)) }
                }
                tensors.append((name + ".weight", [cout, fanIn], w))
                let b = (0..<cout).map { _ in rng.normal() * 0.3 }
                tensors.append((name + ".bias", [cout], b))
                layer = SoundnessCase.Layer(a: Matrix(rows: cout, cols: fanIn, storage: w), bias: b)
                convChannels = nil
            }
            if adversarial || (i < depth - 1 || rng.uniform() < 0.3) && rng.uniform() < 0.7 {
                // BatchNorm scales spread over two orders of magnitude, random signs.
                let gamma = (0..<cout).map { _ in
                    (adversarial ? exp(rng.uniform(log(0.01), log(10))) : rng.uniform(0.05, 5)) * (rng.uniform() < 0.5 ? -1 : 1)
                }
                let beta = (0..<cout).map { _ in rng.normal() * 0.2 }
                let mean = (0..<cout).map { _ in rng.normal() * 0.3 }
                let variance = (0..<cout).map { _ in rng.uniform(0.2, 2) }
                let s = (0..<cout).map { gamma[$0] / (variance[$0] + 1e-5).squareRoot() }
                let bn = bnName(i, name)
                tensors += [(bn + ".weight", [cout], gamma), (bn + ".bias", [cout], beta), (bn + ".running_mean", [cout], mean),
                            (bn + ".running_var", [cout], variance)]
                let rep = isConv ? positions : 1
                layer.scale = s.flatMap { Array(repeating: $0, count: rep) }
                layer.shift = (0..<cout).flatMap { c in Array(repeating: beta[c] - s[c] * mean[c], count: rep) }
                layerIndex += 1
            }
            layerIndex += convention == "sequential" ? 2 : 1
            layers.append(layer)
        }
        switch order {
        case "sorted": tensors.sort { $0.0 < $1.0 }
        case "shuffled": rng.shuffle(&tensors)
        default: break
        }
        let input = conv ? widths[0] * positions : widths[0]
        return SoundnessCase(label: "seed \(seed): \(conv ? "conv" : "dense") depth \(depth), \(convention), \(order) order\(equal ? ", equal widths" : "")\(adversarial ? ", adversarial" : "")",
                             layers: layers, tensors: tensors, npz: seed % 2 == 1, inputDimension: input)
    }

    // MARK: truth

    /// The operator of layer `l` with its BatchNorm folded: `diag(s) A`.
    static func folded(_ l: SoundnessCase.Layer) -> Matrix {
        guard let s = l.scale else { return l.a }
        var m = l.a
        for r in 0..<m.rows { for c in 0..<m.cols { m.storage[r * m.cols + c] *= s[r] } }
        return m
    }

    /// ‖A'_L ⋯ A'_1‖₂ of the linear chain (dgesdd on the product).
    static func linearTruth(_ c: SoundnessCase) throws -> Double {
        var p = folded(c.layers[0])
        for l in c.layers.dropFirst() { p = try folded(l).multiplied(by: p) }
        return try SVD.singularValues(p, method: .gesdd).values.first ?? 0
    }

    /// max over `samples` seeded inputs of ‖J(x)‖₂ of the ReLU network (a lower bound on its
    /// Lipschitz constant).
    static func reluLowerBound(_ c: SoundnessCase, samples: Int, seed: UInt64) throws -> Double {
        var rng = HarnessRNG(state: seed ^ 0xABCDEF)
        var best = 0.0
        for _ in 0..<samples {
            var h = (0..<c.inputDimension).map { _ in rng.normal() }
            var j: Matrix?
            for (k, l) in c.layers.enumerated() {
                let a = folded(l)
                var z = [Double](repeating: 0, count: a.rows)
                for r in 0..<a.rows {
                    var acc = 0.0
                    for col in 0..<a.cols { acc += l.a.storage[r * a.cols + col] * h[col] }
                    acc += l.bias[r]
                    z[r] = l.scale.map { $0[r] * acc + l.shift![r] } ?? acc
                }
                var step = a
                if k < c.layers.count - 1 {
                    for r in 0..<a.rows where z[r] <= 0 {
                        for col in 0..<a.cols { step.storage[r * a.cols + col] = 0 }
                    }
                    z = z.map { max($0, 0) }
                }
                j = try j.map { try step.multiplied(by: $0) } ?? step
                h = z
            }
            best = max(best, try SVD.singularValues(j!, method: .gesdd).values.first ?? 0)
        }
        return best
    }

    // MARK: files

    static func write(_ c: SoundnessCase, to dir: URL, name: String) throws -> URL {
        let url = dir.appendingPathComponent(name + (c.npz ? ".npz" : ".safetensors"))
        try (c.npz ? npz(c.tensors) : safetensors(c.tensors)).write(to: url)
        return url
    }

    static func bytes(_ values: [Double]) -> [UInt8] {
        values.flatMap { v -> [UInt8] in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } }
    }

    /// safetensors: u64 header length, JSON header (F64 tensors, data in the given order).
    static func safetensors(_ ts: [(name: String, shape: [Int], values: [Double])]) -> Data {
        var entries: [String] = ["\"__metadata__\":{\"format\":\"pt\"}"]
        var offset = 0
        var data: [UInt8] = []
        for t in ts {
            let b = bytes(t.values)
            entries.append("\"\(t.name)\":{\"dtype\":\"F64\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + b.count)]}")
            offset += b.count
            data += b
        }
        var header = Array(("{" + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        var out = withUnsafeBytes(of: UInt64(header.count).littleEndian) { Array($0) }
        out += header + data
        return Data(out)
    }

    /// npz: a stored zip of `<name>.npy` members (npy format 1.0, `<f8`, C order).
    static func npz(_ ts: [(name: String, shape: [Int], values: [Double])]) -> Data {
        var out: [UInt8] = []
        var central: [UInt8] = []
        func u16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF)] }
        func u32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8((v >> (8 * $0)) & 0xFF) } }
        for t in ts {
            let shape = t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
            var dict = Array("{'descr': '<f8', 'fortran_order': False, 'shape': \(shape), }".utf8)
            while (10 + dict.count + 1) % 64 != 0 { dict.append(0x20) }
            dict.append(0x0A)
            let npy = [0x93] + Array("NUMPY".utf8) + [1, 0] + u16(dict.count) + dict + bytes(t.values)
            let name = Array((t.name + ".npy").utf8)
            let crc = crc32(npy)
            let local = u32(0x0403_4B50) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0x21) + u32(crc) + u32(UInt32(npy.count))
                + u32(UInt32(npy.count)) + u16(name.count) + u16(0)
            central += u32(0x0201_4B50) + u16(20) + u16(20) + u16(0) + u16(0) + u16(0) + u16(0x21) + u32(crc)
                + u32(UInt32(npy.count)) + u32(UInt32(npy.count)) + u16(name.count) + u16(0) + u16(0) + u16(0) + u16(0)
                + u32(0) + u32(UInt32(out.count)) + name
            out += local + name + npy
        }
        let start = out.count
        out += central
        out += u32(0x0605_4B50) + u16(0) + u16(0) + u16(ts.count) + u16(ts.count) + u32(UInt32(central.count))
            + u32(UInt32(start)) + u16(0)
        return Data(out)
    }

    /// CRC-32 (IEEE, reflected) of `bytes`: the zip checksum the npz reader verifies.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var table = [UInt32](repeating: 0, count: 256)
        for i in 0..<256 {
            var c = UInt32(i)
            for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            table[i] = c
        }
        var crc: UInt32 = 0xFFFF_FFFF
        for b in bytes { crc = table[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
        return crc ^ 0xFFFF_FFFF
    }
}
