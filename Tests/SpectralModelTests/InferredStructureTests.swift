import XCTest
@testable import ModelBuilder
@testable import SpectralModel
import WeightFiles

/// The pairing, ordering and name rules of `NetworkGraph.inferred` (issue 16), on tensor lists
/// as the safetensors reader describes them (no files).
final class InferredStructureTests: XCTestCase {
    /// A PyTorch-style tensor description (`layer.variable`), with the safetensors orientation rules.
    static func t(_ name: String, _ shape: [Int], dtype: DType = .float32) -> TensorInfo {
        let dot = name.lastIndex(where: { $0 == "." || $0 == "/" })!
        let variable = String(name[name.index(after: dot)...])
        var o = Orientation.unknown
        if variable == "weight" { o = shape.count == 2 ? .outIn : (shape.count >= 3 ? .convOIHW : .unknown) }
        return TensorInfo(name: name, shape: shape, dtype: dtype, byteOrder: .little, layout: "contiguous",
                          role: dtype.isFloatingPoint ? .weights : .buffer, layer: String(name[..<dot]), variable: variable,
                          orientation: o)
    }

    static func bn(_ layer: String, _ c: Int) -> [TensorInfo] {
        ["weight", "bias", "running_mean", "running_var"].map { t("\(layer).\($0)", [c]) } + [t("\(layer).num_batches_tracked", [], dtype: .int64)]
    }

    static func conv(_ layer: String, _ out: Int, _ inp: Int, _ k: Int = 3) -> [TensorInfo] {
        [t("\(layer).weight", [out, inp, k, 1]), t("\(layer).bias", [out])]
    }

    static func dense(_ layer: String, _ out: Int, _ inp: Int) -> [TensorInfo] {
        [t("\(layer).weight", [out, inp]), t("\(layer).bias", [out])]
    }

    /// Sorted by name, as safetensors writers store them.
    static func sorted(_ ts: [TensorInfo]) -> [TensorInfo] { ts.sorted { $0.name < $1.name } }

    /// The operator node directly before BatchNorm node `bn` (it must follow its operator).
    func owner(_ g: NetworkGraph, _ bn: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        guard let i = g.index(of: bn) else { XCTFail("no node \(bn)", file: file, line: line); return nil }
        guard case .batchNorm = g.nodes[i].kind, let input = g.nodes[i].inputs.first else { return nil }
        return g.nodes[input].name
    }

    /// torchcrepe's layout: conv1…conv6 (conv2–conv4 all 4 → 4 channels) and a classifier that
    /// sorts first. Every BatchNorm naming convention pairs each BatchNorm with its own conv.
    func crepe(_ bnName: (Int) -> String) -> [TensorInfo] {
        let ins = [1, 32, 4, 4, 4, 8], outs = [32, 4, 4, 4, 8, 16]
        var ts: [TensorInfo] = []
        for i in 0..<6 { ts += Self.conv("conv\(i + 1)", outs[i], ins[i]) + Self.bn(bnName(i + 1), outs[i]) }
        ts += Self.dense("classifier", 36, 64)
        return Self.sorted(ts)
    }

    func testEveryBatchNormConventionPairsByName() {
        let conventions: [(String, (Int) -> String)] = [("_BN", { "conv\($0)_BN" }), ("_bn", { "conv\($0)_bn" }),
                                                       (".bn", { "conv\($0).bn" }), (".batchnorm", { "conv\($0).batchnorm" }),
                                                       ("_batchnorm", { "conv\($0)_batchnorm" }), ("bnN", { "bn\($0)" })]
        for (label, name) in conventions {
            let g = NetworkGraph.inferred(from: crepe(name), fileOrderIsModelOrder: false)
            XCTAssertNil(g.structureIssue, label)
            for i in 1...6 { XCTAssertEqual(owner(g, name(i)), "conv\(i)", "\(label): \(name(i))") }
            let pairingGuesses = g.guesses.filter { $0.kind == .pairing }
            // Names that name the operator are read; only `bnN` is a guess.
            XCTAssertEqual(pairingGuesses.count, label == "bnN" ? 6 : 0, label)
            // classifier no longer sorts first: the order is conv1…conv6, flatten, classifier.
            let ops = g.nodes.filter { $0.kind.isOperator }.map(\.name)
            XCTAssertEqual(ops.first, "conv1", label)
            XCTAssertEqual(ops.last, "classifier", label)
            XCTAssertTrue(g.guesses.contains { $0.kind == .order }, "\(label): the order is a guess")
            XCTAssertTrue(g.guesses.contains { $0.kind == .flatten }, "\(label): the flatten is a guess")
        }
    }

