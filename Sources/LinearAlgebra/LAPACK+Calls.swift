// With its `LAPACK+*.swift` siblings (and `TiledGram.swift`, the tiled Gram's dsyrk/dgemm calls),
// the only files of the package that call CBLAS / LAPACKE / OpenBLAS. Every LAPACK `info != 0`
// becomes a thrown `LinearAlgebraError.lapack`; every entry point first runs
// `BLASRuntime.ensureConfigured()` so that kernel selection and the thread count are settled
// before the first BLAS call of the process.
internal import CLAPACK
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Runtime configuration (threads, kernels)

/// Process-wide OpenBLAS configuration.
///
/// OpenBLAS 0.3.21 (Debian 12) predates this machine's CPU (Intel family 6, model 207): its
/// `DYNAMIC_ARCH` dispatcher falls back to the `Prescott` kernels (SSE3), which run `dsyrk`
/// about 6× and `dgemm` about 6–8× slower than the `SkylakeX` (AVX-512) kernels the CPU supports.
/// On first use we therefore re-run OpenBLAS's own dispatcher with `OPENBLAS_CORETYPE` set to
/// the best family the CPU flags allow (`gotoblas_dynamic_quit` + `gotoblas_dynamic_init`, both
/// exported by `libopenblas.so.0`), but only when (a) the user did not set `OPENBLAS_CORETYPE`,
/// (b) the detected core is a generic fallback, and (c) `/proc/cpuinfo` (which the kernel filters
/// by what the OS enables in XCR0) lists every required flag. Otherwise nothing is touched.
/// Results are identical to rounding (checked by the test suite against numpy).
public enum BLASRuntime {
    private struct State: Sendable {
        let coreBefore: String
        let coreAfter: String
    }

    private static let state: State = configureOnce()

    /// Call before any BLAS work (every wrapper here does). Idempotent and thread-safe.
    @inline(__always) static func ensureConfigured() { _ = state }

    /// The OpenBLAS kernel family in use, e.g. `SkylakeX`.
    public static var coreName: String { ensureConfigured(); return state.coreAfter }

    /// What the dispatcher picked before our re-selection (equal to `coreName` when untouched).
    public static var detectedCoreName: String { ensureConfigured(); return state.coreBefore }

    /// One line for logs and reports.
    public static var summary: String {
        let s = state
        return s.coreBefore == s.coreAfter
            ? "OpenBLAS core \(s.coreAfter)"
            : "OpenBLAS core \(s.coreAfter) (re-selected from \(s.coreBefore))"
    }

    private static func currentCore() -> String {
        guard let p = openblas_get_corename() else { return "unknown" }
        return String(cString: p)
    }

    private static func configureOnce() -> State {
        let before = currentCore()
        openblas_set_num_threads(1)
        #if os(Linux)
        let generic: Set<String> = ["prescott", "katmai", "coppermine", "northwood", "banias",
                                    "core2", "penryn", "dunnington", "nehalem", "atom", "unknown"]
        guard getenv("OPENBLAS_CORETYPE") == nil, generic.contains(before.lowercased()),
              let target = bestCoreForThisCPU(),
              let handle = dlopen(nil, RTLD_NOW),
              let quitSym = dlsym(handle, "gotoblas_dynamic_quit"),
              let initSym = dlsym(handle, "gotoblas_dynamic_init")
        else { return State(coreBefore: before, coreAfter: before) }
        typealias VoidFn = @convention(c) () -> Void
        let quit = unsafeBitCast(quitSym, to: VoidFn.self)
        let reinit = unsafeBitCast(initSym, to: VoidFn.self)
        setenv("OPENBLAS_CORETYPE", target, 1)
        quit()
        reinit()
        unsetenv("OPENBLAS_CORETYPE")
        openblas_set_num_threads(1)
        return State(coreBefore: before, coreAfter: currentCore())
        #else
        return State(coreBefore: before, coreAfter: before)
        #endif
    }

