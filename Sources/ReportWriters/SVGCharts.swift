import Foundation

/// Inline SVG charts for the HTML report, drawn from numbers alone: no scripts, no external
/// resources, every text escaped, every coordinate finite. Only the SVG namespace URI appears.
enum SVGChart {
    static let namespace = "http://www.w3.org/2000/svg"

    // MARK: Scales

    /// A linear or log10 mapping from a data domain onto a pixel range, with its tick values.
    struct Axis {
        var lo: Double
        var hi: Double
        var log: Bool
        var p0: Double
        var p1: Double
        var ticks: [Double]

        func px(_ v: Double) -> Double {
            let t: Double
            if log {
                let a = Foundation.log10(lo), b = Foundation.log10(hi)
                t = b > a ? (Foundation.log10(max(v, lo)) - a) / (b - a) : 0.5
            } else {
                t = hi > lo ? (v - lo) / (hi - lo) : 0.5
            }
            let clamped = min(1, max(0, t.isFinite ? t : 0))
            return p0 + clamped * (p1 - p0)
        }

        /// A linear axis over `[min, max]` widened to "nice" steps (1, 2, 5 × 10^k).
        static func linear(min: Double, max: Double, p0: Double, p1: Double) -> Axis {
            var lo = min, hi = max
            if !(lo.isFinite && hi.isFinite) { lo = 0; hi = 1 }
            if hi <= lo {
                let pad = lo == 0 ? 1 : abs(lo) * 0.5
                lo -= lo == 0 ? 0 : pad
                hi += pad
            }
            let raw = (hi - lo) / 5
            let magnitude = pow(10, floor(Foundation.log10(raw)))
            let n = raw / magnitude
            let step = (n < 1.5 ? 1 : n < 3 ? 2 : n < 7 ? 5 : 10) * magnitude
            let a = floor(lo / step + 1e-9) * step, b = ceil(hi / step - 1e-9) * step
            let count = Int(((b - a) / step).rounded())
            let ticks = (0...Swift.max(0, count)).map { a + Double($0) * step }.map { abs($0) < step * 1e-9 ? 0 : $0 }
            return Axis(lo: a, hi: b, log: false, p0: p0, p1: p1, ticks: ticks)
        }

        /// A log10 axis over whole decades covering `[min, max]` (both > 0).
        static func logarithmic(min: Double, max: Double, p0: Double, p1: Double) -> Axis {
            var a = Int(floor(Foundation.log10(min) + 1e-12))
            var b = Int(ceil(Foundation.log10(max) - 1e-12))
            if b <= a { b = a + 1 }
            // Keep at most ~7 labelled decades.
            let stride = Swift.max(1, Int(ceil(Double(b - a) / 6)))
            a = Int(floor(Double(a) / Double(stride))) * stride
            b = Int(ceil(Double(b) / Double(stride))) * stride
            let ticks = Swift.stride(from: a, through: b, by: stride).map { pow(10, Double($0)) }
            return Axis(lo: pow(10, Double(a)), hi: pow(10, Double(b)), log: true, p0: p0, p1: p1, ticks: ticks)
        }

        /// A log10 axis fitted to `[min, max]` (both > 0) with a little margin, ticked at the
        /// decades inside it, or at 1-2-5 steps when fewer than two decades fall inside. A range
        /// narrower than 2× is widened to 2× around its geometric middle.
        static func tightLogarithmic(min: Double, max: Double, p0: Double, p1: Double) -> Axis {
            var lo = Foundation.log10(min), hi = Foundation.log10(max)
            let narrow = Foundation.log10(2.0)
            if hi - lo < narrow {
                let mid = (hi + lo) / 2
                lo = mid - narrow / 2
                hi = mid + narrow / 2
            }
            let margin = (hi - lo) * 0.04
            lo -= margin
            hi += margin
            let a = Int(ceil(lo - 1e-12)), b = Int(floor(hi + 1e-12))
            let stride = Swift.max(1, Int(ceil(Double(Swift.max(b - a, 0)) / 6)))
            var ticks: [Double] = b >= a ? Swift.stride(from: a, through: b, by: stride).map { pow(10, Double($0)) } : []
            if ticks.count < 2 {
                ticks = []
                for k in Int(floor(lo))...Int(ceil(hi)) {
                    for m in [1.0, 2.0, 5.0] {
                        let v = m * pow(10, Double(k))
                        let lv = Foundation.log10(v)
                        if lv >= lo - 1e-12 && lv <= hi + 1e-12 { ticks.append(v) }
                    }
                }
            }
            return Axis(lo: pow(10, lo), hi: pow(10, hi), log: true, p0: p0, p1: p1, ticks: ticks)
        }
    }

    static func tickLabel(_ v: Double) -> String { ReportNumber.short(v, digits: 3) }

    // MARK: Primitives

    static func n(_ x: Double) -> String { ReportNumber.coordinate(x) }
    static func t(_ s: String) -> String { Escape.html(s) }

