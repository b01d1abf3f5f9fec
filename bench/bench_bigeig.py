#!/usr/bin/env python3
"""CPU time of the values-only symmetric eigen-solvers of the system OpenBLAS (the library the
audit links) at large orders: dsyrk (the Gram), dsyevd and dsyevd_2stage (jobz='N', uplo='L'),
called through ctypes with the workspace queried once, one or two OpenBLAS threads.
Usage: python3 bench/bench_bigeig.py [--sizes 1024 2048 4096] [--reps 3] [--threads 1 2]
Prints one line per (routine, n, threads): median CPU s, median wall s, and the largest relative
difference of the eigenvalues against dsyevd one thread (normwise, i.e. / λ_max, and for λ_min).
Never part of `swift test`; the numbers go to bench/RESULTS.md by hand."""
import argparse, ctypes, os, statistics, time
import numpy as np

lib = ctypes.CDLL(os.environ.get("OPENBLAS_LIB", "/lib/x86_64-linux-gnu/libopenblas.so.0"))
lib.openblas_set_num_threads.argtypes = [ctypes.c_int]
lib.openblas_get_corename.restype = ctypes.c_char_p
I = ctypes.c_int
P = ctypes.POINTER


def eig(name, g, threads):
    n = g.shape[0]
    a = np.asfortranarray(g.copy())
    w = np.zeros(n)
    fn = getattr(lib, name)
    args = lambda a, w, work, lw, iwork, liw: (ctypes.byref(ctypes.c_char(b"N")), ctypes.byref(ctypes.c_char(b"L")),
                                               ctypes.byref(I(n)), a.ctypes.data_as(P(ctypes.c_double)), ctypes.byref(I(n)),
                                               w.ctypes.data_as(P(ctypes.c_double)), work, ctypes.byref(I(lw)),
                                               iwork, ctypes.byref(I(liw)), ctypes.byref(info), ctypes.c_size_t(1), ctypes.c_size_t(1))
    info = I(0)
    wq = (ctypes.c_double * 1)(); iq = (I * 1)()
    fn(*args(a, w, wq, -1, iq, -1))
    lw, liw = int(wq[0]), int(iq[0])
    work = (ctypes.c_double * lw)(); iwork = (I * liw)()
    lib.openblas_set_num_threads(threads)
    c0, t0 = time.process_time(), time.perf_counter()
    fn(*args(a, w, work, lw, iwork, liw))
    c1, t1 = time.process_time(), time.perf_counter()
    assert info.value == 0, info.value
    return c1 - c0, t1 - t0, w


def syrk(x, threads):
    m, n = x.shape
    c = np.zeros((n, n), order="F")
    xf = np.asfortranarray(x)
    lib.openblas_set_num_threads(threads)
    c0, t0 = time.process_time(), time.perf_counter()
    # cblas_dsyrk(ColMajor=102, Lower=122, Trans=112, n, k=m, 1, A, lda=m, 0, C, n): C = AᵀA
    lib.cblas_dsyrk(I(102), I(122), I(112), I(n), I(m), ctypes.c_double(1.0), xf.ctypes.data_as(P(ctypes.c_double)), I(m),
                    ctypes.c_double(0.0), c.ctypes.data_as(P(ctypes.c_double)), I(n))
    c1, t1 = time.process_time(), time.perf_counter()
    return c1 - c0, t1 - t0, c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[1024, 2048, 4096])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, nargs="+", default=[1])
    ap.add_argument("--rows-factor", type=float, default=1.0, help="Gram of an (f·n) × n Gaussian")
    ap.add_argument("--skip-one-stage-above", type=int, default=1 << 30)
    o = ap.parse_args()
    lib.openblas_set_num_threads(1)
    print(f"OpenBLAS core {lib.openblas_get_corename().decode()}, load {os.getloadavg()}", flush=True)
    rng = np.random.default_rng(0)
    for n in o.sizes:
        x = rng.standard_normal((int(o.rows_factor * n), n))
        _, _, g = syrk(x, 1)
        ref = None
        for th in o.threads:
            r = [syrk(x, th)[:2] for _ in range(o.reps)]
            print(f"dsyrk n={n} m={x.shape[0]} threads={th}: cpu {statistics.median(a for a, _ in r):.3f} s "
                  f"wall {statistics.median(b for _, b in r):.3f} s", flush=True)
        for name in ["dsyevd_", "dsyevd_2stage_"]:
            if name == "dsyevd_" and n > o.skip_one_stage_above:
                continue
            for th in o.threads:
                r = [eig(name, g, th) for _ in range(o.reps)]
                w = r[0][2]
                if ref is None:
                    ref = w
                dn = np.max(np.abs(w - ref)) / ref[-1]
                dmin = abs(w[0] - ref[0]) / abs(ref[0])
                print(f"{name} n={n} threads={th}: cpu {statistics.median(a for a, _, _ in r):.3f} s "
                      f"wall {statistics.median(b for _, b, _ in r):.3f} s  max|Δλ|/λmax {dn:.2e}  Δλmin/λmin {dmin:.2e}",
                      flush=True)
    print(f"load {os.getloadavg()}")


if __name__ == "__main__":
    main()
