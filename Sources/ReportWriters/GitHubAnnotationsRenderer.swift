import AuditReport

/// GitHub Actions workflow commands: `::error file=…,title=spectral-audit::…` for each failed
/// check and `::warning …` for each assumption, escaped as `@actions/core` does (message: `%`,
/// CR, LF; properties also `:` and `,`). At most `limit` lines: when there are more annotations,
/// the first `limit - 1` (errors before warnings) are kept and the last line is a `::notice`
/// saying how many were omitted.
public enum GitHubAnnotationsRenderer {
    public static let defaultLimit = 50
    public static let title = "spectral-audit"

    public static func render(_ report: AuditReportV1, limit: Int = defaultLimit) -> String {
        let properties = "file=\(Escape.githubProperty(dropControls(report.input.path))),title=\(Escape.githubProperty(title))"
        var lines: [(kind: String, message: String)] = []
        for c in report.failedChecks {
            lines.append(("error", "\(CheckText.scope(c)): \(c.id) failed (\(CheckText.metricOutcome(c))): \(c.message)"))
        }
        for w in report.warnings ?? [] {
            lines.append(("warning", w))
        }
        for a in report.assumptions {
            lines.append(("warning", "assumption: \(a)"))
        }
        for g in StructureText.guessLines(report) { lines.append(("warning", "structure guessed: \(g)")) }
        // Terminal controls (ESC, BEL, NUL, …) are dropped: they would reach the raw log. CR and
        // LF stay and are escaped as workflow-command data.
        lines = lines.map { ($0.kind, dropControls($0.message)) }
        let cap = max(1, limit)
        var out: [String] = []
        if lines.count <= cap {
            out = lines.map { "::\($0.kind) \(properties)::\(Escape.githubData($0.message))" }
        } else {
            let kept = lines.prefix(cap - 1)
            out = kept.map { "::\($0.kind) \(properties)::\(Escape.githubData($0.message))" }
            let omitted = lines.dropFirst(cap - 1)
            let errors = omitted.filter { $0.kind == "error" }.count
            let warnings = omitted.count - errors
            let summary = "\(omitted.count) more annotations omitted (\(errors) errors, \(warnings) warnings); see the full report"
            out.append("::notice \(properties)::\(Escape.githubData(summary))")
        }
        return out.isEmpty ? "" : out.joined(separator: "\n") + "\n"
    }

    static func dropControls(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.filter { u in
            u == "\r" || u == "\n" || u == "\t" || !(u.value < 0x20 || (0x7F...0x9F).contains(u.value))
        }))
    }
}
