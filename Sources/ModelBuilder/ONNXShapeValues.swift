import SpectralModel
import WeightFiles

/// Values an ONNX graph computes without reading its data — constants and shape arithmetic
/// (`Shape → Gather → Unsqueeze → Concat → Reshape`, as `x.view(x.size(0), -1)` exports) — are
/// folded here instead of becoming layers. Only what `Reshape` needs is tracked: a list of
/// elements that are known integers, the batch size (element 0 of any `Shape`), or unknown.
enum ONNXShapeValue: Equatable {
    enum Element: Equatable {
        case known(Int64)
        case batch
        case unknown
    }

    /// `Shape(x)`: element 0 is the batch size, the rest unknown (rank not tracked).
    case shapeOf
    case list([Element])
    /// A non-data value whose contents are not tracked.
    case opaque

    /// The value a constant-only node produces from its (non-data) inputs.
    static func fold(_ node: ONNXNode, inputs: [ONNXShapeValue]) -> ONNXShapeValue {
        switch node.opType {
        case "Identity", "Cast", "Unsqueeze", "Squeeze":
            return inputs.first ?? .opaque
        case "Gather":
            guard inputs.count == 2, case .list(let idx) = inputs[1], idx.count == 1, case .known(let k) = idx[0] else { return .opaque }
            switch inputs[0] {
            case .shapeOf: return .list([k == 0 ? .batch : .unknown])
            case .list(let xs):
                let i = k < 0 ? Int64(xs.count) + k : k
                return i >= 0 && i < Int64(xs.count) ? .list([xs[Int(i)]]) : .opaque
            case .opaque: return .opaque
            }
        case "Concat":
            var out: [Element] = []
            for v in inputs {
                guard case .list(let xs) = v else { return .opaque }
                out += xs
            }
            return .list(out)
        default:
            return .opaque
        }
    }

    /// True when a `Reshape` to this target keeps the batch axis and flattens the rest:
    /// `[batch, -1]`, `[0, -1]` (0 copies the input's dimension), `[1, -1]`, `[-1, k]`, `[batch, k]`.
    var isFlattenTarget: Bool {
        guard case .list(let xs) = self, xs.count == 2 else { return false }
        let firstKeepsBatch: Bool
        switch xs[0] {
        case .batch, .known(0), .known(1): firstKeepsBatch = true
        case .known(-1): firstKeepsBatch = { if case .known(let k) = xs[1], k > 0 { return true }; return false }()
        default: firstKeepsBatch = false
        }
        guard firstKeepsBatch else { return false }
        if case .known(let k) = xs[1] { return k == -1 || k > 0 }
        return false
    }
}
