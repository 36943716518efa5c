#include "sagpr/quadrature.hpp"

#include <cmath>
#include <stdexcept>

namespace sagpr {

GaussLegendre::GaussLegendre(int n, double a, double b) : nodes(n), weights(n) {
    if (n < 1) throw std::invalid_argument("Gauss-Legendre needs at least one node");
    constexpr double pi = 3.14159265358979323846;
    for (int i = 0; i < (n + 1) / 2; ++i) {
        double x = std::cos(pi * (i + 0.75) / (n + 0.5));  // Tricomi's initial guess
        double dp = 0.0;
        for (int iter = 0; iter < 100; ++iter) {
            double p0 = 1.0, p1 = x;
            for (int k = 2; k <= n; ++k) {
                const double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
                p0 = p1;
                p1 = p2;
            }
            if (n == 1) {
                p1 = x;
                p0 = 1.0;
            }
            dp = n * (x * p1 - p0) / (x * x - 1.0);
            const double dx = p1 / dp;
            x -= dx;
            if (std::abs(dx) < 1e-16) break;
        }
        // Recompute the derivative at the converged node for the weight.
        double p0 = 1.0, p1 = x;
        for (int k = 2; k <= n; ++k) {
            const double p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
            p0 = p1;
            p1 = p2;
        }
        dp = (n == 1) ? 1.0 : n * (x * p1 - p0) / (x * x - 1.0);
        const double w = 2.0 / ((1.0 - x * x) * dp * dp);
        const double half = 0.5 * (b - a), mid = 0.5 * (b + a);
        nodes[i] = mid - half * x;
        nodes[n - 1 - i] = mid + half * x;
        weights[i] = weights[n - 1 - i] = w * half;
    }
}

}  // namespace sagpr