    static func open(width: Int, height: Int, label: String) -> String {
        "<svg xmlns=\"\(namespace)\" class=\"chart\" width=\"\(width)\" height=\"\(height)\" "
            + "viewBox=\"0 0 \(width) \(height)\" role=\"img\" aria-label=\"\(t(label))\">"
            + "<title>\(t(label))</title>"
    }

    static func text(_ s: String, x: Double, y: Double, anchor: String = "start", cls: String? = nil,
                     extra: String = "") -> String {
        "<text x=\"\(n(x))\" y=\"\(n(y))\" text-anchor=\"\(anchor)\"" + (cls.map { " class=\"\($0)\"" } ?? "")
            + extra + ">\(t(s))</text>"
    }

    static func line(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, cls: String) -> String {
        "<line x1=\"\(n(x1))\" y1=\"\(n(y1))\" x2=\"\(n(x2))\" y2=\"\(n(y2))\" class=\"\(cls)\"/>"
    }

    // MARK: Horizontal bar chart

    struct Bar {
        var label: String
        var value: Double?
        /// Drawn in the failure colour (a failed check names this layer).
        var flagged: Bool = false
        /// Text after the bar; defaults to the formatted value.
        var valueText: String? = nil
    }

    enum BarScale {
        /// Linear from `min(0, data)`; log10 when all values are positive and max/min exceeds `logAbove`.
        case auto(logAbove: Double)
        /// Fixed linear domain.
        case fixed(Double, Double)
    }

    /// One row per bar: label on the left, bar, value text; grid and ticks below. Bars start at 0
    /// (linear) or at the axis minimum (log); values ≤ 0 on a log axis get no bar and say so.
    static func horizontalBars(_ bars: [Bar], title: String, axisLabel: String, scale: BarScale,
                               reference: (value: Double, label: String)? = nil, width: Int = 1000) -> String {
        let labelWidth = 250.0, right = 90.0, top = 10.0, rowHeight = 22.0, barHeight = 14.0, bottom = 40.0
        let height = Int(top + rowHeight * Double(max(bars.count, 1)) + bottom)
        let plotLeft = labelWidth, plotRight = Double(width) - right
        let finite = bars.compactMap(\.value).filter(\.isFinite)
        var axis: Axis
        switch scale {
        case .fixed(let a, let b):
            axis = Axis(lo: a, hi: b, log: false, p0: plotLeft, p1: plotRight, ticks: [])
            axis.ticks = Axis.linear(min: a, max: b, p0: plotLeft, p1: plotRight).ticks.filter { $0 >= a && $0 <= b }
        case .auto(let logAbove):
            let positives = finite.filter { $0 > 0 }
            if let lo = positives.min(), let hi = positives.max(), finite.allSatisfy({ $0 >= 0 }), hi / lo > logAbove {
                axis = Axis.logarithmic(min: lo, max: hi, p0: plotLeft, p1: plotRight)
            } else {
                axis = Axis.linear(min: min(0, finite.min() ?? 0), max: max(0, finite.max() ?? 1),
                                   p0: plotLeft, p1: plotRight)
            }
        }
        var s = open(width: width, height: height, label: title)
        let plotBottom = top + rowHeight * Double(max(bars.count, 1))
        // Grid and ticks.
        for tick in axis.ticks {
            let x = axis.px(tick)
            s += line(x, top, x, plotBottom, cls: "grid")
            s += text(tickLabel(tick), x: x, y: plotBottom + 14, anchor: "middle", cls: "tick")
        }
        s += line(plotLeft, plotBottom, plotRight, plotBottom, cls: "axis")
        s += text(axisLabel + (axis.log ? " (log scale)" : ""), x: (plotLeft + plotRight) / 2, y: plotBottom + 32,
                  anchor: "middle", cls: "axis-label")
        let zero = axis.log ? plotLeft : axis.px(0)
        if !axis.log && axis.lo < 0 { s += line(zero, top, zero, plotBottom, cls: "axis") }
        if bars.isEmpty {
            s += text("no data", x: (plotLeft + plotRight) / 2, y: top + rowHeight * 0.65, anchor: "middle", cls: "note")
        }
        for (i, bar) in bars.enumerated() {
            let y = top + rowHeight * Double(i)
            let mid = y + rowHeight / 2
            s += "<g><title>\(t(bar.label)): \(t(bar.valueText ?? ReportNumber.format(bar.value)))</title>"
            s += text(ReportText.truncateMiddle(bar.label, width: 32), x: labelWidth - 8, y: mid + 4, anchor: "end",
                      cls: "label")
            if let v = bar.value, v.isFinite, !(axis.log && v <= 0) {
                let x1 = axis.px(v)
                let x = min(zero, x1), w = max(abs(x1 - zero), v == 0 ? 0 : 1)
                let cls = bar.flagged ? "bar flagged" : (v < 0 ? "bar negative" : "bar")
                s += "<rect x=\"\(n(x))\" y=\"\(n(mid - barHeight / 2))\" width=\"\(n(w))\" height=\"\(n(barHeight))\" class=\"\(cls)\"/>"
                s += text(bar.valueText ?? ReportNumber.format(v), x: max(zero, x1) + 5, y: mid + 4, cls: "value")
            } else {
                let note = bar.value == nil ? "n/a" : (bar.valueText ?? ReportNumber.format(bar.value)) + " (not on log scale)"
                s += text(note, x: zero + 5, y: mid + 4, cls: "value muted")
            }
            s += "</g>"
        }
        if let ref = reference, ref.value > axis.lo, ref.value < axis.hi {
            let x = axis.px(ref.value)
            s += line(x, top - 4, x, plotBottom, cls: "reference")
            s += text(ref.label, x: x + 3, y: top + 2, cls: "tick")
        }
        return s + "</svg>"
    }

