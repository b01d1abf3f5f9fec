import Foundation

/// The number type the recurrent cells' forward pass and back-propagation through time are
/// written over (`RecurrentKernel`), so that one text gives every pass of `RecurrentOp`:
/// - `Double`: forward, VJP (BPTT) and the parameter rows;
/// - `DualNumber` (value + ε·tangent, ε² = 0): the forward pass on it is the JVP, and BPTT on it
///   is the directional derivative of the reverse pass — Pearlmutter's R-operator (1994) — so the
///   Hessian–vector products are exact (forward-over-reverse), not finite differences.
/// The gate derivatives are written from the activations' values (σ' = s(1−s), tanh' = 1−t²,
/// relu' = [x > 0], the engine's kink convention), which dual numbers differentiate exactly.
public protocol RecurrentScalar: Sendable {
    init(_ value: Double)
    /// The value part (for Double, itself).
    var primal: Double { get }
    static func + (a: Self, b: Self) -> Self
    static func - (a: Self, b: Self) -> Self
    static func * (a: Self, b: Self) -> Self
    var sigmoid: Self { get }
    var tanh: Self { get }
    var relu: Self { get }
}

extension Double: RecurrentScalar {
    public var primal: Double { self }
    public var sigmoid: Double { 1 / (1 + Foundation.exp(-self)) }
    public var tanh: Double { Foundation.tanh(self) }
    public var relu: Double { self > 0 ? self : 0 }
}

/// `v + ε d` with ε² = 0.
public struct DualNumber: RecurrentScalar, Equatable {
    public var v: Double
    public var d: Double
    public init(_ value: Double) { v = value; d = 0 }
    public init(_ v: Double, _ d: Double) { self.v = v; self.d = d }
    public var primal: Double { v }
    @inline(__always) public static func + (a: Self, b: Self) -> Self { Self(a.v + b.v, a.d + b.d) }
    @inline(__always) public static func - (a: Self, b: Self) -> Self { Self(a.v - b.v, a.d - b.d) }
    @inline(__always) public static func * (a: Self, b: Self) -> Self { Self(a.v * b.v, a.v * b.d + a.d * b.v) }
    public var sigmoid: Self { let s = v.sigmoid; return Self(s, d * s * (1 - s)) }
    public var tanh: Self { let t = Foundation.tanh(v); return Self(t, d * (1 - t * t)) }
    public var relu: Self { v > 0 ? self : Self(0, 0) }
}
