/// One thing a graph builder had to guess rather than read from the file (issue 16): which
/// operator a BatchNorm belongs to, the layer order, an activation, a flatten, an epsilon, where a
/// PReLU sits. Reported per layer and in the network section of every output.
public struct StructureGuess: Sendable, Equatable, Hashable {
    public enum Kind: String, Sendable, Equatable, Hashable, CaseIterable {
        /// A BatchNorm attached to an operator by number or position, not by its name.
        case pairing
        /// The layer order (the file's order did not chain shape-consistently).
        case order
        /// An activation between operators (inference assumes ReLU).
        case activation
        /// A flatten (or global pooling) between a convolution and a dense layer.
        case flatten
        /// A BatchNorm epsilon (the framework default).
        case epsilon
        /// Where a weight-carrying activation (PReLU) sits in the chain.
        case placement
    }

    public var kind: Kind
    /// The node the guess concerns (nil: the whole network, e.g. the order).
    public var layer: String?
    public var detail: String

    public init(kind: Kind, layer: String?, detail: String) {
        self.kind = kind
        self.layer = layer
        self.detail = detail
    }
}

extension NetworkGraph {
    /// True when the structure was stated (Keras config, manifest, a graph format) rather than
    /// inferred from tensor names.
    public var isDeclared: Bool { source != "inferred" }

    /// The guesses that concern node `name`.
    public func guesses(for name: String) -> [StructureGuess] {
        guesses.filter { $0.layer == name }
    }
}
