import SpectralModel
import WeightFiles

extension ForwardModel {
    /// Compiles `graph` with tensors from `store`. `inputShape` overrides the graph's native
    /// input shape (needed when the graph does not know it, e.g. an inferred conv net).
    /// (Here, not in SpectralModel, which reads weights only through the loader closure.)
    public convenience init(graph: NetworkGraph, store: any TensorStore, inputShape override: [Int]? = nil) throws {
        try self.init(graph: graph, inputShape: override) { try store.loadFloat64($0.name) }
    }
}
