import Foundation
import AuditReport

/// Number and string formatting shared by every renderer, so the text table, Markdown, JUnit,
/// GitHub annotations and HTML print the same figure the same way. Locale-independent.
public enum ReportNumber {
    /// `digits` significant digits; exponent form (`1.235e5`, `2.000e-7`) when the decimal exponent
    /// is ≥ 5 or < -3. `nil` prints as `—`; non-finite values (which a report should never hold)
    /// as `NaN`, `+Inf`, `-Inf`.
    public static func format(_ x: Double?, digits: Int = 4) -> String {
        guard let x else { return "—" }
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "+Inf" : "-Inf" }
        if x == 0 { return "0" }
        let d = max(1, digits)
        // `%e` rounds first, so the exponent read back is that of the rounded value (9.9996 → 1.000e+01).
        let sci = String(format: "%.\(d - 1)e", x)
        let parts = sci.split(separator: "e")
        guard parts.count == 2, let exponent = Int(parts[1]) else { return sci }
        if exponent >= 5 || exponent < -3 {
            return "\(parts[0])e\(exponent)"
        }
        return String(format: "%.\(max(0, d - 1 - exponent))f", x)
    }

    /// `format` without trailing zeros (`10.00` → `10`, `1.500e5` → `1.5e5`), for limits and
    /// values quoted in sentences.
    public static func short(_ x: Double?, digits: Int = 4) -> String {
        let s = format(x, digits: digits)
        guard s.contains(".") else { return s }
        let parts = s.split(separator: "e", maxSplits: 1)
        var mantissa = String(parts[0])
        while mantissa.hasSuffix("0") { mantissa.removeLast() }
        if mantissa.hasSuffix(".") { mantissa.removeLast() }
        return parts.count == 2 ? mantissa + "e" + parts[1] : mantissa
    }

    /// A ratio for prose ("the bound is 37× loose"): one decimal below 10, whole numbers below 1e5,
    /// exponent form above.
    public static func ratio(_ x: Double) -> String {
        guard x.isFinite else { return format(x) }
        if abs(x) < 10 { return String(format: "%.1f", x) }
        if abs(x) < 1e5 { return String(format: "%.0f", x) }
        return format(x, digits: 3)
    }

    /// A fraction as a percentage with one decimal (`0.4123` → `41.2%`).
    public static func percent(_ x: Double?) -> String {
        guard let x, x.isFinite else { return format(x) }
        return String(format: "%.1f%%", x * 100)
    }

    /// An SVG coordinate: two decimals, no exponent, `-0.00` printed as `0.00`.
    static func coordinate(_ x: Double) -> String {
        let s = String(format: "%.2f", x.isFinite ? x : 0)
        return s == "-0.00" ? "0.00" : s
    }
}

enum ReportText {
    /// Shortens `s` to at most `width` characters by replacing its middle with `…`.
    static func truncateMiddle(_ s: String, width: Int) -> String {
        guard width > 0, s.count > width else { return s }
        if width == 1 { return "…" }
        let head = (width - 1 + 1) / 2
        let tail = width - 1 - head
        return String(s.prefix(head)) + "…" + String(s.suffix(tail))
    }

    /// Replaces characters that would let file contents drive a terminal or break a line-based
    /// format: tabs and line breaks become spaces, other C0/C1 controls and DEL become `�`.
    static func sanitizeLine(_ s: String) -> String {
        var out = String.UnicodeScalarView()
        for u in s.unicodeScalars {
            switch u.value {
            case 0x09, 0x0A, 0x0D: out.append(" ")
            case 0x00...0x1F, 0x7F...0x9F: out.append("\u{FFFD}")
            default: out.append(u)
            }
        }
        return String(out)
    }

    /// Splits a long name into pieces of at most `width` characters, preferring to break after
    /// a separator (`.`, `/`, `_`, `-`, `:`) in the last third of a piece, so the whole name
    /// stays readable (policies need full names) instead of losing its middle.
    static func wrap(_ s: String, width: Int) -> [String] {
        guard width > 0, s.count > width else { return [s] }
        var pieces: [String] = []
        var rest = Substring(s)
        while rest.count > width {
            let head = rest.prefix(width)
            var cut = head.endIndex
            if let sep = head.lastIndex(where: { "./_-:".contains($0) }),
               head.distance(from: head.startIndex, to: sep) >= width * 2 / 3 {
                cut = head.index(after: sep)
            }
            pieces.append(String(rest[rest.startIndex..<cut]))
            rest = rest[cut...]
        }
        if !rest.isEmpty { pieces.append(String(rest)) }
        return pieces
    }

    /// `1 factor`, `2 factors`.
    static func count(_ n: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(n) " + (n == 1 ? singular : plural ?? singular + "s")
    }

    static func shape(_ s: [Int]?) -> String {
        guard let s else { return "—" }
        return "[" + s.map(String.init).joined(separator: ", ") + "]"
    }

