"""Fits the rational erf of src/runtime/cpu/vector_math.h (erf_rational) and prints its coefficients.

erf(u) ~ u * P(u^2) / Q(u^2) on 0 < u <= CLAMP (erf is odd; from CLAMP on it rounds to 1 in float),
P of degree NP-1 and Q of degree NQ-1 in u^2 with Q(0) = 1. Linearised least squares
(u P - erf Q = 0), reweighted by 1/Q (Sanathanan-Koerner) and by the error itself (Lawson), which
drives the fit towards equal ripple. Then the float32 coefficients are evaluated as the C++ code does
(Horner in float32, the clamps) and the worst error over [-6, 6] is printed.

  .venv/bin/python tools/fit_erf_rational.py            # the committed fit: 3.9 7 5
"""

from __future__ import annotations

import argparse
import math

import numpy as np


def fit(clamp: float, num: int, den: int, iterations: int = 60) -> tuple[np.ndarray, np.ndarray]:
    u = np.linspace(0.0, clamp, 20001)[1:]
    f = np.array([math.erf(v) for v in u])
    s = u * u
    weights = np.ones_like(u)
    q_values = np.ones_like(u)
    for _ in range(iterations):
        a = np.hstack([u[:, None] * s[:, None] ** np.arange(num), -(f[:, None] * s[:, None] ** np.arange(1, den))])
        w = weights / np.abs(q_values)
        sol, *_ = np.linalg.lstsq(a * w[:, None], f * w, rcond=None)
        p, q = sol[:num], np.concatenate([[1.0], sol[num:]])
        q_values = np.polyval(q[::-1], s)
        err = u * np.polyval(p[::-1], s) / q_values - f
        weights = weights * np.sqrt(np.abs(err) / np.abs(err).max()) + 1e-12
        weights *= len(weights) / weights.sum()
    return p.astype(np.float32), q.astype(np.float32)


def erf_float32(u: np.ndarray, p: np.ndarray, q: np.ndarray, clamp: float) -> np.ndarray:
    """The C++ evaluation order, in float32 (numpy rounds each operation; C++ may fuse into FMAs)."""
    z = np.minimum(np.abs(u).astype(np.float32), np.float32(clamp))
    s = z * z
    pv = np.full_like(z, p[-1])
    for c in p[-2::-1]:
        pv = pv * s + c
    qv = np.full_like(z, q[-1])
    for c in q[-2::-1]:
        qv = qv * s + c
    return np.copysign(np.minimum(z * pv / qv, np.float32(1.0)), u)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("clamp", nargs="?", type=float, default=3.9)
    parser.add_argument("num", nargs="?", type=int, default=7, help="coefficients of P (in u^2)")
    parser.add_argument("den", nargs="?", type=int, default=5, help="coefficients of Q (in u^2), Q(0) = 1")
    args = parser.parse_args()
    p, q = fit(args.clamp, args.num, args.den)
    u = np.linspace(-6.0, 6.0, 1200001).astype(np.float32)
    want = np.array([math.erf(v) for v in u.astype(np.float64)])
    err = np.abs(erf_float32(u, p, q, args.clamp).astype(np.float64) - want)
    nonzero = want != 0
    print(f"max |error| {err.max():.3g} at u = {u[np.argmax(err)]:.4f}; "
          f"max relative {np.max(err[nonzero] / np.abs(want[nonzero])):.3g}")
    print("P (highest degree first):", ", ".join(f"{c:.9g}f" for c in p[::-1]))
    print("Q (highest degree first):", ", ".join(f"{c:.9g}f" for c in q[::-1]))


if __name__ == "__main__":
    main()
