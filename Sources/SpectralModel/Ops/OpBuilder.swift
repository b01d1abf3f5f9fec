/// Turns one `Node` of a `NetworkGraph` into ops. Each op file declares its builder beside the
/// op; `OpRegistry.builders` lists them, and the compiler asks each in turn until one handles
/// the node.
public protocol OpBuilder {
    /// The slot holding the node's output (after emitting its ops through `context.emit`), or
    /// nil when this builder does not handle `node`'s kind. Throws `ForwardModelError` when it
    /// handles the kind but cannot run this instance (`.unsupported`) or the weights do not fit
    /// (`.invalid`).
    static func build(_ node: Node, _ context: OpBuildContext) throws -> Int?
}

/// Why a network cannot be compiled or run by the forward engine.
public struct ForwardModelError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        /// The network uses a layer or setting the engine has no op for (the tool's limit, not
        /// the file's fault).
        case unsupported
        /// The file's weights or structure do not fit together.
        case invalid
    }
    public var message: String
    public var kind: Kind
    public init(_ message: String, kind: Kind = .invalid) {
        self.message = message
        self.kind = kind
    }
    public var description: String { message }

    static func unsupported(_ node: Node, _ what: String) -> ForwardModelError {
        ForwardModelError("layer '\(node.name)' (\(what)) is not an op the forward engine supports", kind: .unsupported)
    }
}

/// What a builder may read and do while compiling one node.
public final class OpBuildContext {
    /// Slots of the node's inputs (in the node's input order).
    public let inputSlots: [Int]
    /// True for models whose image inputs are channels-first (PyTorch conventions).
    public let channelsFirst: Bool
    /// True when the node is the network's output.
    public let isNetworkOutput: Bool
    let loader: (TensorRef) throws -> [Double]
    unowned let compiler: OpCompiler

    init(inputSlots: [Int], channelsFirst: Bool, isNetworkOutput: Bool, loader: @escaping (TensorRef) throws -> [Double],
         compiler: OpCompiler) {
        self.inputSlots = inputSlots
        self.channelsFirst = channelsFirst
        self.isNetworkOutput = isNetworkOutput
        self.loader = loader
        self.compiler = compiler
    }

    /// Channels-last shape of one sample in `slot`.
    public func shape(_ slot: Int) -> [Int] { compiler.ops[slot].op.outputShape }
    /// Shape of the node's k-th input.
    public func inputShape(_ k: Int = 0) -> [Int] { shape(inputSlots[k]) }

    /// A tensor of the file, as float64 (finite values only).
    public func load(_ ref: TensorRef) throws -> [Double] {
        let d = try loader(ref)
        guard d.allSatisfy({ $0.isFinite }) else {
            throw ForwardModelError("data audit needs finite weights: tensor '\(ref.name)' has NaN or Inf")
        }
        return d
    }

    /// Appends `op` reading `inputs` (slots), with its parameter values (one array per block of
    /// `op.parameterLayout`). Returns its slot.
    @discardableResult
    public func emit(_ op: any DifferentiableOp, inputs: [Int], parameters: [[Double]] = []) throws -> Int {
        try compiler.append(op, inputs: inputs, parameters: parameters)
    }

    /// A note for the report's assumptions.
    public func note(_ text: String) { compiler.notes.append(text) }
}

/// The op list under construction (used by `ForwardModel.init`).
final class OpCompiler {
    struct Entry {
        let op: any DifferentiableOp
        let inputs: [Int]
        let paramOffset: Int
    }
    var ops: [Entry] = []
    var parameters: [Double] = []
    var blocks: [(name: String, offset: Int, count: Int)] = []
    var notes: [String] = []

    func append(_ op: any DifferentiableOp, inputs: [Int], parameters values: [[Double]]) throws -> Int {
        let layout = op.parameterLayout
        guard layout.count == values.count, zip(layout, values).allSatisfy({ $0.count == $1.count }) else {
            throw ForwardModelError("layer '\(op.name)': parameter blocks \(values.map(\.count)) do not fit \(layout.map(\.count))")
        }
        let offset = parameters.count
        for (b, v) in zip(layout, values) {
            blocks.append((op.name + "/" + b.name, parameters.count, v.count))
            parameters.append(contentsOf: v)
        }
        ops.append(Entry(op: op, inputs: inputs, paramOffset: offset))
        return ops.count - 1
    }
}