    // MARK: Spectrum plot

    /// Log–log plot of σ_i against i (1-based). Zeros and non-finite values cannot be drawn on a
    /// log axis: they are skipped and counted in a note. `overlay` is a second spectrum (a conv
    /// layer's exact operator spectrum), `tol` a dashed line when it falls inside the axis.
    static func spectrum(_ values: [Double], title: String, overlay: [Double]? = nil, tol: Double? = nil,
                         width: Int = 320, height: Int = 220) -> String {
        let left = 54.0, right = 12.0, top = 12.0, bottom = 40.0, inset = 6.0
        let plotRight = Double(width) - right, plotBottom = Double(height) - bottom
        func points(_ v: [Double]) -> [(Double, Double)] {
            v.enumerated().compactMap { i, x in x > 0 && x.isFinite ? (Double(i + 1), x) : nil }
        }
        let main = points(values)
        let extra = points(overlay ?? [])
        let skipped = values.count - main.count
        var s = open(width: width, height: height, label: title)
        s += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotRight - left))\" height=\"\(n(plotBottom - top))\" class=\"frame\"/>"
        let all = main + extra
        guard let yMin = all.map(\.1).min(), let yMax = all.map(\.1).max(), let xMax = all.map(\.0).max() else {
            s += text(values.isEmpty ? "no singular values" : "no positive singular values",
                      x: (left + plotRight) / 2, y: (top + plotBottom) / 2, anchor: "middle", cls: "note")
            return s + "</svg>"
        }
        let xAxis = Axis.tightLogarithmic(min: 1, max: max(xMax, 1), p0: left + inset, p1: plotRight - inset)
        let yAxis = Axis.tightLogarithmic(min: yMin, max: yMax, p0: plotBottom - inset, p1: top + inset)
        for tick in xAxis.ticks {
            let x = xAxis.px(tick)
            s += line(x, top, x, plotBottom, cls: "grid")
            s += line(x, plotBottom, x, plotBottom + 4, cls: "axis")
            s += text(tickLabel(tick), x: x, y: plotBottom + 15, anchor: "middle", cls: "tick")
        }
        for tick in yAxis.ticks {
            let y = yAxis.px(tick)
            s += line(left, y, plotRight, y, cls: "grid")
            s += line(left - 4, y, left, y, cls: "axis")
            s += text(tickLabel(tick), x: left - 6, y: y + 3.5, anchor: "end", cls: "tick")
        }
        s += text("index i", x: (left + plotRight) / 2, y: Double(height) - 6, anchor: "middle", cls: "axis-label")
        s += text("σ_i", x: 12, y: (top + plotBottom) / 2, anchor: "middle", cls: "axis-label",
                  extra: " transform=\"rotate(-90 12 \(n((top + plotBottom) / 2)))\"")
        if let tol, tol > yAxis.lo, tol < yAxis.hi {
            let y = yAxis.px(tol)
            s += line(left, y, plotRight, y, cls: "reference")
            s += text("tol", x: plotRight - 3, y: y - 3, anchor: "end", cls: "tick")
        }
        func series(_ p: [(Double, Double)], cls: String) -> String {
            var out = ""
            if p.count > 1 {
                let coords = p.map { "\(n(xAxis.px($0.0))),\(n(yAxis.px($0.1)))" }.joined(separator: " ")
                out += "<polyline points=\"\(coords)\" class=\"\(cls)\"/>"
            }
            if p.count <= 40 {
                for (x, y) in p {
                    out += "<circle cx=\"\(n(xAxis.px(x)))\" cy=\"\(n(yAxis.px(y)))\" r=\"\(p.count == 1 ? 3.5 : 2)\" class=\"\(cls) dot\"/>"
                }
            }
            return out
        }
        if !extra.isEmpty { s += series(extra, cls: "series-operator") }
        s += series(main, cls: "series")
        var notes: [String] = []
        if skipped > 0 { notes.append("\(skipped) zero\(skipped == 1 ? "" : "s") not shown") }
        if !extra.isEmpty { notes.append("dashed: operator spectrum") }
        for (i, note) in notes.enumerated() {
            s += text(note, x: plotRight - 4, y: top + 13 + 12 * Double(i), anchor: "end", cls: "note")
        }
        return s + "</svg>"
    }
}
