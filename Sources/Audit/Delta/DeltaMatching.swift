import AuditReport
import WeightFiles

/// Pairs the tensors of MODEL with those of BASE (`--base`). Never guesses:
///
/// 1. **By name**: a MODEL weight and a BASE weight with the same name (safetensors ↔ npz ↔
///    safetensors, `.h5` ↔ `.h5`, …).
/// 2. **By Keras layer and variable** (`keras_layer_variable`), for what is left: the readers
///    give Keras tensors their layer and variable (`dense_1` / `kernel`) from the file's own
///    layout — `model_weights/dense_1/…/kernel:0` in a legacy `.h5`, `layers/dense_1/vars/0` in a
///    Keras 3 `.weights.h5` — so the same layer pairs across the two layouts. A key that is not
///    unique on either side pairs nothing.
///
/// Only `weights` tensors take part (optimizer slots, integer buffers and stored audits do
/// not). A pair whose shapes differ is `mismatched` (listed, never compared); the rest is
/// `unmatched_model` / `unmatched_base`.
struct DeltaMatching {
    struct Pair {
        var model: TensorInfo
        var base: TensorInfo
        var matchedBy: String
    }

    var pairs: [Pair] = []
    var unmatchedModel: [String] = []
    var unmatchedBase: [String] = []
    var mismatched: [DeltaMismatch] = []

    static let rule = "name, then keras_layer_variable (unique layer/variable on both sides)"

    init(model: [TensorInfo], base: [TensorInfo]) {
        let m = model.filter { $0.role == .weights }
        let b = base.filter { $0.role == .weights }
        let baseByName = Dictionary(b.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        var takenBase = Set<String>()
        var found: [String: (TensorInfo, String)] = [:]  // model name → (base, how)
        for t in m {
            if let p = baseByName[t.name] {
                found[t.name] = (p, "name")
                takenBase.insert(p.name)
            }
        }
        func key(_ t: TensorInfo) -> String? {
            guard let l = t.layer, let v = t.variable else { return nil }
            return l + "\u{0}" + v
        }
        func unique(_ list: [TensorInfo]) -> [String: TensorInfo] {
            var counts: [String: Int] = [:]
            var first: [String: TensorInfo] = [:]
            for t in list { if let k = key(t) { counts[k, default: 0] += 1; if first[k] == nil { first[k] = t } } }
            return first.filter { counts[$0.key] == 1 }
        }
        let modelLeft = m.filter { found[$0.name] == nil }
        let baseLeft = unique(b.filter { !takenBase.contains($0.name) })
        let modelUnique = unique(modelLeft)
        for t in modelLeft {
            guard let k = key(t), modelUnique[k] != nil, let p = baseLeft[k] else { continue }
            found[t.name] = (p, "keras_layer_variable")
            takenBase.insert(p.name)
        }
        for t in m {
            guard let (p, how) = found[t.name] else {
                unmatchedModel.append(t.name)
                continue
            }
            if t.shape == p.shape {
                pairs.append(Pair(model: t, base: p, matchedBy: how))
            } else {
                mismatched.append(DeltaMismatch(name: t.name, baseName: p.name, shape: t.shape, baseShape: p.shape,
                                                reason: "matched by \(how) but the shapes differ"))
            }
        }
        unmatchedBase = b.filter { !takenBase.contains($0.name) }.map(\.name)
    }
}