    #if os(Linux)
    private static func bestCoreForThisCPU() -> String? {
        guard let f = fopen("/proc/cpuinfo", "r") else { return nil }
        defer { fclose(f) }
        var line: UnsafeMutablePointer<CChar>? = nil
        var cap = 0
        defer { free(line) }
        var flags = Set<Substring>()
        while getline(&line, &cap, f) > 0 {
            let s = String(cString: line!)
            if s.hasPrefix("flags") {
                if let colon = s.firstIndex(of: ":") {
                    flags = Set(s[s.index(after: colon)...].split(whereSeparator: { $0 == " " || $0 == "\n" }))
                }
                break
            }
        }
        let avx512 = ["avx512f", "avx512dq", "avx512cd", "avx512bw", "avx512vl"]
        if avx512.allSatisfy({ flags.contains(Substring($0)) }) { return "SkylakeX" }
        if ["avx2", "fma", "avx"].allSatisfy({ flags.contains(Substring($0)) }) { return "Haswell" }
        if flags.contains("avx") { return "Sandybridge" }
        return nil
    }
    #endif
}

/// BLAS thread count. Default (set on first use): one thread — parallelise across layers in
/// Swift instead; with a busy core, two BLAS threads made `sgesdd` 6× slower here.
public enum BLASThreads {
    public static func set(_ n: Int) {
        BLASRuntime.ensureConfigured()
        openblas_set_num_threads(Int32(clamping: Swift.max(1, n)))
    }

    public static var current: Int {
        BLASRuntime.ensureConfigured()
        return Int(openblas_get_num_threads())
    }
}

// MARK: - BLAS / LAPACK wrappers (internal)

enum LAPACKCalls {
    /// From this order on, values-only eigenvalues use the two-stage tridiagonalisation
    /// (`dsyevd_2stage`). Measured CPU time per call, one thread, Gram of a Gaussian
    /// (bench/RESULTS.md, "large layers" and "speed20" sections): on the 2-core AMD EPYC
    /// (Cooperlake kernels) one-stage `dsyevd` wins at every order up to 2048 (1024: 64–73 vs
    /// 90–102 ms; 2048: 498 vs 529 ms) and two-stage only at 4096 (3.6 vs 5.9 s); on Intel
    /// SkylakeX two-stage was 25–30 % faster at 2048–3072 and slower below ~1000. One threshold
    /// for every CPU (a report must not change stage with the CPU family): 2048, where the
    /// two measurements roughly break even. Raised from 1024 on 2026-12-07 (issue 20): orders
    /// 1024–2047 moved by rounding only (≤ 1.3e-14 relative on the 4096×1024 bench input).
    static let twoStageThreshold = 2048

    /// Eigenvalues (ascending) of a symmetric `n × n` column-major matrix whose lower triangle is
    /// set (`dsyevd`, or `dsyevd_2stage` for n ≥ `twoStageThreshold`; `jobz = 'N'`). Destroys `a`.
    ///
    /// Calls the Fortran routine directly (`spectral_dsyevd_values`) rather than LAPACKE, which
    /// scans the triangle for NaN (the callers have checked every entry finite) and queries and
    /// allocates the workspace on each call: here the optimal sizes are queried once per
    /// (order, stage) and cached, and the buffers come from `EigenWorkspace` (reused between the
    /// calls of a job). The routine, its arguments and `lwork` are those LAPACKE passes, so the
    /// values are the same to the bit (dsytrd's block size depends on `lwork` only when it is
    /// below the optimum). Callers pass finite matrices only (`SVD` checks every entry, the
    /// streamed Gram refuses non-finite chunks, both before the Gram is formed); should a
    /// non-finite value reach LAPACK anyway, `info != 0` or a non-finite eigenvalue throws.
    /// `upper`: the upper triangle is set instead (same routine, `uplo = 'U'`).
    static func symmetricEigenvalues(_ a: inout [Double], n: Int, upper: Bool = false) throws -> [Double] {
        BLASRuntime.ensureConfigured()
        if n == 0 { return [] }
        let twoStage = n >= twoStageThreshold
        let (lwork, liwork) = try EigenWorkspace.sizes(n: n, twoStage: twoStage)
        var w = [Double](repeating: 0, count: n)
        let info = EigenWorkspace.with(doubles: lwork, ints: liwork) { work, iwork in
            a.withUnsafeMutableBufferPointer { ap in
                w.withUnsafeMutableBufferPointer { wp in
                    spectral_dsyevd_values_uplo(CChar(UInt8(ascii: upper ? "U" : "L")), twoStage ? 1 : 0, Int32(n),
                                                ap.baseAddress, Int32(n), wp.baseAddress, work, Int32(lwork), iwork, Int32(liwork))
                }
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: twoStage ? "dsyevd_2stage" : "dsyevd", info: Int(info)) }
        guard w.allSatisfy({ $0.isFinite }) else { throw LinearAlgebraError.nonFinite }
        return w
    }

