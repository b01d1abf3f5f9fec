// Workspace for the values-only symmetric eigen-solver (`LAPACKCalls.symmetricEigenvalues`),
// kept between calls instead of LAPACKE's query + malloc + free on every call.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
internal import CLAPACK

/// Optimal `dsyevd` / `dsyevd_2stage` workspace sizes (queried once per order and stage) and a
/// small pool of workspace buffers, one per concurrently running job. Buffers larger than
/// `retainedBytes` are freed after use rather than pooled, so that holding them never raises the
/// process's peak memory beyond what one call needs (a 384-order call needs ~100 KB; 2048
/// with the two-stage reduction a few MB).
enum EigenWorkspace {
    /// Buffers up to this size stay in the pool between calls.
    static let retainedBytes = 8 << 20
    /// At most this many buffers stay in the pool.
    static let pooled = 8

    private final class Pool: @unchecked Sendable {
        var mutex = pthread_mutex_t()
        var sizes: [Int: (Int, Int)] = [:]
        var free: [(doubles: UnsafeMutablePointer<Double>, dCount: Int, ints: UnsafeMutablePointer<Int32>, iCount: Int)] = []
        init() { pthread_mutex_init(&mutex, nil) }
        func locked<T>(_ body: () throws -> T) rethrows -> T {
            pthread_mutex_lock(&mutex)
            defer { pthread_mutex_unlock(&mutex) }
            return try body()
        }
    }

    private static let pool = Pool()

    /// `(lwork, liwork)` that LAPACKE_dsyevd(_2stage) would use for order n (its workspace query).
    static func sizes(n: Int, twoStage: Bool) throws -> (Int, Int) {
        let key = twoStage ? -n : n
        if let s = pool.locked({ pool.sizes[key] }) { return s }
        var workQuery = 0.0
        var iworkQuery: Int32 = 0
        var dummyA = 0.0, dummyW = 0.0
        let info = spectral_dsyevd_values(twoStage ? 1 : 0, Int32(n), &dummyA, Int32(n), &dummyW, &workQuery, -1, &iworkQuery, -1)
        if info != 0 { throw LinearAlgebraError.lapack(routine: twoStage ? "dsyevd_2stage" : "dsyevd", info: Int(info)) }
        let s = (Swift.max(1, Int(workQuery)), Swift.max(1, Int(iworkQuery)))
        pool.locked { pool.sizes[key] = s }
        return s
    }

    /// Runs `body` with workspace of at least `doubles` / `ints` elements (contents undefined).
    static func with<T>(doubles: Int, ints: Int, _ body: (UnsafeMutablePointer<Double>, UnsafeMutablePointer<Int32>) -> T) -> T {
        var buffer = pool.locked { () -> (doubles: UnsafeMutablePointer<Double>, dCount: Int, ints: UnsafeMutablePointer<Int32>, iCount: Int)? in
            guard let k = pool.free.firstIndex(where: { $0.dCount >= doubles && $0.iCount >= ints }) else { return nil }
            return pool.free.remove(at: k)
        }
        if buffer == nil {
            buffer = (UnsafeMutablePointer<Double>.allocate(capacity: doubles), doubles,
                      UnsafeMutablePointer<Int32>.allocate(capacity: ints), ints)
        }
        let b = buffer!
        let result = body(b.doubles, b.ints)
        if b.dCount * 8 + b.iCount * 4 <= retainedBytes {
            let evicted = pool.locked { () -> [(doubles: UnsafeMutablePointer<Double>, dCount: Int, ints: UnsafeMutablePointer<Int32>, iCount: Int)] in
                pool.free.append(b)
                // At most `pooled` buffers (one per job is all that is ever in use): drop the smallest.
                guard pool.free.count > pooled else { return [] }
                pool.free.sort { $0.dCount > $1.dCount }
                let extra = Array(pool.free[pooled...])
                pool.free.removeLast(pool.free.count - pooled)
                return extra
            }
            for e in evicted { e.doubles.deallocate(); e.ints.deallocate() }
        } else {
            b.doubles.deallocate()
            b.ints.deallocate()
        }
        return result
    }
}
