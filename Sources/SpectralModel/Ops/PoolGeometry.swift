/// Windows of a pooling layer on channels-last data, with the conventions of the frameworks:
///
/// - `valid` (Keras, PyTorch `padding=0`): `⌊(n − k)/s⌋ + 1` windows per axis, all inside;
/// - `same` (Keras/TensorFlow): `⌈n/s⌉` windows, total padding `max((⌈n/s⌉ − 1)s + k − n, 0)`,
///   the smaller half before; padded cells are ignored (max over real cells, averages divide by
///   the real cells' count: TensorFlow's behaviour);
/// - `explicit` (PyTorch `padding=p`, ONNX `pads`): `⌊(n + p_b + p_a − k)/s⌋ + 1` windows, or with
///   `ceil_mode` `⌈…⌉ + 1` minus a last window that would start in the right padding (PyTorch's
///   rule); averages divide by the window clipped to the padded extent when
///   `count_include_pad` (PyTorch's default), else by the real cells' count.
/// - global pooling: one window of every position.
///
/// Windows list their real cells in row-major window order, so max pooling selects the first
/// maximal cell (PyTorch and TensorFlow scan the same way).
struct PoolGeometry: Sendable {
    let outSpatial: [Int]
    let channels: Int
    let outPositions: Int
    /// Cells of window q: `cells[start[q]..<start[q+1]]` (input positions).
    let start: [Int]
    let cells: [Int32]
    /// 1 / divisor of each window (average pooling).
    let inverseDivisor: [Double]

    init(inSpatial: [Int], channels: Int, pool: [Int], strides: [Int], padding: String, pads: [Int]?,
         ceilMode: Bool, countIncludePad: Bool, global: Bool, layer: String) throws {
        self.channels = channels
        let d = inSpatial.count
        if global {
            let w = inSpatial.reduce(1, *)
            outSpatial = []
            outPositions = 1
            start = [0, w]
            cells = (0..<w).map { Int32($0) }
            inverseDivisor = [1 / Double(w)]
            return
        }
        let pool = pool.count == 1 && d > 1 ? [Int](repeating: pool[0], count: d) : pool
        let strides = strides.isEmpty ? pool : (strides.count == 1 && d > 1 ? [Int](repeating: strides[0], count: d) : strides)
        guard pool.count == d, strides.count == d, pool.allSatisfy({ $0 >= 1 }), strides.allSatisfy({ $0 >= 1 }) else {
            throw ForwardModelError("layer '\(layer)': pool \(pool) / strides \(strides) do not fit input \(inSpatial)")
        }
        var out = [Int](), before = [Int](), after = [Int]()
        for a in 0..<d {
            let n = inSpatial[a], k = pool[a], s = strides[a]
            switch padding {
            case "valid", "explicit":
                var pb = 0, pa = 0
                if padding == "explicit" {
                    guard let pads, pads.count == 2 * d else {
                        throw ForwardModelError("layer '\(layer)': explicit pooling padding without its \(2 * d) pads", kind: .unsupported)
                    }
                    pb = pads[a]
                    pa = pads[d + a]
                }
                let span = n + pb + pa - k
                guard span >= 0 else { throw ForwardModelError("layer '\(layer)': pool \(pool) larger than input \(inSpatial)") }
                var o = (ceilMode ? (span + s - 1) / s : span / s) + 1
                if ceilMode && (o - 1) * s >= n + pb { o -= 1 }
                out.append(o)
                before.append(pb)
                after.append(pa)
            case "same":
                let o = (n + s - 1) / s
                let total = Swift.max((o - 1) * s + k - n, 0)
                out.append(o)
                before.append(total / 2)
                after.append(total - total / 2)
            default:
                throw ForwardModelError("layer '\(layer)': pooling padding '\(padding)' is not one the forward engine runs (valid, same, explicit)",
                                        kind: .unsupported)
            }
        }
        let includePad = countIncludePad && padding == "explicit"
        outSpatial = out
        outPositions = out.reduce(1, *)
        var start = [0], cells = [Int32](), inv = [Double]()
        var o = [Int](repeating: 0, count: d)
        for q in 0..<outPositions {
            var rem = q
            for a in stride(from: d - 1, through: 0, by: -1) { o[a] = rem % out[a]; rem /= out[a] }
            // Per axis: the window's first index and its real / padded extents.
            var lo = [Int](), hi = [Int](), padded = 1
            for a in 0..<d {
                let s0 = o[a] * strides[a] - before[a]
                let e0 = Swift.min(s0 + pool[a], inSpatial[a] + after[a])
                padded *= e0 - s0
                lo.append(Swift.max(s0, 0))
                hi.append(Swift.min(e0, inSpatial[a]))
            }
            var count = 0
            if zip(lo, hi).allSatisfy({ $0 < $1 }) {
                var idx = lo
                while true {
                    var pos = 0
                    for a in 0..<d { pos = pos * inSpatial[a] + idx[a] }
                    cells.append(Int32(pos))
                    count += 1
                    var a = d - 1
                    while a >= 0 { idx[a] += 1; if idx[a] < hi[a] { break }; idx[a] = lo[a]; a -= 1 }
                    if a < 0 { break }
                }
            }
            guard count > 0 else { throw ForwardModelError("layer '\(layer)': pooling window \(q) lies entirely in the padding") }
            start.append(cells.count)
            inv.append(1 / Double(includePad ? padded : count))
        }
        self.start = start
        self.cells = cells
        inverseDivisor = inv
    }

    /// The ℓ2 operator-norm bound of the pooling map by the Schur test, `sqrt(‖P‖₁ ‖P‖_∞)`: for max
    /// pooling (a selection per window) `sqrt(max cover)`, the most windows sharing one cell; for
    /// averages `sqrt(max_cell Σ_{w∋cell} 1/div_w · max_w |w|/div_w)`.
    func lipschitz(isMax: Bool, inPositions: Int) -> Double {
        var colSum = [Double](repeating: 0, count: inPositions)
        var rowMax = 0.0
        for q in 0..<outPositions {
            let w = isMax ? 1.0 : inverseDivisor[q]
            for c in start[q]..<start[q + 1] { colSum[Int(cells[c])] += w }
            rowMax = Swift.max(rowMax, isMax ? 1 : Double(start[q + 1] - start[q]) * inverseDivisor[q])
        }
        return ((colSum.max() ?? 0) * rowMax).squareRoot()
    }
}