    /// The largest eigenvalue of a symmetric `n × n` column-major matrix whose lower triangle is
    /// set (`dsyevr`, `jobz = 'N'`, `range = 'I'`, `il = iu = n`): the tridiagonal reduction, then
    /// bisection for that one value (`dstebz`, absolute accuracy ε·‖T‖, i.e. relative ε for the
    /// largest) instead of all n values (`dsterf`, O(n²)). Destroys `a`.
    static func largestSymmetricEigenvalue(_ a: inout [Double], n: Int) throws -> Double {
        BLASRuntime.ensureConfigured()
        if n == 0 { return 0 }
        var found: Int32 = 0
        var w = [Double](repeating: 0, count: n)
        var z = [Double](repeating: 0, count: 1)
        var support = [Int32](repeating: 0, count: 2)
        let info = a.withUnsafeMutableBufferPointer { ap in
            LAPACKE_dsyevr(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "N")), CChar(UInt8(ascii: "I")), CChar(UInt8(ascii: "L")),
                           Int32(n), ap.baseAddress, Int32(n), 0, 0, Int32(n), Int32(n), 0, &found, &w, &z, 1, &support)
        }
        if info != 0 || found != 1 { throw LinearAlgebraError.lapack(routine: "dsyevr", info: Int(info)) }
        return w[0]
    }

    /// Whether the symmetric `n × n` column-major matrix whose lower triangle is set is
    /// numerically positive definite: its Cholesky factorisation (`dpotrf`, level-3 blocked,
    /// n³/3 flops) runs to the end. Destroys `a`. `info > 0` (a non-positive pivot) is the
    /// answer "no", not an error.
    static func choleskySucceeds(_ a: inout [Double], n: Int) throws -> Bool {
        BLASRuntime.ensureConfigured()
        if n == 0 { return true }
        let info = a.withUnsafeMutableBufferPointer { ap in
            LAPACKE_dpotrf(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "L")), Int32(n), ap.baseAddress, Int32(n))
        }
        if info < 0 { throw LinearAlgebraError.lapack(routine: "dpotrf", info: Int(info)) }
        return info == 0
    }

    /// The Hermitian Gram of the smaller side of a complex row-major `rows × cols` matrix given as
    /// interleaved (re, im) doubles (`zherk`, lower triangle, column-major, interleaved). For
    /// `cols ≤ rows` this is `conj(AᴴA)`, otherwise `conj(AAᴴ)`: the conjugate has the same
    /// (real) eigenvalues and definiteness, which is all its callers use.
    static func complexGramSmallerSide(_ a: UnsafeBufferPointer<Double>, rows: Int, cols: Int) -> [Double] {
        BLASRuntime.ensureConfigured()
        let p = Swift.min(rows, cols)
        var g = [Double](repeating: 0, count: 2 * p * p)
        g.withUnsafeMutableBufferPointer { gp in
            // Row-major A (rows × cols) is column-major Aᵀ (cols × rows, lda = cols).
            if cols <= rows {
                // (Aᵀ)(Aᵀ)ᴴ = AᵀĀ = conj(AᴴA).
                cblas_zherk(CblasColMajor, CblasLower, CblasNoTrans, Int32(p), Int32(rows),
                            1.0, a.baseAddress, Int32(cols), 0.0, gp.baseAddress, Int32(p))
            } else {
                // (Aᵀ)ᴴ(Aᵀ) = ĀAᵀ = conj(AAᴴ).
                cblas_zherk(CblasColMajor, CblasLower, CblasConjTrans, Int32(p), Int32(cols),
                            1.0, a.baseAddress, Int32(cols), 0.0, gp.baseAddress, Int32(p))
            }
        }
        return g
    }

    /// `choleskySucceeds` for a Hermitian matrix (interleaved complex, lower triangle; `zpotrf`).
    static func complexCholeskySucceeds(_ a: inout [Double], n: Int) throws -> Bool {
        BLASRuntime.ensureConfigured()
        if n == 0 { return true }
        let info = a.withUnsafeMutableBufferPointer { spectral_zpotrf_lower(Int32(n), $0.baseAddress, Int32(n)) }
        if info < 0 { throw LinearAlgebraError.lapack(routine: "zpotrf", info: Int(info)) }
        return info == 0
    }

    /// The largest eigenvalue of a Hermitian `n × n` matrix (interleaved complex, lower triangle;
    /// `zheevr`, values only, one eigenvalue). Destroys `a`.
    static func largestHermitianEigenvalue(_ a: inout [Double], n: Int) throws -> Double {
        BLASRuntime.ensureConfigured()
        if n == 0 { return 0 }
        var found: Int32 = 0
        var w = [Double](repeating: 0, count: n)
        let info = a.withUnsafeMutableBufferPointer { ap in
            w.withUnsafeMutableBufferPointer { spectral_zheevr_largest(Int32(n), ap.baseAddress, Int32(n), $0.baseAddress, &found) }
        }
        if info != 0 || found != 1 { throw LinearAlgebraError.lapack(routine: "zheevr", info: Int(info)) }
        return w[0]
    }

    /// Singular values (descending) of a row-major `rows × cols` matrix (`dgesdd`, `jobz = 'N'`).
    /// The row-major matrix is handed over as its column-major transpose: same singular values.
    static func gesddValues(_ a: [Double], rows: Int, cols: Int) throws -> [Double] {
        BLASRuntime.ensureConfigured()
        let p = Swift.min(rows, cols)
        if p == 0 { return [] }
        var work = a
        var s = [Double](repeating: 0, count: p)
        var dummyU = [Double](repeating: 0, count: 1)
        var dummyVT = [Double](repeating: 0, count: 1)
        let info = work.withUnsafeMutableBufferPointer { ap in
            s.withUnsafeMutableBufferPointer { sp in
                dummyU.withUnsafeMutableBufferPointer { up in
                    dummyVT.withUnsafeMutableBufferPointer { vp in
                        LAPACKE_dgesdd(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "N")),
                                       Int32(cols), Int32(rows), ap.baseAddress, Int32(cols),
                                       sp.baseAddress, up.baseAddress, 1, vp.baseAddress, 1)
                    }
                }
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dgesdd", info: Int(info)) }
        return s
    }

    /// SVD of a `k × k` upper bidiagonal matrix (diagonal `d`, superdiagonal `e`, `dbdsqr`).
    /// Returns the singular values (descending) and the left singular vectors, column-major
    /// `k × k` (column i belongs to value i).
    static func bidiagonalSVD(diagonal d: [Double], superdiagonal e: [Double]) throws
        -> (values: [Double], left: [Double]) {
        BLASRuntime.ensureConfigured()
        let k = d.count
        precondition(e.count == Swift.max(0, k - 1))
        if k == 0 { return ([], []) }
        var dd = d
        var ee = e + [0]  // LAPACKE reads n-1 entries; keep a valid pointer when k == 1
        var u = [Double](repeating: 0, count: k * k)
        for i in 0..<k { u[i * k + i] = 1 }
        var vt = [Double](repeating: 0, count: 1)
        var c = [Double](repeating: 0, count: 1)
        let info = dd.withUnsafeMutableBufferPointer { dp in
            ee.withUnsafeMutableBufferPointer { ep in
                u.withUnsafeMutableBufferPointer { up in
                    vt.withUnsafeMutableBufferPointer { vp in
                        c.withUnsafeMutableBufferPointer { cp in
                            LAPACKE_dbdsqr(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "U")), Int32(k),
                                           0, Int32(k), 0, dp.baseAddress, ep.baseAddress,
                                           vp.baseAddress, 1, up.baseAddress, Int32(k),
                                           cp.baseAddress, 1)
                        }
                    }
                }
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dbdsqr", info: Int(info)) }
        return (dd, u)
    }

    /// `y ← alpha·op(A)·x + beta·y` for a row-major `rows × cols` matrix (`cblas_dgemv`).
    @inline(__always)
    static func gemv(transpose: Bool, rows: Int, cols: Int, alpha: Double,
                     _ a: UnsafePointer<Double>, _ x: UnsafePointer<Double>, beta: Double,
                     _ y: UnsafeMutablePointer<Double>) {
        BLASRuntime.ensureConfigured()
        if rows == 0 || cols == 0 {
            let ny = transpose ? cols : rows
            if beta == 0 { for i in 0..<ny { y[i] = 0 } } else if beta != 1 { for i in 0..<ny { y[i] *= beta } }
            return
        }
        cblas_dgemv(CblasRowMajor, transpose ? CblasTrans : CblasNoTrans, Int32(rows), Int32(cols),
                    alpha, a, Int32(cols), x, 1, beta, y, 1)
    }

    /// `C ← alpha·op(A)·op(B) + beta·C`, all row-major (`cblas_dgemm`).
    static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                     _ a: UnsafePointer<Double>, lda: Int, _ b: UnsafePointer<Double>, ldb: Int,
                     beta: Double, _ c: UnsafeMutablePointer<Double>, ldc: Int) {
        BLASRuntime.ensureConfigured()
        cblas_dgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }

    /// Euclidean norm with scaling against overflow (`cblas_dnrm2`).
    @inline(__always)
    static func nrm2(_ n: Int, _ x: UnsafePointer<Double>) -> Double {
        BLASRuntime.ensureConfigured()
        return n == 0 ? 0 : cblas_dnrm2(Int32(n), x, 1)
    }

    /// Eigenvalues (ascending) and eigenvectors (column-major `k × k`) of the symmetric
    /// tridiagonal matrix with diagonal `d` and off-diagonal `e` (`dstev`).
    static func tridiagonalEigen(diagonal d: [Double], offDiagonal e: [Double]) throws -> (values: [Double], vectors: [Double]) {
        let k = d.count
        if k == 0 { return ([], []) }
        precondition(e.count >= k - 1)
        var dd = d
        var ee = Array(e.prefix(k - 1)) + [0]
        var z = [Double](repeating: 0, count: k * k)
        let info = dd.withUnsafeMutableBufferPointer { dp in
            ee.withUnsafeMutableBufferPointer { ep in
                z.withUnsafeMutableBufferPointer { zp in
                    LAPACKE_dstev(LAPACK_COL_MAJOR, CChar(UInt8(ascii: "V")), Int32(k), dp.baseAddress, ep.baseAddress,
                                  zp.baseAddress, Int32(k))
                }
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dstev", info: Int(info)) }
        return (dd, z)
    }

    // MARK: Thin SVD with vectors and QR (delta audits, Sources/LinearAlgebra/LowRank.swift)

    /// Thin SVD `A = U Σ Vᵀ` of a row-major `rows × cols` matrix (`dgesdd`, `jobz = 'S'`): `u`
    /// row-major `rows × p`, `vt` row-major `p × cols`, p = min(rows, cols), values descending.
    static func gesddThin(_ a: [Double], rows: Int, cols: Int) throws -> (u: [Double], values: [Double], vt: [Double]) {
        BLASRuntime.ensureConfigured()
        let p = Swift.min(rows, cols)
        if p == 0 { return ([], [], []) }
        var work = a
        var s = [Double](repeating: 0, count: p)
        var u = [Double](repeating: 0, count: rows * p)
        var vt = [Double](repeating: 0, count: p * cols)
        let info = work.withUnsafeMutableBufferPointer { ap in
            s.withUnsafeMutableBufferPointer { sp in
                u.withUnsafeMutableBufferPointer { up in
                    vt.withUnsafeMutableBufferPointer { vp in
                        LAPACKE_dgesdd(LAPACK_ROW_MAJOR, CChar(UInt8(ascii: "S")), Int32(rows), Int32(cols),
                                       ap.baseAddress, Int32(cols), sp.baseAddress, up.baseAddress, Int32(p),
                                       vp.baseAddress, Int32(cols))
                    }
                }
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dgesdd", info: Int(info)) }
        return (u, s, vt)
    }

    /// The R factor (row-major `min(rows, cols) × cols`, upper trapezoidal) of the Householder QR
    /// of a row-major `rows × cols` matrix (`dgeqrf`); Q is not formed.
    static func qrR(_ a: [Double], rows: Int, cols: Int) throws -> [Double] {
        BLASRuntime.ensureConfigured()
        let p = Swift.min(rows, cols)
        if p == 0 { return [] }
        var work = a
        var tau = [Double](repeating: 0, count: p)
        let info = work.withUnsafeMutableBufferPointer { ap in
            tau.withUnsafeMutableBufferPointer { tp in
                LAPACKE_dgeqrf(LAPACK_ROW_MAJOR, Int32(rows), Int32(cols), ap.baseAddress, Int32(cols), tp.baseAddress)
            }
        }
        if info != 0 { throw LinearAlgebraError.lapack(routine: "dgeqrf", info: Int(info)) }
        var r = [Double](repeating: 0, count: p * cols)
        for i in 0..<p { for j in i..<cols { r[i * cols + j] = work[i * cols + j] } }
        return r
    }
}
