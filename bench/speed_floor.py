#!/usr/bin/env python3
"""Issue 20 floor analysis: CPU time of each LAPACK/BLAS stage of the exact Gram path, per shape,
in the OpenBLAS spectral-audit links (Debian's libopenblas.so.0, one thread), called through ctypes
with the same arguments the audit passes (values only, lower triangle, column-major).

For each order n (and k, the longer side): dsyrk (Gram), dsytrd (tridiagonal reduction, the
one-stage routine dsyevd uses below n = 1024), dsterf (eigenvalues of the tridiagonal), the
whole dsyevd (jobz = 'N') and dsyevd_2stage; dgesdd (jobz = 'N') on the n × k matrix for the
fallback. CPU time of this thread (time.thread_time), median of --reps calls; GFLOP/s counted as
n²k (dsyrk, lower triangle) and 4n³/3 (dsytrd). CPU time is the comparable figure on a shared
machine; the rates are lower bounds of what an idle core does.

    OPENBLAS_NUM_THREADS=1 python3 bench/speed_floor.py [--reps 7]
"""
import argparse
import ctypes
import statistics
import time

import numpy as np

L = ctypes.CDLL("libopenblas.so.0")
L.openblas_set_num_threads(1)
P = ctypes.POINTER(ctypes.c_double)
IP = ctypes.POINTER(ctypes.c_int)
c_int, c_double, c_char = ctypes.c_int, ctypes.c_double, ctypes.c_char


def ptr(a):
    return a.ctypes.data_as(P)


def ref(v, t=c_int):
    return ctypes.byref(t(v))


def timed(fn, reps):
    out = []
    for _ in range(reps):
        prepare = fn()
        t = time.thread_time()
        prepare()
        out.append(time.thread_time() - t)
    return statistics.median(out)


def gram(x):
    k, n = x.shape  # row-major k × n = column-major n × k (ld n): G = X^T X via NoTrans
    g = np.zeros(n * n)
    L.cblas_dsyrk(102, 122, 111, n, k, c_double(1.0), ptr(x), n, c_double(0.0), ptr(g), n)
    return g


def stages(n, k, reps):
    rng = np.random.default_rng(n + k)
    x = np.ascontiguousarray(rng.standard_normal((k, n)))
    g0 = gram(x)
    res = {}
    res["dsyrk"] = timed(lambda: (lambda: gram(x)), reps)

    def sytrd():
        a = g0.copy()
        d, e, tau = np.zeros(n), np.zeros(n), np.zeros(n)
        work = np.zeros(1)
        info = c_int(0)
        L.dsytrd_(ctypes.c_char_p(b"L"), ref(n), ptr(a), ref(n), ptr(d), ptr(e), ptr(tau), ptr(work), ref(-1), ctypes.byref(info), 1)
        lw = int(work[0])
        work = np.zeros(lw)
        return lambda: L.dsytrd_(ctypes.c_char_p(b"L"), ref(n), ptr(a), ref(n), ptr(d), ptr(e), ptr(tau), ptr(work), ref(lw), ctypes.byref(info), 1)
    res["dsytrd"] = timed(sytrd, reps)

    a = g0.copy()
    d, e, tau = np.zeros(n), np.zeros(n), np.zeros(n)
    work = np.zeros(64 * n)
    info = c_int(0)
    L.dsytrd_(ctypes.c_char_p(b"L"), ref(n), ptr(a), ref(n), ptr(d), ptr(e), ptr(tau), ptr(work), ref(64 * n), ctypes.byref(info), 1)

    def sterf():
        dd, ee = d.copy(), e.copy()
        return lambda: L.dsterf_(ref(n), ptr(dd), ptr(ee), ctypes.byref(info))
    res["dsterf"] = timed(sterf, reps)

    def syevd(two):
        a = g0.copy()
        w = np.zeros(n)
        fn = L.dsyevd_2stage_ if two else L.dsyevd_
        work, iwork = np.zeros(1), np.zeros(1, dtype=np.int32)
        fn(ctypes.c_char_p(b"N"), ctypes.c_char_p(b"L"), ref(n), ptr(a), ref(n), ptr(w), ptr(work), ref(-1),
           iwork.ctypes.data_as(IP), ref(-1), ctypes.byref(info), 1, 1)
        lw, liw = int(work[0]), int(iwork[0])
        work, iwork = np.zeros(lw), np.zeros(liw, dtype=np.int32)
        return lambda: fn(ctypes.c_char_p(b"N"), ctypes.c_char_p(b"L"), ref(n), ptr(a), ref(n), ptr(w), ptr(work), ref(lw),
                          iwork.ctypes.data_as(IP), ref(liw), ctypes.byref(info), 1, 1)
    res["dsyevd"] = timed(lambda: syevd(False), reps)
    res["dsyevd_2stage"] = timed(lambda: syevd(True), reps)
    if n <= 1024:
        def gesdd():
            a = np.asfortranarray(x.T.copy())  # n × k column-major
            s = np.zeros(n)
            work = np.zeros(1)
            iwork = np.zeros(8 * n, dtype=np.int32)
            dummy = np.zeros(1)
            L.dgesdd_(ctypes.c_char_p(b"N"), ref(n), ref(k), ptr(a), ref(n), ptr(s), ptr(dummy), ref(1), ptr(dummy), ref(1),
                      ptr(work), ref(-1), iwork.ctypes.data_as(IP), ctypes.byref(info), 1)
            lw = int(work[0])
            work = np.zeros(lw)
            return lambda: L.dgesdd_(ctypes.c_char_p(b"N"), ref(n), ref(k), ptr(a), ref(n), ptr(s), ptr(dummy), ref(1), ptr(dummy),
                                     ref(1), ptr(work), ref(lw), iwork.ctypes.data_as(IP), ctypes.byref(info), 1)
        res["dgesdd"] = timed(gesdd, reps)
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=7)
    args = ap.parse_args()
    import os
    print(f"load average {os.getloadavg()}")
    print("| n × k | dsyrk ms (GFLOP/s) | dsytrd ms (GFLOP/s) | dsterf ms | dsyevd ms | dsyevd_2stage ms | dgesdd 'N' ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for (n, k) in [(384, 384), (384, 512), (384, 1536), (1024, 4096), (2048, 2048)]:
        r = stages(n, k, args.reps if n < 2048 else 3)
        syrk = n * n * k / r["dsyrk"] / 1e9
        trd = 4 / 3 * n ** 3 / r["dsytrd"] / 1e9
        g = f"{r['dgesdd'] * 1e3:.1f}" if "dgesdd" in r else "—"
        print(f"| {n} × {k} | {r['dsyrk'] * 1e3:.2f} ({syrk:.0f}) | {r['dsytrd'] * 1e3:.2f} ({trd:.1f}) | {r['dsterf'] * 1e3:.2f} | "
              f"{r['dsyevd'] * 1e3:.2f} | {r['dsyevd_2stage'] * 1e3:.2f} | {g} |", flush=True)


if __name__ == "__main__":
    main()
