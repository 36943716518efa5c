// Gauss-Legendre quadrature nodes and weights.
#pragma once
#include <vector>

namespace sagpr {

// n-point Gauss-Legendre rule on [a, b] (Newton iteration on P_n; Golub-Welsch not needed
// for the n <= a few hundred used here). Exact for polynomials of degree <= 2n-1.
struct GaussLegendre {
    std::vector<double> nodes, weights;
    GaussLegendre(int n, double a, double b);
};

}  // namespace sagpr
