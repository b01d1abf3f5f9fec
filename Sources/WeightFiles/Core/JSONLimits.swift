/// Nesting-depth check for JSON documents read from untrusted files, run before any parser
/// (ours or `JSONSerialization`) sees the bytes, so a document like `[[[[…` 10,000 deep can
/// never exhaust the stack.
public enum JSONLimits {
    /// The deepest nesting of `{`/`[` in `bytes`, counting only brackets outside strings, or
    /// `nil` as soon as it exceeds `limit`. Unbalanced documents are left to the parser.
    public static func depth(of bytes: UnsafeRawBufferPointer, limit: Int) -> Int? {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for b in bytes {
            if inString {
                if escaped { escaped = false } else if b == UInt8(ascii: "\\") { escaped = true } else if b == UInt8(ascii: "\"") { inString = false }
                continue
            }
            switch b {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                if depth > deepest {
                    deepest = depth
                    if deepest > limit { return nil }
                }
            case UInt8(ascii: "}"), UInt8(ascii: "]"):
                depth -= 1
            default: break
            }
        }
        return deepest
    }

    /// `depth(of:limit:)` for a byte array.
    public static func depth(of bytes: [UInt8], limit: Int) -> Int? {
        bytes.withUnsafeBytes { depth(of: $0, limit: limit) }
    }
}
