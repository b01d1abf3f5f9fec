import AuditReport

/// One self-contained HTML file (`--html`): inline CSS, inline SVG charts, no scripts, no network,
/// no external fonts. Sections: verdict banner, summary cards, checks, layers, σ_max bars (log
/// scale beyond a 100× range), normalized-entropy bars, layer shares of the Lipschitz bound,
/// network bounds, GMSI, data measurements, assumptions, and a log–log singular-value plot per
/// analysed layer. All report text is escaped; the output is also well-formed XML.
public enum HTMLRenderer {
    public static func render(_ report: AuditReportV1) -> String {
        let e = Escape.html
        let f = { (x: Double?) in ReportNumber.format(x) }
        let failed = report.verdict == .fail
        var h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n"
        h += "<title>spectral-audit: \(failed ? "FAIL" : "PASS") · \(e(report.input.path))</title>\n"
        h += "<style>\n\(css)</style>\n</head>\n<body>\n<main>\n"

        // Banner.
        h += "<header class=\"banner \(failed ? "fail" : "pass")\">"
        h += "<div class=\"verdict\">\(failed ? "✗ FAIL" : "✓ PASS")</div>"
        h += "<div class=\"summary\">\(e(CheckText.verdictSummary(report)))</div>"
        h += "<div class=\"file\">\(e(report.input.path))</div></header>\n"

        // Input and settings.
        var meta: [(String, String)] = [
            ("format", "\(report.input.format), \(report.input.bytes) bytes"),
            ("sha256", report.input.sha256),
            ("architecture", report.input.architectureSource),
            ("SVD", report.settings.svd),
        ]
        if let t = report.settings.threshold { meta.append(("threshold", ReportNumber.short(t))) }
        if let p = report.settings.policy { meta.append(("policy", p)) }
        if let b = report.settings.baseline { meta.append(("baseline", b)) }
        if let shape = report.settings.inputShape { meta.append(("input shape", ReportText.shape(shape))) }
        if let t = report.settings.dataThreshold { meta.append(("data threshold", ReportNumber.short(t))) }
        meta.append(("seed", String(report.settings.seed)))
        if let shard = report.shard { meta.append(("shard", "\(shard.index) of \(shard.count) (partial audit)")) }
        if let created = report.created { meta.append(("created", created)) }
        h += "<dl class=\"meta\">" + meta.map { "<div><dt>\(e($0.0))</dt><dd>\(e($0.1))</dd></div>" }.joined() + "</dl>\n"

        // Cards.
        let n = report.network
        let analysed = report.analysedLayers
        var cards: [(String, String, String)] = []
        if let l = n.lipschitzBound {
            cards.append(("Lipschitz bound L", f(l), "log10 L = \(f(n.log10LipschitzBound))" + (n.horizon.map { ", horizon T = \($0)" } ?? "")))
        } else if let lg = n.log10LipschitzBound {
            cards.append(("Lipschitz bound L", "10^\(f(lg))", "beyond Float64" + (n.horizon.map { ", horizon T = \($0)" } ?? "")))
        } else {
            cards.append(("Lipschitz bound L", "—", n.reason ?? "unavailable"))
        }
        cards.append(("typical bound T", f(n.typicalBound), "stable-rank form \(f(n.typicalBoundStableRank))"))
        cards.append(("GMSI", f(report.gmsi), (report.gmsiMode == "weights" ? "weights-only bound" : "mode \(report.gmsiMode)") + (report.gmsi == nil ? ": \(report.gmsiReason ?? "unavailable")" : "")))
        if report.data != nil {
            cards.append(("data GMSI", f(report.dataGmsi), report.dataGmsi == nil ? (report.dataGmsiReason ?? "unavailable") : "measured on probe inputs"))
        }
        cards.append(("layers analysed", "\(analysed.count) of \(report.layers.count)", layerStatusSummary(report)))
        if let ratio = report.data?.boundRatio {
            cards.append(("bound looseness", "\(ReportNumber.ratio(ratio))×", "L / g_J on probe inputs"))
        }
        h += "<section class=\"cards\">" + cards.map {
            "<div class=\"card\"><div class=\"card-title\">\(e($0.0))</div><div class=\"card-value\">\(e($0.1))</div><div class=\"card-note\">\(e($0.2))</div></div>"
        }.joined() + "</section>\n"

        // Checks.
        h += "<section>\n<h2>Checks</h2>\n"
        if report.checks.isEmpty {
            h += "<p class=\"muted\">No checks configured (pass --threshold or --policy).</p>\n"
        } else {
            h += "<table>\n<thead><tr><th></th><th>check</th><th>scope</th><th>metric</th><th class=\"num\">value</th><th>limit</th><th>message</th></tr></thead>\n<tbody>\n"
            for c in CheckText.failedFirst(report.checks) {
                let value = c.comparison == "finite" ? (c.passed ? "finite" : "not finite") : ReportNumber.short(c.value)
                h += "<tr class=\"\(c.passed ? "ok" : "failed")\"><td class=\"mark\">\(c.passed ? "✓" : "✗")</td>"
                h += "<td><code>\(e(c.id))</code></td><td>\(e(CheckText.scope(c)))</td><td>\(e(CheckText.quantity(c)))</td>"
                h += "<td class=\"num\">\(e(value))</td><td class=\"nowrap\">\(e(CheckText.limit(c)))</td><td>\(e(c.message))</td></tr>\n"
            }
            h += "</tbody>\n</table>\n"
        }
        h += "</section>\n"

        // Layers.
        h += "<section>\n<h2>Layers</h2>\n<table class=\"layers\">\n<thead><tr><th>layer</th><th>kind</th><th>shape [out,in]</th>"
        h += "<th class=\"num\">σ_max</th><th class=\"num\">H (nats)</th><th class=\"num\">eff. rank</th>"
        let heavy = report.settings.heavyTail
        h += "<th class=\"num\">stable rank</th><th class=\"num\">condition</th><th class=\"num\">op. norm</th>"
        if heavy { h += "<th class=\"num\">ww_alpha</th><th class=\"num\">ww_alpha_weighted</th>" }
        h += "<th>status</th></tr></thead>\n<tbody>\n"
        for l in report.layers {
            let m = l.metrics
            let failedHere = report.failedCheckIDs(forLayer: l.name)
            let rowClass: String
            let status: String
            switch l.status {
            case .analyzed:
                rowClass = failedHere.isEmpty ? "" : "failed"
                status = (failedHere.isEmpty ? "ok" : "✗ " + failedHere.joined(separator: ", ")) + (l.folded == nil ? "" : StructureText.rawStatusSuffix)
            case .nonFinite:
                rowClass = "failed"
                status = "non_finite" + (l.reason.map { ": " + $0 } ?? "")
            case .unsupported, .skipped:
                // Skipped by design (folded BatchNorm, activations, pooling, flatten): muted.
                rowClass = l.isExpectedSkip ? "skipped" : "warn"
                status = l.status.rawValue + (l.reason.map { ": " + $0 } ?? "")
            }
            var opNorm = ""
            if let on = l.operatorNorm {
                opNorm = (l.operatorNormMethod == "upper_bound" ? "≤ " : "") + f(on)
            }
            h += "<tr class=\"\(rowClass)\"><td class=\"name\">\(e(StructureText.layerName(l)))</td>"
            h += "<td class=\"kind\">\(e(l.kind))</td><td class=\"nowrap\">\(e(ReportText.shape(l.shape)))</td>"
            for v in [m?.spectralNorm, m?.spectralEntropy, m?.effectiveRank, m?.stableRank, m?.condition] {
                h += "<td class=\"num\">\(m == nil ? "" : e(f(v)))</td>"
            }
            h += "<td class=\"num\">\(e(opNorm))</td>"
            if heavy {
                for v in [l.heavyTail?.wwAlpha, l.heavyTail?.wwAlphaWeighted] {
                    h += "<td class=\"num\">\(l.heavyTail == nil ? "" : e(f(v)))</td>"
                }
            }
            h += "<td class=\"status\">\(e(status))</td></tr>\n"
            if let fv = l.folded {
                let fm = fv.metrics
                h += "<tr class=\"folded\"><td class=\"name\">\(e(StructureText.foldedName(fv)))</td><td class=\"kind\">\(e(StructureText.foldedKind))</td>"
                h += "<td class=\"nowrap\">\(e(ReportText.shape(fv.shape)))</td>"
                for v in [fm?.spectralNorm, fm?.spectralEntropy, fm?.effectiveRank, fm?.stableRank, fm?.condition] {
                    h += "<td class=\"num\">\(fm == nil ? "" : e(f(v)))</td>"
                }
                let fop = fv.operatorNorm.map { (fv.operatorNormMethod == "upper_bound" ? "≤ " : "") + f($0) } ?? ""
                h += "<td class=\"num\">\(e(fop))</td>"
                if heavy { h += "<td></td><td></td>" }
                h += "<td class=\"status\">\(e(StructureText.foldedStatus))</td></tr>\n"
            }
        }
        h += "</tbody>\n</table>\n"
        if report.layers.contains(where: { $0.guessed != nil }) { h += "<p class=\"muted\">\(e(StructureText.guessLegend))</p>\n" }
        h += "</section>\n"

        // Charts.
        let flagged = Set(report.checks.filter { !$0.passed }.compactMap(\.layer))
        let sigmaBars = analysed.map {
            SVGChart.Bar(label: $0.layer.name, value: $0.metrics.spectralNorm, flagged: flagged.contains($0.layer.name))
        }
        h += "<section>\n<h2>Largest singular value σ_max per layer</h2>\n"
        h += SVGChart.horizontalBars(sigmaBars, title: "σ_max per analysed layer", axisLabel: "σ_max",
                                     scale: .auto(logAbove: 100), reference: (1, "1"))
        h += "\n<p class=\"muted\">Red: a failed check names the layer. The dashed line marks gain 1.</p>\n</section>\n"

        let entropyBars = analysed.map {
            SVGChart.Bar(label: $0.layer.name, value: $0.metrics.normalizedEntropy, flagged: flagged.contains($0.layer.name))
        }
        h += "<section>\n<h2>Normalized spectral entropy H / ln r</h2>\n"
        h += SVGChart.horizontalBars(entropyBars, title: "normalized spectral entropy per analysed layer",
                                     axisLabel: "H / ln r (0: one direction, 1: flat spectrum)", scale: .fixed(0, 1))
        h += "\n</section>\n"

        h += "<section>\n<h2>Layer shares of the Lipschitz bound</h2>\n"
        let shares = report.layers.compactMap { l -> SVGChart.Bar? in
            guard let s = l.layerShare, s.isFinite else { return nil }
            return SVGChart.Bar(label: l.name, value: s, flagged: false, valueText: ReportNumber.percent(s))
        }
        if shares.isEmpty {
            h += "<p class=\"muted\">No layer shares: \(e(n.reason ?? "the bound is unavailable or L ≤ 1")).</p>\n"
        } else {
            h += SVGChart.horizontalBars(shares, title: "share ln σ_1 / ln L of each layer", axisLabel: "ln σ_1 / ln L",
                                         scale: .auto(logAbove: .infinity))
            h += "\n<p class=\"muted\">share = ln σ_1 / ln L: how much of log L each operator contributes (negative when σ_1 &lt; 1).</p>\n"
        }
        h += "</section>\n"

        // Network and GMSI.
        h += "<section>\n<h2>Network bounds (weights only)</h2>\n<table class=\"kv\">\n<tbody>\n"
        var rows: [(String, String)] = []
        if let l = n.lipschitzBound {
            rows.append(("Lipschitz bound L", "\(f(l)) (log10 L = \(f(n.log10LipschitzBound)))"))
        } else if let lg = n.log10LipschitzBound {
            rows.append(("Lipschitz bound L", "beyond Float64, log10 L = \(f(lg))"))
        } else {
            rows.append(("Lipschitz bound L", "unavailable" + (n.reason.map { ": " + $0 } ?? "")))
        }
        rows.append(("typical bound T (e^H form)", f(n.typicalBound)))
        rows.append(("typical bound T (stable-rank form)", f(n.typicalBoundStableRank)))
        rows.append(("input dimension d", n.inputDimension.map(String.init) ?? "—"))
        if !n.chain.isEmpty {
            rows.append(("chain", n.chain.map { "\($0.layer) \($0.kind) \(f($0.value))" }.joined(separator: " × ")))
        }
        if n.lipschitzBound != nil, let reason = n.reason { rows.append(("note", reason)) }
        if let t = report.transformer { rows.append(("domain", TransformerSection.domainLabel(t))) }
        // Issue 19: the horizon of a bound through LSTM/GRU layers, and each layer's bound.
        if let h = n.horizon { rows.append(("domain", "horizon T = \(h) time steps (--horizon), zero initial states")) }
        for rec in n.recurrent ?? [] { rows.append(("recurrent", RecurrentText.line(rec))) }
        if let line = StructureText.networkLine(report) { rows.append(("structure", line)) }
        h += rows.map { "<tr><th>\(e($0.0))</th><td>\(e($0.1))</td></tr>" }.joined(separator: "\n")
        h += "\n</tbody>\n</table>\n"
        let guesses = StructureText.guessLines(report)
        if !guesses.isEmpty {
            h += "<h3>Structure (guessed, not read from the file)</h3>\n<ul class=\"assumptions\">\n"
            h += guesses.map { "<li>\(e($0))</li>" }.joined(separator: "\n")
            h += "\n</ul>\n"
        }
        h += "</section>\n"
        if let t = report.transformer { h += TransformerSection.html(t) }

        h += "<section>\n<h2>GMSI</h2>\n<table class=\"kv\">\n<tbody>\n"
        h += "<tr><th>GMSI (\(e(report.gmsiMode == "weights" ? "weights-only Lipschitz bound, judged by --threshold" : report.gmsiMode)))</th><td>\(e(report.gmsi == nil ? "unavailable" + (report.gmsiReason.map { ": " + $0 } ?? "") : f(report.gmsi)))</td></tr>\n"
        for c in report.sortedGMSIComponents { h += "<tr><th>\(e(c.name))</th><td>\(e(f(c.value)))</td></tr>\n" }
        if report.data != nil || report.dataGmsiComponents != nil {
            let agg = report.dataGmsiAggregate ?? "max"
            h += "<tr><th>data GMSI (\(e(agg)) of the components measured on probe inputs, judged by --data-threshold)</th><td>\(e(report.dataGmsi == nil ? "unavailable" + (report.dataGmsiReason.map { ": " + $0 } ?? "") : f(report.dataGmsi)))</td></tr>\n"
            for c in report.sortedDataGMSIComponents { h += "<tr><th>\(e(c.name))</th><td>\(e(f(c.value)))</td></tr>\n" }
        }
        h += "</tbody>\n</table>\n</section>\n"

        if let d = report.data {
            h += "<section>\n<h2>Data (\(ReportText.count(d.probeCount, "probe")))</h2>\n<table class=\"kv\">\n<tbody>\n"
            var dr: [(String, String)] = [("probes", d.probePath)]
            if let lp = d.labelsPath { dr.append(("labels", lp)) }
            if let loss = d.loss { dr.append(("loss", loss)) }
            dr.append(("g_J = max ‖J_f(x)‖₂", "\(f(d.gJ)) (mean \(f(d.gJMean)), p95 \(f(d.gJP95)))"))
            dr.append(("g_θ = max ‖∇_θ f(x)‖₂", f(d.gTheta)))
            dr.append(("g_K = λ_max(K/N)", "\(f(d.gK)) (λ_min \(f(d.ntkLambdaMin)), condition \(f(d.ntkCondition)))"))
            dr.append(("g_H", d.gH.map { "\(f($0)) (λ ∈ [\(f(d.hessianLambdaMin)), \(f(d.hessianLambdaMax))])" } ?? (d.gHReason ?? "unavailable")))
            if let gn = d.gaussNewtonLambdaMax { dr.append(("Gauss–Newton λ_max", f(gn))) }
            if d.attributionInstabilityMean != nil {
                dr.append(("attribution instability", "mean \(f(d.attributionInstabilityMean)), max \(f(d.attributionInstabilityMax)), ε = \(f(d.attributionEpsilon))"))
            }
            if let ratio = d.boundRatio {
                dr.append(("bound looseness", "the bound is \(ReportNumber.ratio(ratio))× loose (L / g_J = \(f(ratio)))"))
            }
            for t in d.recurrentTrajectory ?? [] { dr.append(("recurrent state map", RecurrentText.trajectoryLine(t))) }
            dr.append(("seed", String(d.seed)))
            h += dr.map { "<tr><th>\(e($0.0))</th><td>\(e($0.1))</td></tr>" }.joined(separator: "\n")
            h += "\n</tbody>\n</table>\n</section>\n"
        }

        if let d = report.delta {
            h += "<section class=\"delta\">\n<h2>\(e(DeltaRendering.title(d)))</h2>\n<ul>\n"
            h += DeltaRendering.summary(d).map { "<li>\(e($0))</li>" }.joined(separator: "\n")
            h += "\n</ul>\n"
            let rows = DeltaRendering.rows(d)
            if !rows.isEmpty {
                h += "<table>\n<thead><tr>" + DeltaRendering.header.enumerated().map { i, t in
                    "<th\((3...10).contains(i) ? " class=\"num\"" : "")>\(e(t))</th>"
                }.joined() + "</tr></thead>\n<tbody>\n"
                for r in rows {
                    h += "<tr>" + DeltaRendering.cells(r).enumerated().map { i, t in
                        "<td\((3...10).contains(i) ? " class=\"num\"" : "")>\(e(t))</td>"
                    }.joined() + "</tr>\n"
                }
                h += "</tbody>\n</table>\n"
            }
            let q = DeltaRendering.quantizationLines(d)
            if !q.isEmpty {
                h += "<h3>Quantization damage (most damaged first)</h3>\n<ol>\n"
                h += q.map { "<li>\(e($0))</li>" }.joined(separator: "\n") + "\n</ol>\n"
            }
            h += "</section>\n"
        }

        if !report.assumptions.isEmpty {
            h += "<section>\n<h2>Assumptions</h2>\n<ul class=\"assumptions\">\n"
            h += report.assumptions.map { "<li>\(e($0))</li>" }.joined(separator: "\n")
            h += "\n</ul>\n</section>\n"
        }
        if let warnings = report.warnings, !warnings.isEmpty {
            h += "<section>\n<h2>Warnings</h2>\n<ul class=\"warnings\">\n"
            h += warnings.map { "<li>\(e($0))</li>" }.joined(separator: "\n")
            h += "\n</ul>\n</section>\n"
        }

        // Spectra.
        let withSpectra = analysed.filter { $0.layer.singularValues != nil }
        h += "<section>\n<h2>Singular-value spectra</h2>\n"
        if withSpectra.isEmpty {
            h += "<p class=\"muted\">No spectra in this report (written with --omit-spectra).</p>\n"
        } else {
            h += "<div class=\"grid\">\n"
            for (l, m) in withSpectra {
                let values = l.singularValues ?? []
                h += "<figure>"
                h += SVGChart.spectrum(values, title: "singular values of \(l.name)", overlay: l.operatorSingularValues,
                                       tol: m.tol)
                var caption = "\(ReportText.shape(l.shape)) · rank \(m.rank.map(String.init) ?? "—") · σ_max \(f(m.spectralNorm))"
                if let method = l.method { caption += " · \(method)" }
                h += "<figcaption><span class=\"name\">\(e(l.name))</span><br/>\(e(caption))</figcaption>"
                h += "</figure>\n"
            }
            h += "</div>\n"
        }
        h += "</section>\n"

        h += "<footer>\(e(report.tool.name)) \(e(report.tool.version)) · definitions \(e(report.definitions)) · report schema \(e(report.schemaVersion))</footer>\n"
        h += "</main>\n</body>\n</html>\n"
        return h
    }

    private static func layerStatusSummary(_ r: AuditReportV1) -> String {
        var counts: [(LayerStatus, Int)] = []
        for status in [LayerStatus.nonFinite, .unsupported, .skipped] {
            let c = r.layers.filter { $0.status == status }.count
            if c > 0 { counts.append((status, c)) }
        }
        return counts.isEmpty ? "all layers analysed" : counts.map { "\($0.1) \($0.0.rawValue)" }.joined(separator: ", ")
    }

    static let css = """
    :root { --pass: #1a7f37; --fail: #cf222e; --warn: #9a6700; --bar: #3b6fd1; --ink: #1f2328; --muted: #656d76; --line: #d0d7de; }
    * { box-sizing: border-box; }
    body { margin: 0; background: #f6f8fa; color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
    main { max-width: 1120px; margin: 0 auto; padding: 24px; }
    h2 { font-size: 17px; margin: 28px 0 10px; }
    section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 4px 18px 16px; margin-top: 16px; overflow-x: auto; }
    .banner { border-radius: 8px; padding: 18px 22px; color: #fff; display: flex; align-items: baseline; gap: 18px; flex-wrap: wrap; }
    .banner.pass { background: var(--pass); }
    .banner.fail { background: var(--fail); }
    .banner .verdict { font-size: 28px; font-weight: 700; letter-spacing: 0.02em; }
    .banner .summary { font-size: 17px; }
    .banner .file { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; opacity: 0.9; margin-left: auto; word-break: break-all; }
    dl.meta { display: flex; flex-wrap: wrap; gap: 6px 22px; margin: 12px 2px 0; color: var(--muted); }
    dl.meta div { display: flex; gap: 6px; }
    dl.meta dt { font-weight: 600; }
    dl.meta dd { margin: 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
    .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(190px, 1fr)); gap: 12px; background: none; border: none; padding: 0; }
    .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; }
    .card-title { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; }
    .card-value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
    .card-note { color: var(--muted); font-size: 12px; }
    table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
    th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
    thead th { border-bottom: 2px solid var(--line); font-weight: 600; vertical-align: bottom; }
    td.num, th.num { text-align: right; }
    td.num { white-space: nowrap; }
    td.name { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; min-width: 190px; max-width: 260px; overflow-wrap: anywhere; }
    td.kind { overflow-wrap: anywhere; min-width: 70px; }
    td.status { min-width: 170px; }
    .nowrap { white-space: nowrap; }
    table.layers { font-size: 13px; }
    table.layers th, table.layers td { padding: 4px 6px; }
    tr.failed td { background: #ffebe9; }
    tr.failed td.mark { color: var(--fail); font-weight: 700; }
    tr.ok td.mark { color: var(--pass); font-weight: 700; }
    tr.warn td { background: #fff8c5; }
    tr.skipped td { color: var(--muted); }
    ul.warnings li { color: var(--warn); }
    table.kv th { width: 260px; font-weight: 600; color: var(--muted); }
    code { font-size: 12.5px; }
    .muted { color: var(--muted); font-size: 13px; }
    ul.assumptions li { color: var(--warn); }
    .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(310px, 1fr)); gap: 14px; }
    figure { margin: 0; border: 1px solid #eaeef2; border-radius: 6px; padding: 8px; }
    figcaption { font-size: 12px; color: var(--muted); margin-top: 4px; }
    figcaption .name { overflow-wrap: anywhere; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--ink); }
    svg.chart { display: block; max-width: 100%; height: auto; }
    figure svg.chart { width: 100%; }
    svg.chart text { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; font-size: 11px; fill: var(--ink); }
    svg.chart .label { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 11.5px; }
    svg.chart .tick, svg.chart .note, svg.chart .muted { fill: var(--muted); }
    svg.chart .axis-label { fill: var(--muted); font-size: 11.5px; }
    svg.chart .grid { stroke: #eaeef2; stroke-width: 1; }
    svg.chart .axis { stroke: #8c959f; stroke-width: 1; }
    svg.chart .frame { fill: none; stroke: #d0d7de; }
    svg.chart .reference { stroke: #8c959f; stroke-width: 1; stroke-dasharray: 4 3; }
    svg.chart .bar { fill: var(--bar); }
    svg.chart .bar.negative { fill: #8c959f; }
    svg.chart .bar.flagged { fill: var(--fail); }
    svg.chart .series { fill: none; stroke: var(--bar); stroke-width: 1.6; }
    svg.chart .series.dot { fill: var(--bar); stroke: none; }
    svg.chart .series-operator { fill: none; stroke: #bc4c00; stroke-width: 1.3; stroke-dasharray: 4 2; }
    svg.chart .series-operator.dot { fill: #bc4c00; stroke: none; }
    footer { color: var(--muted); font-size: 12px; text-align: center; margin: 24px 0 8px; }

    """
}
