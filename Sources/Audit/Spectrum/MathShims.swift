#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// Named wrappers so the metric code reads unambiguously (libm only).
@inline(__always) func mathLog(_ x: Double) -> Double { log(x) }
@inline(__always) func mathExp(_ x: Double) -> Double { exp(x) }
@inline(__always) func mathLog10(_ x: Double) -> Double { log10(x) }
@inline(__always) func mathPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