    /// `fc1, fc1_bn, fc2, fc2_bn` (16 channels each): the old rule folded fc2_bn into fc1.
    func testSuffixPairingBeatsChannelCounts() {
        let ts = Self.sorted(Self.dense("fc1", 16, 16) + Self.bn("fc1_bn", 16) + Self.dense("fc2", 16, 16) + Self.bn("fc2_bn", 16))
        let g = NetworkGraph.inferred(from: ts, fileOrderIsModelOrder: false)
        XCTAssertNil(g.structureIssue)
        XCTAssertEqual(owner(g, "fc1_bn"), "fc1")
        XCTAssertEqual(owner(g, "fc2_bn"), "fc2")
        XCTAssertFalse(g.guesses.contains { $0.kind == .pairing })
    }

    /// A BatchNorm whose name names no operator, with two operators of its channel count, in a
    /// file whose order is not the model order: more than one reading fits → unavailable.
    func testAmbiguousPairingWithholdsTheBound() {
        let ts = Self.dense("fc2", 16, 16) + Self.bn("norm", 16) + Self.dense("fc1", 16, 8)
        let g = NetworkGraph.inferred(from: ts, fileOrderIsModelOrder: false)
        let issue = try? XCTUnwrap(g.structureIssue)
        XCTAssertTrue(issue?.contains("more than one reading fits the shapes") == true, issue ?? "")
        XCTAssertTrue(issue?.contains("--arch") == true)
        // bnN where "numbered N" and "N-th operator" disagree.
        let ts2 = Self.dense("fc0", 16, 16) + Self.dense("fc1", 16, 16) + Self.bn("bn1", 16) + Self.dense("fc2", 4, 16)
        let g2 = NetworkGraph.inferred(from: ts2)
        XCTAssertTrue(g2.structureIssue?.contains("more than one reading") == true, g2.structureIssue ?? "nil")
    }

    /// Sequential numbering: `net.1` (BatchNorm) follows `net.0`, `net.4` follows `net.3`.
    func testSequentialIndicesPairWithTheModuleBefore() {
        let ts = Self.sorted(Self.dense("net.0", 16, 8) + Self.bn("net.1", 16) + Self.dense("net.3", 16, 16) + Self.bn("net.4", 16)
                             + Self.dense("net.6", 3, 16))
        let g = NetworkGraph.inferred(from: ts.shuffledDeterministically(), fileOrderIsModelOrder: false)
        XCTAssertNil(g.structureIssue)
        XCTAssertEqual(owner(g, "net.1"), "net.0")
        XCTAssertEqual(owner(g, "net.4"), "net.3")
        XCTAssertEqual(g.nodes.filter { $0.kind.isOperator }.map(\.name), ["net.0", "net.3", "net.6"])
    }

    /// Silero-like: the stored order chains, name order does not: the stored order is used and
    /// is not a guess.
    func testStoredOrderThatChainsIsKept() {
        let ts = [Self.t("frontend.weight", [24, 1, 16]), Self.t("encoder.0.weight", [12, 24, 3]),
                  Self.t("encoder.1.weight", [6, 12, 3]), Self.t("decoder.weight", [2, 6, 1])]
        let g = NetworkGraph.inferred(from: ts, fileOrderIsModelOrder: false)
        XCTAssertNil(g.structureIssue)
        XCTAssertEqual(g.nodes.filter { $0.kind.isOperator }.map(\.name), ["frontend", "encoder.0", "encoder.1", "decoder"])
        XCTAssertFalse(g.guesses.contains { $0.kind == .order })
        // The same tensors sorted by name: name order does not chain, the search finds the only order.
        let g2 = NetworkGraph.inferred(from: Self.sorted(ts), fileOrderIsModelOrder: false)
        XCTAssertNil(g2.structureIssue)
        XCTAssertEqual(g2.nodes.filter { $0.kind.isOperator }.map(\.name), ["frontend", "encoder.0", "encoder.1", "decoder"])
        XCTAssertTrue(g2.guesses.contains { $0.kind == .order })
    }

    func testShapesThatChainInNoOrderBreakTheChain() {
        let ts = Self.dense("a", 16, 8) + Self.dense("b", 5, 7)
        let g = NetworkGraph.inferred(from: ts)
        XCTAssertTrue(g.structureIssue?.contains("do not chain") == true, g.structureIssue ?? "nil")
    }

