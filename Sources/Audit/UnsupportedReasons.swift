/// Reasons for layers outside the operator-product model (issue 16, item 4): each says what the
/// layer is, why it has no bound, and the one thing that would give one — never an `--arch`
/// manifest for a layer the manifest cannot express (its types: dense, conv1d/2d/3d,
/// depthwise_conv1d/2d, batch_norm, activation, prelu, pooling, flatten/reshape/dropout/identity,
/// add, concatenate, embedding; `layer_norm` and `unsupported` only mark layers as such).
enum UnsupportedReasons {
    static let recurrent: Set<String> = ["LSTM", "GRU", "RNN", "SimpleRNN", "LSTMCell", "GRUCell", "SimpleRNNCell",
                                         "Bidirectional", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "TimeDistributed"]
    static let attention: Set<String> = ["MultiHeadAttention", "Attention", "AdditiveAttention", "GroupQueryAttention"]
    static let normalisation: Set<String> = ["LayerNormalization", "GroupNormalization", "UnitNormalization", "RMSNormalization"]

    /// `'<layer>' is …; …; …` for a node of class `className` (graph `source`).
    static func reason(layer: String, className: String, source: String) -> String {
        let noOption = "no option gives a network bound for it yet (SPEC §7 plans local bounds on a stated domain)"
        if recurrent.contains(className) {
            return "'\(layer)' is a recurrent layer (\(className)): a recurrent cell has no global Lipschitz constant over an unbounded horizon, so the operator-product model gives no network bound; its matrices are analysed per tensor and per gate in the rows below; \(noOption)"
        }
        if attention.contains(className) {
            return "'\(layer)' is attention (\(className)): dot-product attention has no global Lipschitz constant (Kim, Papamakarios & Mnih 2021); its matrices are analysed per tensor in the rows below; \(noOption)"
        }
        if normalisation.contains(className) {
            return "'\(layer)' is a normalisation layer (\(className)): its only global constant max|γ|/√ε is meaningless, so the chain stops here; its tensors are analysed in the rows below; \(noOption)"
        }
        switch className {
        case "unrecognised":
            return "'\(layer)' holds tensors the name inference does not recognise as a layer (no running statistics, no ≥ 2-D weight, no PReLU name); its ≥ 2-D tensors are analysed in the rows below; if it is a layer an --arch manifest can express (dense, conv, batch_norm, prelu, activation, pooling, add, concatenate…), stating the structure in one gives the bound"
        case "unsupported":
            return "'\(layer)' is marked `unsupported` by the --arch manifest; if it is one of the manifest's layer types (dense, conv, batch_norm, prelu, activation, pooling, add, concatenate…), state that type instead to get the bound"
        case "LSTM", "GRU", "RNN":
            return reason(layer: layer, className: "LSTM", source: source)
        case "buffers":
            return "'\(layer)' holds only integer buffers (e.g. num_batches_tracked): nothing to analyse, no effect on the bound"
        default:
            if source == "keras_config" && ["Dense", "Conv1D", "Conv2D", "Conv3D", "DepthwiseConv1D", "DepthwiseConv2D",
                                             "SeparableConv1D", "SeparableConv2D", "BatchNormalization", "PReLU", "Embedding"].contains(className) {
                return "'\(layer)' is a Keras \(className) whose weights are missing from the file (the file does not match its config): re-save the model with its weights to get the bound"
            }
            if className.hasPrefix("Activation(") {
                return "'\(layer)' is \(className), whose Lipschitz constant is not tabulated (SPEC §3): no bound through it; an activation of the tabulated list gives one"
            }
            return "'\(layer)' is a \(className) layer, which the operator registry does not cover; its weight tensors are analysed in the rows below; if it computes one of the --arch manifest's layer types (dense, conv, batch_norm, prelu, activation, pooling, add, concatenate…), a manifest stating the structure gives the bound, otherwise no option does"
        }
    }
}
