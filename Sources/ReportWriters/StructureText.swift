import AuditReport

/// What every renderer shows of issue 16's additions, worded once: the folded view of an
/// operator (a labelled sub-row: the layer's own row is the tensor as stored), the marker of
/// layers whose structure was guessed, and the network's structure line and guesses.
enum StructureText {
    /// Marker after a layer name whose structure around it was guessed.
    static let guessMarker = " †"
    static let guessLegend = "† structure around this layer guessed, not read from the file (see Structure)"

    /// Name cell of the folded sub-row.
    static func foldedName(_ f: FoldedViewV1) -> String { "└ folded '\(f.batchNorm)'" }
    static let foldedKind = "diag(s)·A"
    static let foldedStatus = "folded view: used in the bound"
    /// Status suffix of a layer row that has a folded view.
    static let rawStatusSuffix = " (tensor as stored)"

    static func layerName(_ l: LayerReport) -> String { l.name + (l.guessed == nil ? "" : guessMarker) }

    /// `declared (keras_config)` or `inferred from tensor names: 3 guesses`.
    static func networkLine(_ r: AuditReportV1) -> String? {
        guard let s = r.network.structure else { return nil }
        if s.declared { return "declared (\(s.source))" + (s.guesses.isEmpty ? "" : ", \(count(s.guesses.count)) guessed") }
        var text = "inferred from tensor names and shapes"
        text += s.guesses.isEmpty ? ", nothing guessed beyond that" : ": \(count(s.guesses.count)) guessed (see Structure)"
        return text
    }

    /// `[pairing] bn1: BatchNorm 'bn1' paired with …`, one per guess.
    static func guessLines(_ r: AuditReportV1) -> [String] {
        (r.network.structure?.guesses ?? []).map { g in "[\(g.kind)] " + (g.layer.map { "\($0): " } ?? "") + g.detail }
    }

    static func count(_ n: Int) -> String { n == 1 ? "1 thing" : "\(n) things" }
}
