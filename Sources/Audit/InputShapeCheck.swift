import SpectralModel

/// `--input-shape` and the input size behind convolution norms (issue 15: no silent gates).
///
/// A convolution's `operator_norm` depends on the spatial size of its input (SPEC §1): the DFT
/// spectrum at that size, or a bound valid for every size when no size is known. A wrong size
/// silently changes the gate value, so the size given is validated against the network and the
/// size the audit used is always stated as an assumption.
enum InputShapeCheck {
    /// The spatial kernel size of a convolution node, in input order.
    static func kernelSize(_ c: ConvSpec) -> [Int] {
        switch c.kernel.orientation {
        case .convOIHW: return Array(c.kernel.shape.dropFirst(2))
        default: return Array(c.kernel.shape.prefix(c.spatialRank))
        }
    }

    static func text(_ s: [Int]) -> String { s.map(String.init).joined(separator: "×") }

    /// Throws `AuditError.usage` for a size the network cannot take (wrong number of spatial
    /// dimensions, a convolution input smaller than its kernel, or a size that contradicts the
    /// shape the model stores without `forceInputShape`); returns the assumption lines.
    static func validate(graph: NetworkGraph, configuration: AuditConfiguration) throws -> [String] {
        let convs: [(name: String, spec: ConvSpec)] = graph.nodes.compactMap {
            if case .conv(let c) = $0.kind { return ($0.name, c) }
            return nil
        }
        let stored = graph.inputSpatial
        guard let given = configuration.inputShape else {
            guard !convs.isEmpty else { return [] }
            if let stored, let full = graph.inputShape {
                return ["convolution operator norms computed for input spatial size \(text(stored)) (the input shape the model stores, \(full))"]
            }
            return ["no input spatial size known: convolution operator norms are upper bounds valid for every input size (pass --input-shape to compute them at one size)"]
        }
        let flag = "--input-shape \(text(given))"
        guard let first = convs.first else {
            return ["\(flag) given, but the network has no convolution: it changes nothing"]
        }
        if given.count != first.spec.spatialRank {
            throw AuditError.usage("\(flag): \(given.count) spatial dimension\(given.count == 1 ? "" : "s") given, but '\(first.name)' is a \(first.spec.spatialRank)-D convolution (give one size per spatial dimension, channels excluded, e.g. \(Array(repeating: "32", count: first.spec.spatialRank).joined(separator: "x")))")
        }
        if let stored, stored != given, !configuration.forceInputShape {
            throw AuditError.usage("\(flag) contradicts the input shape the model stores (\(graph.inputShape.map { "\($0)" } ?? "?"), spatial \(text(stored))); pass --force-input-shape to audit at \(text(given)) anyway")
        }
        let sizes = graph.spatialSizes(inputSpatial: given)
        for (i, node) in graph.nodes.enumerated() {
            guard case .conv(let c) = node.kind, let n = sizes[i] else { continue }
            let k = kernelSize(c)
            if n.count == k.count, zip(n, k).contains(where: { $0 < $1 }) {
                throw AuditError.usage("\(flag): layer '\(node.name)' would get a \(text(n)) input, smaller than its \(text(k)) kernel (each spatial size must be at least the kernel's)")
            }
        }
        if let stored, stored != given {
            return ["convolution operator norms computed for input spatial size \(text(given)) (--input-shape with --force-input-shape, overriding the model's stored \(text(stored)))"]
        }
        return ["convolution operator norms computed for input spatial size \(text(given)) (--input-shape)"]
    }
}
