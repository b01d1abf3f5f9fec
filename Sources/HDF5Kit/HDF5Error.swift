/// A failed libhdf5 call: which operation, on what, and the library's own error stack
/// (innermost first), so one line can say what went wrong without HDF5 printing anything.
public struct HDF5Error: Error, Sendable, CustomStringConvertible {
    /// The C function that failed, e.g. `H5Fopen`.
    public var operation: String
    /// The file, object path or attribute the call was about.
    public var target: String
    /// HDF5's error stack descriptions, from the innermost failure outwards.
    public var stack: [String]

    public init(operation: String, target: String, stack: [String]) {
        self.operation = operation
        self.target = target
        self.stack = stack
    }

    /// The most specific message HDF5 gave (the innermost frame), if any.
    public var reason: String {
        stack.first ?? "\(operation) failed"
    }

    public var description: String {
        "\(operation)(\(target)): \(stack.isEmpty ? "failed" : stack.joined(separator: "; "))"
    }
}
