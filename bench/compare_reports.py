#!/usr/bin/env python3
"""Compare two spectral-audit JSON reports number by number.

Usage: compare_reports.py BEFORE.json AFTER.json [--rtol 1e-12]

Walks both documents together; booleans and structure must be equal, and every number must agree
to the relative tolerance (|a - b| <= rtol * max(|a|, |b|)). Two documented exceptions:
- attribution instability values are 1 - cos(a, a') of two nearly parallel saliency maps, in
  [0, 2]; the subtraction cancels, so they are compared with an absolute floor of 1e-14 (the
  cosine itself still agrees to ~1e-16);
- numbers printed inside prose (the Lanczos error estimates in the assumptions) are compared with
  rtol 1e-9 and an absolute floor of 1e-20 (they are rounding-level residuals).
Prints the largest relative difference and every violation; exit status 1 on any violation.
Used to check that an engine change leaves the reports unchanged (issue 17, "Done when").
"""
import json
import re
import sys

NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def close_strings(a, b):
    na, nb = NUMBER.findall(a), NUMBER.findall(b)
    if NUMBER.sub("#", a) != NUMBER.sub("#", b) or len(na) != len(nb):
        return False
    return all(abs(float(x) - float(y)) <= 1e-9 * max(abs(float(x)), abs(float(y))) + 1e-20 for x, y in zip(na, nb))


def walk(a, b, path, out):
    if isinstance(a, str) and isinstance(b, str):
        if a != b and not close_strings(a, b):
            out["bad"].append(f"{path}: {a!r} != {b!r}")
        return
    if isinstance(a, bool) or isinstance(b, bool) or a is None or b is None:
        if a != b:
            out["bad"].append(f"{path}: {a!r} != {b!r}")
        return
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        scale = max(abs(a), abs(b), 1e-300)
        rel = abs(a - b) / scale
        atol = 1e-14 if "attribution_instability" in path else 0.0
        if rel > out["max"][0] and abs(a - b) > atol:
            out["max"] = (rel, path)
        if abs(a - b) > out["rtol"] * scale + atol:
            out["bad"].append(f"{path}: {a!r} vs {b!r} (rel {rel:.2e})")
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out["bad"].append(f"{path}: lengths {len(a)} != {len(b)}")
            return
        for i, (x, y) in enumerate(zip(a, b)):
            walk(x, y, f"{path}[{i}]", out)
        return
    if isinstance(a, dict) and isinstance(b, dict):
        if set(a) != set(b):
            out["bad"].append(f"{path}: keys differ {sorted(set(a) ^ set(b))}")
        for k in sorted(set(a) & set(b)):
            walk(a[k], b[k], f"{path}.{k}", out)
        return
    out["bad"].append(f"{path}: types {type(a).__name__} != {type(b).__name__}")


def main():
    args = sys.argv[1:]
    rtol = 1e-12
    if "--rtol" in args:
        i = args.index("--rtol")
        rtol = float(args[i + 1])
        del args[i:i + 2]
    a, b = (json.load(open(p)) for p in args)
    out = {"bad": [], "max": (0.0, ""), "rtol": rtol}
    walk(a, b, "$", out)
    print(f"{args[1]}: max relative difference {out['max'][0]:.3e} at {out['max'][1]}")
    for line in out["bad"]:
        print("  " + line)
    sys.exit(1 if out["bad"] else 0)


if __name__ == "__main__":
    main()
