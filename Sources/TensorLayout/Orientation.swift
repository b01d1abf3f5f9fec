/// The one description of how a stored weight array maps to the canonical `[out, in]` operator,
/// shared by the readers (`WeightFiles`, which declare it from the format) and the network model
/// (`SpectralModel`, whose graph nodes carry it). Its own target so that neither depends on the
/// other.
///
/// How a 2-D (or conv) weight is laid out, as declared by the format (never guessed from shapes
/// when the format says it). See SPEC.md §1.
public enum Orientation: String, Sendable, Hashable, Codable {
    /// Dense kernel stored `[in, out]` (Keras, GPT-2 `Conv1D`): operator = transpose.
    case inOut = "in_out"
    /// Dense weight stored `[out, in]` (PyTorch `nn.Linear`): operator = the array itself.
    case outIn = "out_in"
    /// Convolution kernel `[k..., in, out]` (Keras, TensorFlow).
    case convHWIO = "conv_hwio"
    /// Convolution kernel `[out, in/groups, k...]` (PyTorch).
    case convOIHW = "conv_oihw"
    /// Depthwise kernel `[k..., in, multiplier]` (Keras DepthwiseConv).
    case depthwiseHWIM = "depthwise_hwim"
    /// Not a matrix, or the format does not say.
    case unknown
    /// A vector a graph node reads (bias, BatchNorm parameter): the graph's name for a tensor
    /// that is not an operator. Readers never produce it (they say `.unknown`).
    case vector
}