    static func sha256Prefix(_ s: String, length: Int = 12) -> String {
        s.count > length ? String(s.prefix(length)) + "…" : s
    }
}

/// How a check's value compares with its limit, in words every renderer shares.
enum CheckText {
    /// `12.70 > 10`, `0.3100 ≥ 0.2500`, `not finite`, …
    static func outcome(_ c: Check) -> String {
        switch c.comparison {
        case "finite":
            return c.passed ? "finite" : "not finite"
        case "<=", ">=":
            let op: String
            if c.comparison == "<=" { op = c.passed ? "≤" : ">" } else { op = c.passed ? "≥" : "<" }
            return "\(ReportNumber.short(c.value)) \(op) \(ReportNumber.short(c.limit))"
        case "comparable":
            return c.passed ? "incomparable (allowed)" : "incomparable"
        default:
            return "\(ReportNumber.short(c.value)) (limit \(c.comparison) \(ReportNumber.short(c.limit)))"
        }
    }

    /// The limit with its comparison: `≤ 10`, `≥ 0.25`, `finite`.
    static func limit(_ c: Check) -> String {
        switch c.comparison {
        case "<=": return "≤ " + ReportNumber.short(c.limit)
        case ">=": return "≥ " + ReportNumber.short(c.limit)
        case "finite": return "finite"
        case "comparable": return "comparable"
        default: return c.comparison + " " + ReportNumber.short(c.limit)
        }
    }

    /// `value 12.70 limit <= 10` (JUnit failure text, GitHub annotations).
    static func valueAndLimit(_ c: Check) -> String {
        if c.comparison == "finite" { return "value \(c.passed ? "finite" : "not finite") limit finite" }
        if c.comparison == "comparable" { return "value incomparable limit comparable" }
        return "value \(ReportNumber.short(c.value)) limit \(c.comparison) \(ReportNumber.short(c.limit))"
    }

    /// `spectral_norm 12.7 > 10`, or `not finite` for finiteness checks.
    static func metricOutcome(_ c: Check) -> String {
        c.comparison == "finite" ? outcome(c) : "\(quantity(c)) \(outcome(c))"
    }

    /// The judged quantity, named so a reader knows which GMSI a gate used.
    static func quantity(_ c: Check) -> String { AuditReportV1.quantityName(c.metric) }

    /// Where the check applies: the layer, or `network`.
    static func scope(_ c: Check) -> String { c.layer ?? "network" }

    /// Failed checks first, report order kept within each group.
    static func failedFirst(_ checks: [Check]) -> [Check] {
        checks.filter { !$0.passed } + checks.filter(\.passed)
    }

    static func verdictSummary(_ r: AuditReportV1) -> String {
        let failed = r.failedChecks.count
        let total = r.checks.count
        switch r.verdict {
        case .pass:
            switch total {
            case 0: return "no checks configured"
            case 1: return "the 1 check passed"
            default: return "all \(total) checks passed"
            }
        case .fail: return "\(failed) of \(total) check\(total == 1 ? "" : "s") failed"
        }
    }
}

extension AuditReportV1 {
    /// Analysed layers with their metrics, in report order.
    var analysedLayers: [(layer: LayerReport, metrics: SpectrumMetricsV1)] {
        layers.compactMap { l in
            guard l.status == .analyzed, let m = l.metrics else { return nil }
            return (l, m)
        }
    }

    /// Layers with a share of the Lipschitz bound, largest first (ties: report order).
    var layersByShare: [(name: String, share: Double)] {
        let shares = layers.enumerated().compactMap { i, l -> (Int, String, Double)? in
            guard let s = l.layerShare, s.isFinite else { return nil }
            return (i, l.name, s)
        }
        return shares.sorted { a, b in a.2 != b.2 ? a.2 > b.2 : a.0 < b.0 }.map { ($0.1, $0.2) }
    }

    /// GMSI components sorted by name (dictionary order is not stable).
    var sortedGMSIComponents: [(name: String, value: Double?)] {
        gmsiComponents.keys.sorted().map { ($0, gmsiComponents[$0] ?? nil) }
    }

    /// Components of `data_gmsi` sorted by name.
    var sortedDataGMSIComponents: [(name: String, value: Double?)] {
        guard let c = dataGmsiComponents else { return [] }
        return c.keys.sorted().map { ($0, c[$0] ?? nil) }
    }

    /// Failed checks that name `layer`.
    func failedChecks(forLayer layer: String) -> [Check] {
        checks.filter { !$0.passed && $0.layer == layer }
    }

    /// Ids of the failed checks that name `layer`, each once, in report order.
    func failedCheckIDs(forLayer layer: String) -> [String] {
        var seen = Set<String>()
        return failedChecks(forLayer: layer).map(\.id).filter { seen.insert($0).inserted }
    }
}
