import SpectralModel
import WeightFiles

/// Structure inference from tensor names and shapes, for files that carry no architecture
/// (safetensors, npz written from a PyTorch `state_dict`). Rules (issue 16, man 1 "STRUCTURE"):
///
/// - **Layers** are tensor groups by name prefix. A group with `running_mean`/`running_var`
///   (`moving_*`) is a BatchNorm; one with a ≥ 2-D floating `weight`/`kernel` an operator (dense
///   for 2-D, conv otherwise); PyTorch `weight_ih_l*`/`weight_hh_l*` (or a Cell module's `weight_ih`/`weight_hh`;
///   `TorchRecurrentKey`) a recurrent cell; a 1-D
///   `weight` alone in a component with the word `prelu` a PReLU. Groups under the tool's own
///   annotation group (`spectral_audit/…`) are never layers.
/// - **Order.** The file's own order is used when its operators chain shape-consistently
///   (fan-out of each = fan-in of the next; conv → dense through a flatten) and the file does not
///   merely store its layers sorted by name (safetensors writers sort); otherwise name order
///   (numbers compared as numbers) when that chains; otherwise the order closest to name order in
///   which the shapes chain. The last two are guesses. The product bound `Π σ · Π Lip` of a chain
///   does not depend on the order of its factors, so an order guess never changes `L` (it does
///   change `--probe`'s forward pass, hence the label).
/// - **BatchNorm pairing** by name first: `conv1_BN`, `conv1_bn`, `conv1.bn`, `conv1.batchnorm`,
///   `conv1_batchnorm` belong to `conv1` (read, not guessed). `bnN` belongs to the operator
///   numbered N or the N-th operator of its parent, only when those agree on one operator with
///   the right channel count (guessed). Any other BatchNorm belongs to the operator it follows in
///   the file, or to the only operator with its channel count (guessed). When more than one
///   operator fits, the structure is ambiguous and the network bound unavailable (a fold into the
///   wrong operator can make `Π σ` smaller than the true constant).
/// - Folding a BatchNorm `S` into its operator `W` stays sound even if an element-wise
///   activation sits between them (torchcrepe applies ReLU before BatchNorm): `S D W = D S W` for
///   diagonal `D`, so `‖S D W‖ ≤ Lip(φ) ‖S W‖`.
/// - **Keyword check** on whole components (`InferredNames.marker`): attention, LayerNorm,
///   recurrent and embedding layers break the chain.
/// Every guess is recorded in `guesses` (and in `assumptions`).
extension NetworkGraph {
    /// `fileOrderIsModelOrder`: when false and the file order breaks the chain, name order is
    /// preferred for the layers the report lists; the file order is tried first either way and
    /// used when it chains and is not simply sorted by name.
    public static func inferred(from tensors: [TensorInfo], fileOrderIsModelOrder: Bool = true) -> NetworkGraph {
        var builder = InferredBuilder(tensors: tensors, fileOrderIsModelOrder: fileOrderIsModelOrder)
        return builder.build()
    }

    /// `layer.2` < `layer.10`: digit runs compare as numbers.
    static func naturalLess(_ a: String, _ b: String) -> Bool {
        func parts(_ s: String) -> [(String, Int?)] {
            var out: [(String, Int?)] = []
            var cur = ""
            var digits = false
            for c in s {
                if c.isNumber != digits && !cur.isEmpty {
                    out.append((cur, digits ? Int(cur) : nil))
                    cur = ""
                }
                digits = c.isNumber
                cur.append(c)
            }
            if !cur.isEmpty { out.append((cur, digits ? Int(cur) : nil)) }
            return out
        }
        let pa = parts(a), pb = parts(b)
        for (x, y) in zip(pa, pb) {
            if let nx = x.1, let ny = y.1, nx != ny { return nx < ny }
            if x.0 != y.0 { return x.0 < y.0 }
        }
        return pa.count < pb.count
    }

    /// `encoder.layer.0.attention.self.query.weight` → `encoder.layer.0.attention.self.query`.
    static func layerName(of tensor: String) -> String {
        if let dot = tensor.lastIndex(of: ".") { return String(tensor[..<dot]) }
        if let slash = tensor.lastIndex(of: "/") { return String(tensor[..<slash]) }
        return tensor
    }
}

extension NodeKind {
    var isConv: Bool {
        if case .conv = self { return true }
        return false
    }

    var isBatchNorm: Bool {
        if case .batchNorm = self { return true }
        return false
    }
}

extension NetworkGraph {
    /// Substring test on UTF-8 bytes (the standard library's `firstRange(of:)`). Foundation's
    /// `String.contains(_:)` goes through NSString (`range(of:)`) and made name scans of
    /// checkpoints with tens of thousands of tensors take seconds.
    static func has(_ text: String, _ needle: String) -> Bool {
        text.utf8.firstRange(of: needle.utf8) != nil
    }
}
