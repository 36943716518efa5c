#include "sagpr/clebsch_gordan.hpp"

#include <cmath>
#include <stdexcept>

#include "sagpr/quadrature.hpp"
#include "sagpr/spherical_harmonics.hpp"

namespace sagpr {

RealClebschGordan real_clebsch_gordan(int l1, int l2, int lambda) {
    if (l1 < 0 || l2 < 0 || lambda < 0 || lambda < std::abs(l1 - l2) || lambda > l1 + l2) {
        throw std::invalid_argument("invalid angular momenta for a Clebsch-Gordan coupling");
    }
    if ((l1 + l2 + lambda) % 2 != 0) {
        throw std::invalid_argument("only l1 + l2 + lambda even (proper) couplings are supported");
    }
    constexpr double pi = 3.14159265358979323846;
    const int degree = l1 + l2 + lambda;  // polynomial degree of the integrand on the sphere
    const int n_theta = degree / 2 + 2;
    const int n_phi = degree + 2;
    const GaussLegendre gl(n_theta, -1.0, 1.0);
    const int lmax = std::max(lambda, std::max(l1, l2));
    std::vector<double> ylm((lmax + 1) * (lmax + 1));

    RealClebschGordan cg{l1, l2, lambda, std::vector<double>((2 * lambda + 1) * (2 * l1 + 1) * (2 * l2 + 1), 0.0)};
    for (int t = 0; t < n_theta; ++t) {
        const double z = gl.nodes[t];
        const double rho = std::sqrt(std::max(0.0, 1.0 - z * z));
        for (int p = 0; p < n_phi; ++p) {
            const double phi = 2.0 * pi * p / n_phi;
            const double w = gl.weights[t] * 2.0 * pi / n_phi;
            real_spherical_harmonics(lmax, rho * std::cos(phi), rho * std::sin(phi), z, ylm.data());
            for (int mu = -lambda; mu <= lambda; ++mu) {
                const double y0 = w * ylm[lm_index(lambda, mu)];
                for (int m1 = -l1; m1 <= l1; ++m1) {
                    const double y1 = y0 * ylm[lm_index(l1, m1)];
                    for (int m2 = -l2; m2 <= l2; ++m2) {
                        cg.values[((mu + lambda) * (2 * l1 + 1) + m1 + l1) * (2 * l2 + 1) + m2 + l2] +=
                            y1 * ylm[lm_index(l2, m2)];
                    }
                }
            }
        }
    }
    double total = 0.0;
    for (double v : cg.values) total += v * v;
    const double scale = std::sqrt((2 * lambda + 1) / total);
    for (double& v : cg.values) {
        v *= scale;
        if (std::abs(v) < 1e-14) v = 0.0;  // exact zeros keep the coupling sparse
    }
    return cg;
}

}  // namespace sagpr
