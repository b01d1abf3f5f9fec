/// Escaping rules for every output format. Each function takes arbitrary text from a report
/// (layer names, tensor names, paths and messages come from the weight file and can hold anything).
public enum Escape {
    /// XML 1.0 character data and attribute values (also valid HTML): `& < > " '` become
    /// references; characters XML 1.0 forbids (C0 controls other than tab/LF/CR, U+FFFE, U+FFFF)
    /// are dropped. With `attribute`, tab, LF and CR become character references so attribute-value
    /// normalization keeps them.
    public static func xml(_ s: String, attribute: Bool = false) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t": out += attribute ? "&#9;" : "\t"
            case "\n": out += attribute ? "&#10;" : "\n"
            case "\r": out += attribute ? "&#13;" : "\r"
            default:
                let v = u.value
                if v < 0x20 || v == 0xFFFE || v == 0xFFFF { continue }
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// HTML text and attribute values: the XML rules (so the HTML stays well-formed XML), with C1
    /// controls and DEL dropped as well.
    public static func html(_ s: String) -> String {
        xml(String(String.UnicodeScalarView(s.unicodeScalars.filter { !(0x7F...0x9F).contains($0.value) })),
            attribute: true)
    }

    /// One GitHub-flavoured Markdown table cell: ASCII punctuation that Markdown or tables
    /// interpret is backslash-escaped (`|` included), line breaks become `<br>`, other control
    /// characters are dropped.
    public static func markdownCell(_ s: String) -> String {
        var out = ""
        var previousCR = false
        for u in s.unicodeScalars {
            defer { previousCR = (u == "\r") }
            switch u {
            case "\\", "|", "`", "*", "_", "[", "]", "<", ">", "~", "#", "!", "&":
                out += "\\"
                out.unicodeScalars.append(u)
            case "\r": out += "<br>"
            case "\n": if !previousCR { out += "<br>" }
            case "\t": out += " "
            default:
                if u.value < 0x20 || (0x7F...0x9F).contains(u.value) { continue }
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// Markdown inline text outside tables (same rules; `|` is harmless there but escaping it is too).
    public static func markdown(_ s: String) -> String { markdownCell(s) }

    /// The message part of a GitHub workflow command (`::error …::MESSAGE`), as
    /// `@actions/core` `escapeData`: `%` → `%25`, CR → `%0D`, LF → `%0A`.
    public static func githubData(_ s: String) -> String {
        var out = ""
        for u in s.unicodeScalars {
            switch u {
            case "%": out += "%25"
            case "\r": out += "%0D"
            case "\n": out += "%0A"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }

    /// A property value of a GitHub workflow command (`file=…,title=…`), as `@actions/core`
    /// `escapeProperty`: the data rules plus `:` → `%3A` and `,` → `%2C`.
    public static func githubProperty(_ s: String) -> String {
        var out = ""
        for u in githubData(s).unicodeScalars {
            switch u {
            case ":": out += "%3A"
            case ",": out += "%2C"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }
}
