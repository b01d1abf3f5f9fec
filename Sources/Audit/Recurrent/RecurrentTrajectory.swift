import AuditReport
import SpectralModel
import WeightFiles

/// Data mode (issue 19): for every `RecurrentOp` of a compiled model, the one-step state maps
/// along each probe's trajectory (`RecurrentOp.stateJacobianNorms`), summarised per probe (max,
/// mean, geometric mean: the measured contraction rate) and set beside the weights-only horizon
/// bound's growth per step and spectral radius at the probes' length T.
enum RecurrentTrajectory {
    /// `context`: the probes' forward tapes the other phases use (the op's inputs are read from
    /// them); `graph`: the graph as the weights-only audit has it (recurrent nodes unsupported), for
    /// the horizon bounds.
    static func measure(context: DataAuditContext, graph: NetworkGraph, store: any TensorStore) throws -> [RecurrentTrajectoryV1] {
        let model = context.model
        let recurrent = model.ops.enumerated().filter { $0.element.op is RecurrentOp }
        guard !recurrent.isEmpty else { return [] }
        var out: [RecurrentTrajectoryV1] = []
        var bounds: [String: RecurrentBoundV1]? = nil
        var usedPerLayer: [String: Int] = [:]
        for (_, compiled) in recurrent {
            let op = compiled.op as! RecurrentOp
            let size = op.steps * op.spec.features
            let theta = Array(model.parameters[compiled.paramOffset..<(compiled.paramOffset + compiled.paramCount)])
            var perDirection = [[RecurrentTrajectoryV1.Probe]](repeating: [], count: op.spec.directions)
            for (tape, (a, b)) in zip(context.tapes, context.chunks) {
                let input = tape.values(of: compiled.inputs[0])
                for s in 0..<(b - a) {
                    let norms = try op.stateJacobianNorms(sample: Array(input[(s * size)..<((s + 1) * size)]), theta: theta)
                    for d in 0..<norms.count { perDirection[d].append(.init(perStep: norms[d])) }
                }
            }
            if bounds == nil {
                let b = RecurrentBounds.compute(graph: graph, store: store, horizon: op.steps)
                bounds = Dictionary(b.values.map { ($0.report.layer, $0.report) }, uniquingKeysWith: { a, _ in a })
            }
            let node = op.name.split(separator: "/").dropLast(op.name.contains("/l") ? 1 : 0).joined(separator: "/")
            let bound = bounds?[node] ?? bounds?[op.name]
            for d in 0..<op.spec.directions {
                let index = usedPerLayer[node, default: 0]
                usedPerLayer[node] = index + 1
                let dir = bound.flatMap { index < $0.directions.count ? $0.directions[index] : nil }
                let map = op.spec.cell == .lstm ? "(h_{t-1}, c_{t-1}) -> (h_t, c_t)" : "h_{t-1} -> h_t"
                var t = RecurrentTrajectoryV1(layer: op.name, direction: dir?.name ?? (d == 0 ? "forward" : "reverse"),
                                              cell: op.spec.cell.rawValue, stateMap: map, steps: op.steps, perProbe: perDirection[d])
                t.boundGrowthPerStep = dir?.growthPerStep
                t.boundSpectralRadius = dir?.spectralRadius
                out.append(t)
            }
        }
        return out
    }
}