    /// Keyword recognition on whole components: heads and embedders are ordinary layers; the
    /// tool's annotation group is never a weight; attention names still break the chain.
    func testKeywordsMatchWholeComponentsOnly() {
        let ts = Self.dense("embedder", 32, 8) + Self.dense("trunk", 32, 32) + Self.dense("keypoint_head", 16, 32)
            + Self.dense("value_head", 1, 16)
            + [Self.t("spectral_audit/layers/trunk/singular_values", [32]), Self.t("spectral_audit/layers/trunk.weight", [32, 32])]
        let g = NetworkGraph.inferred(from: ts)
        XCTAssertNil(g.structureIssue)
        XCTAssertFalse(g.nodes.contains { $0.name.hasPrefix("spectral_audit") })
        for (name, marker) in [("layers.0.self_attn.q_proj", "self_attn"), ("blocks.0.attention.value", "attention"),
                               ("input_layernorm", "input_layernorm"), ("h.0.ln_1", "ln_1"), ("rnn", "rnn")] {
            XCTAssertEqual(InferredNames.marker(in: name), marker, name)
        }
        for name in ["value_head", "keypoint_head", "embedder", "keystone", "values", "normal_head", "lnx"] {
            XCTAssertNil(InferredNames.marker(in: name), name)
        }
        let attn = NetworkGraph.inferred(from: Self.dense("encoder.query", 8, 8) + Self.dense("encoder.out", 8, 8))
        XCTAssertTrue(attn.structureIssue?.contains("attention") == true, attn.structureIssue ?? "nil")
        XCTAssertFalse(attn.structureIssue?.contains("--arch manifest gives") == true)
    }

    /// PyTorch's 1-D `preluN.weight` is a PReLU in the chain (not "unrecognised").
    func testTorchPReLUIsRecognised() {
        let ts = Self.dense("fc1", 16, 8) + [Self.t("prelu1.weight", [16])] + Self.dense("fc2", 4, 16)
        let g = NetworkGraph.inferred(from: ts)
        XCTAssertNil(g.structureIssue)
        let i = try? XCTUnwrap(g.index(of: "prelu1"))
        guard let i, case .prelu = g.nodes[i].kind else { return XCTFail("prelu1 is not a PReLU node") }
        XCTAssertEqual(g.nodes[g.nodes[i].inputs[0]].name, "fc1")
        XCTAssertNil(g.nodes[g.index(of: "fc1")!].activation, "no relu assumed where a PReLU is stored")
    }

    /// PyTorch LSTM/GRU weights: a recurrent node that chains (issue 19: it enters the bound
    /// through its horizon bound) with per-step fan-in 8 and fan-out 16.
    func testRecurrentWeightsAreARecurrentLayer() {
        let ts = [Self.t("lstm.weight_ih_l0", [64, 8]), Self.t("lstm.weight_hh_l0", [64, 16]), Self.t("lstm.bias_ih_l0", [64]),
                  Self.t("lstm.bias_hh_l0", [64])] + Self.dense("fc", 4, 16)
        let g = NetworkGraph.inferred(from: ts)
        guard let i = g.index(of: "lstm"), case .unsupported(let cls, let refs) = g.nodes[i].kind else { return XCTFail("no lstm node") }
        XCTAssertEqual(cls, "LSTM")
        XCTAssertEqual(refs.count, 4)
        XCTAssertNil(g.structureIssue)
        XCTAssertEqual(g.nodes[g.index(of: "fc")!].inputs, [i])
        XCTAssertNil(g.nodes[i].activation, "no activation is assumed after an LSTM")
        XCTAssertEqual(g.inputShape, [8])
    }

    /// A plain RNN (one gate) chains like an LSTM/GRU (issue 19: it has a horizon bound too).
    func testPlainRNNChains() {
        let ts = [Self.t("rnn.weight_ih_l0", [16, 8]), Self.t("rnn.weight_hh_l0", [16, 16])] + Self.dense("fc", 4, 16)
        let g = NetworkGraph.inferred(from: ts)
        XCTAssertNil(g.structureIssue)
        guard let i = g.index(of: "rnn"), case .unsupported(let cls, _) = g.nodes[i].kind else { return XCTFail("no rnn node") }
        XCTAssertEqual(cls, "RNN")
        XCTAssertEqual(g.nodes[g.index(of: "fc")!].inputs, [i])
        XCTAssertEqual(g.inputShape, [8])
    }

