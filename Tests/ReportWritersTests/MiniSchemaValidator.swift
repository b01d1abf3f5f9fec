import Foundation

/// A JSON value decoded strictly (a boolean is never a number), for schema checks.
indirect enum JSON: Decodable, Equatable, CustomStringConvertible {
    case null, bool(Bool), number(Double), string(String), array([JSON]), object([String: JSON])

    init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSON].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSON].self)) }
    }

    static func parse(_ data: Data) throws -> JSON { try JSONDecoder().decode(JSON.self, from: data) }

    subscript(key: String) -> JSON? {
        if case .object(let o) = self { return o[key] }
        return nil
    }

    var objectValue: [String: JSON]? { if case .object(let o) = self { return o } else { return nil } }
    var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    var keys: Set<String> { Set(objectValue?.keys.map { $0 } ?? []) }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return "\(b)"
        case .number(let n): return "\(n)"
        case .string(let s): return "\"\(s)\""
        case .array(let a): return "[\(a.count) items]"
        case .object(let o): return "{\(o.keys.sorted().joined(separator: ","))}"
        }
    }
}

/// A JSON Schema (draft 2020-12) validator for the subset `schemas/audit-report.schema.json`
/// uses, so Swift tests can validate reports without Python. A keyword outside the subset is an
/// error, never silently ignored.
struct MiniSchemaValidator {
    let root: JSON

    static let annotations: Set<String> = ["$schema", "$id", "title", "description", "$defs"]
    static let supported: Set<String> = ["type", "properties", "required", "additionalProperties", "items",
                                         "$ref", "enum", "const", "minimum"]

    init(schema: JSON) { root = schema }

    /// Every violation, as `path: message`.
    func validate(_ instance: JSON) -> [String] {
        var errors: [String] = []
        check(instance, against: root, at: "", &errors)
        return errors
    }

    func resolve(_ ref: String) -> JSON? {
        guard ref.hasPrefix("#/") else { return nil }
        var node = root
        for part in ref.dropFirst(2).split(separator: "/") {
            guard let next = node[String(part)] else { return nil }
            node = next
        }
        return node
    }

    private func check(_ value: JSON, against schema: JSON, at path: String, _ errors: inout [String]) {
        guard let s = schema.objectValue else {
            if schema != .bool(true) { errors.append("\(path): schema \(schema) is not an object") }
            return
        }
        for key in s.keys where !Self.annotations.contains(key) && !Self.supported.contains(key) {
            errors.append("\(path): unsupported schema keyword \(key)")
        }
        if let ref = s["$ref"]?.stringValue {
            guard let target = resolve(ref) else { errors.append("\(path): unresolved $ref \(ref)"); return }
            check(value, against: target, at: path, &errors)
        }
        if let type = s["type"] {
            let types = type.arrayValue?.compactMap(\.stringValue) ?? [type.stringValue ?? "?"]
            if !types.contains(where: { Self.matches(value, type: $0) }) {
                errors.append("\(path): \(value) is not of type \(types.joined(separator: "|"))")
                return
            }
        }
        if let options = s["enum"]?.arrayValue, !options.contains(value) {
            errors.append("\(path): \(value) is not one of \(options)")
        }
        if let constant = s["const"], constant != value {
            errors.append("\(path): \(value) is not \(constant)")
        }
        if case .number(let minimum)? = s["minimum"], case .number(let n) = value, n < minimum {
            errors.append("\(path): \(n) is below the minimum \(minimum)")
        }
        if let object = value.objectValue {
            let properties = s["properties"]?.objectValue ?? [:]
            for case .string(let key) in s["required"]?.arrayValue ?? [] where object[key] == nil {
                errors.append("\(path): missing required key \(key)")
            }
            for (key, child) in object.sorted(by: { $0.key < $1.key }) {
                if let sub = properties[key] {
                    check(child, against: sub, at: path + "/" + key, &errors)
                } else if let extra = s["additionalProperties"] {
                    if extra == .bool(false) {
                        errors.append("\(path): unexpected key \(key)")
                    } else {
                        check(child, against: extra, at: path + "/" + key, &errors)
                    }
                }
            }
        }
        if let array = value.arrayValue, let items = s["items"] {
            for (i, child) in array.enumerated() { check(child, against: items, at: "\(path)/\(i)", &errors) }
        }
    }

    static func matches(_ v: JSON, type: String) -> Bool {
        switch (type, v) {
        case ("null", .null), ("boolean", .bool), ("number", .number), ("string", .string),
             ("array", .array), ("object", .object): return true
        case ("integer", .number(let n)): return n.rounded() == n
        default: return false
        }
    }
}
