/// One tensor name of a PyTorch recurrent module, parsed once (issue 19). Every place that maps
/// a file's tensor names to recurrent layers (structure inference, per-gate rows, horizon bounds,
/// the data-mode graph) reads names through this type, never by string prefixes of its own.
///
/// The forms (torch/nn/modules/rnn.py, torch 2.13), under any module prefix (`rnn.`, `encoder.rnn_cell.`, none):
/// - `nn.LSTM` / `nn.GRU` / `nn.RNN`: `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`,
///   `bias_hh_l{k}`, LSTM `proj_size` `weight_hr_l{k}`, each with `_reverse` for the second
///   direction of a bidirectional module;
/// - `nn.LSTMCell` / `nn.GRUCell` / `nn.RNNCell`: `weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`
///   (one layer, one direction, no projection): `isCell`.
/// The last `.`-separated component is the variable; everything before it the module prefix.
public struct TorchRecurrentKey: Hashable, Sendable, CustomStringConvertible {
    public enum Role: String, Sendable, CaseIterable {
        case weightIH = "weight_ih", weightHH = "weight_hh", biasIH = "bias_ih", biasHH = "bias_hh", weightHR = "weight_hr"
    }

    /// The module path before the variable (`rnn`, `encoder.rnn_cell`; empty at the top level).
    public var prefix: String
    public var role: Role
    /// Stacked layer index k (0 for a Cell).
    public var layer: Int
    /// The `_reverse` direction of a bidirectional module.
    public var reverse: Bool
    /// A Cell module's key (no `_l{k}` suffix).
    public var isCell: Bool

    public init(prefix: String, role: Role, layer: Int = 0, reverse: Bool = false, isCell: Bool = false) {
        self.prefix = prefix
        self.role = role
        self.layer = layer
        self.reverse = reverse
        self.isCell = isCell
    }

    /// Parses a full tensor name (`rnn.weight_hh_l1_reverse`, `cell.bias_ih`); nil for any other name.
    public init?(name: String) {
        let cut = name.lastIndex(of: ".")
        let variable = cut.map { String(name[name.index(after: $0)...]) } ?? name
        guard let parsed = Self(variable: variable, prefix: cut.map { String(name[..<$0]) } ?? "") else { return nil }
        self = parsed
    }

    /// Parses a variable (the last name component) under `prefix`.
    public init?(variable: String, prefix: String = "") {
        for role in Role.allCases where variable.hasPrefix(role.rawValue) {
            let rest = variable.dropFirst(role.rawValue.count)
            if rest.isEmpty {
                guard role != .weightHR else { return nil }   // a Cell has no projection
                self.init(prefix: prefix, role: role, isCell: true)
                return
            }
            guard rest.hasPrefix("_l") else { return nil }
            var digits = rest.dropFirst(2)
            let reverse = digits.hasSuffix("_reverse")
            if reverse { digits = digits.dropLast("_reverse".count) }
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }), digits.count <= 6, let k = Int(digits) else { return nil }
            self.init(prefix: prefix, role: role, layer: k, reverse: reverse)
            return
        }
        return nil
    }

    /// The variable as stored: `weight_ih_l0_reverse`, `bias_hh` (Cell).
    public var variable: String { isCell ? role.rawValue : "\(role.rawValue)_\(direction)" }

    /// The full tensor name.
    public var name: String { prefix.isEmpty ? variable : prefix + "." + variable }

    public var description: String { name }

    /// The direction's label: `l0`, `l1_reverse` (modules), `cell` (a Cell module).
    public var direction: String { isCell ? "cell" : "l\(layer)" + (reverse ? "_reverse" : "") }

    /// The key of the same module, layer and direction in another role.
    public func with(_ role: Role) -> TorchRecurrentKey {
        var k = self
        k.role = role
        return k
    }

    /// The key of the same module in another layer/direction (same form); nil for a Cell asked
    /// for anything but its one layer and direction (a Cell has no `_l1` or `_reverse`).
    public func at(layer: Int, reverse: Bool, role: Role) -> TorchRecurrentKey? {
        if isCell && (layer != 0 || reverse) { return nil }
        return TorchRecurrentKey(prefix: prefix, role: role, layer: layer, reverse: reverse, isCell: isCell)
    }

    /// The recurrent keys among `names` that form a module: the `_l{k}` forms always, the Cell
    /// forms only beside both a Cell `weight_ih` and `weight_hh` of the same prefix (a lone
    /// `bias_ih` or `weight_ih` is some other module's naming, not a recurrent cell).
    public static func keys<S: Sequence>(in names: S) -> [TorchRecurrentKey] where S.Element == String {
        let parsed = names.compactMap { TorchRecurrentKey(name: $0) }
        let cellPrefixes = Set(parsed.filter { $0.isCell && $0.role == .weightIH }.map(\.prefix))
            .intersection(parsed.filter { $0.isCell && $0.role == .weightHH }.map(\.prefix))
        return parsed.filter { !$0.isCell || cellPrefixes.contains($0.prefix) }
    }
}
