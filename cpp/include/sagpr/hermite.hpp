// Cubic Hermite interpolation of tabulated values and derivatives on a uniform grid, shared by the
// radial integrals of the local density and the LODE tables.
#pragma once
#include <cstddef>

namespace sagpr {

// out[i] = interpolant at x of values/derivatives (n_nodes rows of `stride` entries, node k at k*spacing).
inline void hermite_evaluate(double x, double spacing, int n_nodes, int stride, const double* values,
                             const double* derivatives, double* out) {
    double t = x / spacing;
    int k = static_cast<int>(t);
    if (k >= n_nodes - 1) k = n_nodes - 2;
    if (k < 0) k = 0;
    t -= k;
    const double t2 = t * t, t3 = t2 * t;
    const double h00 = 2 * t3 - 3 * t2 + 1, h10 = (t3 - 2 * t2 + t) * spacing;
    const double h01 = -2 * t3 + 3 * t2, h11 = (t3 - t2) * spacing;
    const double* v0 = values + static_cast<size_t>(k) * stride;
    const double* v1 = v0 + stride;
    const double* d0 = derivatives + static_cast<size_t>(k) * stride;
    const double* d1 = d0 + stride;
    for (int i = 0; i < stride; ++i) out[i] = h00 * v0[i] + h10 * d0[i] + h01 * v1[i] + h11 * d1[i];
}

}  // namespace sagpr
