import Foundation

/// Report types of issue 19 (LSTM/GRU horizon bounds), kept apart from the core contract so
/// their additions merge cleanly. Every number here holds for input sequences of length at most
/// `horizon` (spectral-audit-metrics(7), RECURRENT NETWORKS).

/// One direction of one stacked layer of a recurrent layer.
public struct RecurrentDirectionV1: Codable, Sendable, Equatable {
    /// `l0`, `l0_reverse`, … (PyTorch modules), `forward`/`reverse` (ONNX), `cell` (Keras, PyTorch Cell modules).
    public var name: String
    /// `lstm` or `gru`.
    public var cell: String
    /// Bound on the map input sequence → all per-step hidden states (h_1 … h_T).
    public var log10BoundSequence: Double
    /// Bound on the map input sequence → final hidden state h_T.
    public var log10BoundFinalState: Double
    /// Spectral radius of the bounding state recursion at step T (< 1: provably contractive).
    public var spectralRadius: Double
    public var contractive: Bool
    /// `L_seq(T) / L_seq(T − 1)`; absent for T = 1.
    public var growthPerStep: Double?

    public init(name: String, cell: String, log10BoundSequence: Double, log10BoundFinalState: Double,
                spectralRadius: Double, contractive: Bool, growthPerStep: Double?) {
        self.name = name
        self.cell = cell
        self.log10BoundSequence = log10BoundSequence
        self.log10BoundFinalState = log10BoundFinalState
        self.spectralRadius = spectralRadius
        self.contractive = contractive
        self.growthPerStep = growthPerStep
    }

    enum CodingKeys: String, CodingKey {
        case name, cell, log10BoundSequence = "log10_bound_sequence", log10BoundFinalState = "log10_bound_final_state"
        case spectralRadius = "spectral_radius", contractive, growthPerStep = "growth_per_step"
    }

    /// A zero bound (all weights zero) has log10 −∞: written as null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        try c.encode(cell, forKey: .cell)
        try c.encode(log10BoundSequence.isFinite ? log10BoundSequence : nil, forKey: .log10BoundSequence)
        try c.encode(log10BoundFinalState.isFinite ? log10BoundFinalState : nil, forKey: .log10BoundFinalState)
        try c.encode(spectralRadius, forKey: .spectralRadius)
        try c.encode(contractive, forKey: .contractive)
        try c.encodeIfPresent(growthPerStep.flatMap { $0.isFinite ? $0 : nil }, forKey: .growthPerStep)
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        cell = try c.decode(String.self, forKey: .cell)
        log10BoundSequence = try c.decodeIfPresent(Double.self, forKey: .log10BoundSequence) ?? -.infinity
        log10BoundFinalState = try c.decodeIfPresent(Double.self, forKey: .log10BoundFinalState) ?? -.infinity
        spectralRadius = try c.decode(Double.self, forKey: .spectralRadius)
        contractive = try c.decode(Bool.self, forKey: .contractive)
        growthPerStep = try c.decodeIfPresent(Double.self, forKey: .growthPerStep)
    }
}

/// The horizon bound of one recurrent layer of the graph (a factor of the network bound).
public struct RecurrentBoundV1: Codable, Sendable, Equatable {
    public var layer: String
    /// The sequence length T the bound holds for (`--horizon`).
    public var horizon: Int
    /// What the layer outputs, as the bound composes it: `sequence` (every step's output) or
    /// `final_state` (Keras `return_sequences=False`).
    public var output: String
    /// The layer's factor (null when unavailable or beyond Float64; see `log10_lipschitz_bound`).
    public var lipschitzBound: Double?
    public var log10LipschitzBound: Double?
    public var directions: [RecurrentDirectionV1]
    /// Why there is no bound, when there is none.
    public var reason: String?

    public init(layer: String, horizon: Int, output: String, lipschitzBound: Double? = nil, log10LipschitzBound: Double? = nil,
                directions: [RecurrentDirectionV1] = [], reason: String? = nil) {
        self.layer = layer
        self.horizon = horizon
        self.output = output
        self.lipschitzBound = lipschitzBound
        self.log10LipschitzBound = log10LipschitzBound
        self.directions = directions
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case layer, horizon, output, lipschitzBound = "lipschitz_bound", log10LipschitzBound = "log10_lipschitz_bound"
        case directions, reason
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(layer, forKey: .layer)
        try c.encode(horizon, forKey: .horizon)
        try c.encode(output, forKey: .output)
        try c.encode(lipschitzBound.flatMap { $0.isFinite ? $0 : nil }, forKey: .lipschitzBound)
        try c.encode(log10LipschitzBound.flatMap { $0.isFinite ? $0 : nil }, forKey: .log10LipschitzBound)
        try c.encode(directions, forKey: .directions)
        try c.encode(reason, forKey: .reason)
    }
}

/// Data mode (issue 19): the state map one step of a recurrent direction applies, measured along
/// the probes' trajectories — σ_max of `∂h_t/∂h_{t−1}` (GRU, RNN) or of the (h, c) map
/// `∂(h_t, c_t)/∂(h_{t−1}, c_{t−1})` (LSTM) for t = 1 … T in the direction's processing order —
/// beside the weights-only growth rate of the horizon bound at the probes' length T.
public struct RecurrentTrajectoryV1: Codable, Sendable, Equatable {
    /// The engine's layer (`lstm`, `lstm/l1` for stacked layer 1).
    public var layer: String
    /// As in `network.recurrent[].directions[].name` (`l0`, `l0_reverse`, `cell`, `forward`, …).
    public var direction: String
    public var cell: String
    /// `h_{t-1} -> h_t` or `(h_{t-1}, c_{t-1}) -> (h_t, c_t)`.
    public var stateMap: String
    public var steps: Int
    /// Per probe: the per-step σ_max and their max, mean and geometric mean (the measured
    /// contraction rate per step).
    public var perProbe: [Probe]
    /// Over the probes: the largest per-step σ_max and the largest geometric mean.
    public var max: Double
    public var geometricMeanMax: Double
    /// The weights-only horizon bound's growth per step at T = `steps` and its state recursion's
    /// spectral radius (absent when the layer has no horizon bound).
    public var boundGrowthPerStep: Double?
    public var boundSpectralRadius: Double?

    public struct Probe: Codable, Sendable, Equatable {
        public var perStep: [Double]
        public var max: Double
        public var mean: Double
        public var geometricMean: Double
        public init(perStep: [Double]) {
            self.perStep = perStep
            max = perStep.max() ?? 0
            mean = perStep.isEmpty ? 0 : perStep.reduce(0, +) / Double(perStep.count)
            geometricMean = perStep.isEmpty || perStep.contains(0) ? 0 : Foundation.exp(perStep.map { Foundation.log($0) }.reduce(0, +) / Double(perStep.count))
        }
        enum CodingKeys: String, CodingKey { case perStep = "per_step", max, mean, geometricMean = "geometric_mean" }
    }

    public init(layer: String, direction: String, cell: String, stateMap: String, steps: Int, perProbe: [Probe]) {
        self.layer = layer
        self.direction = direction
        self.cell = cell
        self.stateMap = stateMap
        self.steps = steps
        self.perProbe = perProbe
        max = perProbe.map(\.max).max() ?? 0
        geometricMeanMax = perProbe.map(\.geometricMean).max() ?? 0
    }

    enum CodingKeys: String, CodingKey {
        case layer, direction, cell, stateMap = "state_map", steps, perProbe = "per_probe", max
        case geometricMeanMax = "geometric_mean_max", boundGrowthPerStep = "bound_growth_per_step"
        case boundSpectralRadius = "bound_spectral_radius"
    }
}
