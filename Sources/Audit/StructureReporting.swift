import AuditReport
import SpectralModel

/// `--require-structure`: what a CI gate demands of the network structure.
public enum StructureRequirement: String, Sendable, CaseIterable {
    /// The structure must be stated (Keras config, `--arch` manifest, a graph format), not
    /// inferred from tensor names. Check id `structure.declared`.
    case declared
}

/// The structure's provenance in the report (issue 16): per-layer `guessed`, the network's
/// `structure` object, and the `structure.declared` check.
enum StructureReporting {
    static func report(graph: NetworkGraph) -> StructureReportV1 {
        StructureReportV1(source: graph.source, declared: graph.isDeclared,
                          guesses: graph.guesses.map { StructureGuessV1(kind: $0.kind.rawValue, layer: $0.layer, detail: $0.detail) },
                          issue: graph.structureIssue)
    }

    /// Writes each guess into the row of the layer it concerns.
    static func annotate(_ layers: inout [LayerReport], graph: NetworkGraph) {
        guard !graph.guesses.isEmpty else { return }
        for i in layers.indices {
            let mine = graph.guesses(for: layers[i].name).map(\.detail)
            if !mine.isEmpty { layers[i].guessed = mine }
        }
    }

    /// `structure.declared`: fails when the structure was inferred.
    static func checks(report: AuditReportV1, requirement: StructureRequirement?) -> [Check] {
        guard requirement == .declared else { return [] }
        let s = report.network.structure
        let declared = s?.declared ?? (report.input.architectureSource != "inferred")
        let guesses = s?.guesses.count ?? 0
        let message = declared
            ? "structure declared (\(report.input.architectureSource))"
            : "structure inferred from tensor names (\(guesses) guess\(guesses == 1 ? "" : "es")), but --require-structure declared: "
                + "state it with an --arch manifest (spectral-audit-formats(5)), or audit a file that carries its architecture (Keras .h5/.keras)"
        return [Check(id: "structure.declared", layer: nil, metric: "structure", value: nil, limit: nil, comparison: "declared",
                      passed: declared, message: message)]
    }
}