    /// `nn.GRUCell` state dicts (`weight_ih`, no `_l0`, under a nested prefix) chain as the
    /// module form; a lone `weight_ih` without a Cell `weight_hh` beside it is not a recurrent cell.
    func testCellStateDictChains() {
        let ts = [Self.t("enc.cell.weight_ih", [48, 8]), Self.t("enc.cell.weight_hh", [48, 16]),
                  Self.t("enc.cell.bias_ih", [48]), Self.t("enc.cell.bias_hh", [48])] + Self.dense("fc", 4, 16)
        let g = NetworkGraph.inferred(from: ts)
        XCTAssertNil(g.structureIssue)
        guard let i = g.index(of: "enc.cell"), case .unsupported(let cls, let refs) = g.nodes[i].kind else { return XCTFail("no cell node") }
        XCTAssertEqual(cls, "GRU")
        XCTAssertEqual(refs.count, 4)
        XCTAssertEqual(g.nodes[g.index(of: "fc")!].inputs, [i])
        let lone = NetworkGraph.inferred(from: [Self.t("proj.weight_ih", [4, 8])] + Self.dense("fc", 3, 4))
        if let j = lone.index(of: "proj"), case .unsupported(let c, _) = lone.nodes[j].kind {
            XCTAssertFalse(["RNN", "LSTM", "GRU"].contains(c), "a lone weight_ih became \(c)")
        }
    }

    /// `proj_size`: weight_hh [4h, p], weight_hr [p, h] is an LSTM whose per-step output is p wide.
    func testProjectedLSTMIsAnLSTM() {
        let ts = [Self.t("lstm.weight_ih_l0", [32, 5]), Self.t("lstm.weight_hh_l0", [32, 4]), Self.t("lstm.weight_hr_l0", [4, 8])]
            + Self.dense("fc", 3, 4)
        let g = NetworkGraph.inferred(from: ts)
        guard let i = g.index(of: "lstm"), case .unsupported(let cls, _) = g.nodes[i].kind else { return XCTFail("no lstm node") }
        XCTAssertEqual(cls, "LSTM")
        XCTAssertNil(g.structureIssue)
        XCTAssertEqual(RecurrentGateLayout.pytorch(shape: [32, 4], hiddenShape: [32, 4], projectionShape: [4, 8])?.labels, ["i", "f", "g", "o"])
    }

    func testGateLayoutsOfBothFrameworks() throws {
        let torch = try XCTUnwrap(RecurrentGateLayout.pytorch(shape: [64, 8], hiddenShape: [64, 16]))
        XCTAssertEqual(torch.labels, ["i", "f", "g", "o"])
        XCTAssertEqual(RecurrentGateLayout.pytorch(shape: [36, 16], hiddenShape: [36, 12])?.labels, ["r", "z", "n"])
        XCTAssertNil(RecurrentGateLayout.pytorch(shape: [16, 8], hiddenShape: [16, 16]), "plain RNN: one gate")
        XCTAssertEqual(RecurrentGateLayout.keras(className: "LSTM", shape: [8, 64], recurrentShape: [16, 64])?.labels, ["i", "f", "c", "o"])
        XCTAssertEqual(RecurrentGateLayout.keras(className: "GRU", shape: [16, 36], recurrentShape: [12, 36])?.labels, ["z", "r", "h"])
        // Keras gate k is columns k·u…(k+1)·u of [in, G·u], transposed to [u, in].
        let values = (0..<(2 * 6)).map(Double.init) // [in = 2, 3u = 6], u = 2
        let gru = try XCTUnwrap(RecurrentGateLayout.keras(className: "GRU", shape: [2, 6], recurrentShape: [2, 6]))
        let gates = gru.split(values: values, shape: [2, 6])
        XCTAssertEqual(gates[1].label, "r")
        XCTAssertEqual(gates[1].matrix.storage, [2, 8, 3, 9]) // rows: units 2, 3; cols: inputs 0, 1
        // PyTorch gate k is rows k·h…(k+1)·h as stored.
        let t = try XCTUnwrap(RecurrentGateLayout.pytorch(shape: [6, 2], hiddenShape: [6, 2]))
        XCTAssertEqual(t.split(values: values, shape: [6, 2])[2].matrix.storage, [8, 9, 10, 11])
    }
}

extension Array {
    /// A fixed permutation (reverse interleave), for tests that need a non-sorted file order.
    func shuffledDeterministically() -> [Element] {
        var out: [Element] = []
        var i = 0, j = count - 1
        while i <= j {
            out.append(self[j])
            if i != j { out.append(self[i]) }
            i += 1
            j -= 1
        }
        return out
    }
}
