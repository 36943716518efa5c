#include "sagpr/clebsch_gordan.hpp"

#include <cmath>
#include <complex>
#include <cstdlib>
#include <utility>
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

namespace sagpr {
namespace {

double factorial(int n) { return std::tgamma(n + 1.0); }  // exact in double for n <= 22

// <j1 m1 j2 m2 | J M> by Racah's formula (Condon-Shortley convention; e.g. Varshalovich et al.,
// Quantum Theory of Angular Momentum, 8.2.1).
double complex_cg(int j1, int m1, int j2, int m2, int J, int M) {
    if (m1 + m2 != M || std::abs(m1) > j1 || std::abs(m2) > j2 || std::abs(M) > J) return 0.0;
    const double pre = std::sqrt((2 * J + 1) * factorial(J + j1 - j2) * factorial(J - j1 + j2) * factorial(j1 + j2 - J) /
                                 factorial(j1 + j2 + J + 1) * factorial(J + M) * factorial(J - M) *
                                 factorial(j1 - m1) * factorial(j1 + m1) * factorial(j2 - m2) * factorial(j2 + m2));
    double sum = 0.0;
    for (int k = 0; k <= j1 + j2 - J; ++k) {
        const int a = j1 + j2 - J - k, b = j1 - m1 - k, c = j2 + m2 - k, d = J - j2 + m1 + k, e = J - j1 - m2 + k;
        if (a < 0 || b < 0 || c < 0 || d < 0 || e < 0) continue;
        sum += ((k % 2) ? -1.0 : 1.0) /
               (factorial(k) * factorial(a) * factorial(b) * factorial(c) * factorial(d) * factorial(e));
    }
    return pre * sum;
}

// Entry (mu, m) of U with Y^real_mu = sum_m U[mu][m] Y^complex_m (real harmonics without the
// Condon-Shortley phase, complex ones with it), as a complex number.
std::complex<double> real_from_complex(int mu, int m) {
    const double s = 1.0 / std::sqrt(2.0);
    if (mu == 0) return m == 0 ? 1.0 : 0.0;
    const int a = std::abs(mu);
    const double sign = (a % 2) ? -1.0 : 1.0;
    if (mu > 0) {
        if (m == a) return sign * s;
        if (m == -a) return s;
    } else {
        if (m == a) return {0.0, -sign * s};
        if (m == -a) return {0.0, s};
    }
    return 0.0;
}

}  // namespace

RealClebschGordan real_clebsch_gordan_odd(int l1, int l2, int lambda) {
    if (l1 < 0 || l2 < 0 || lambda < 0 || lambda < std::abs(l1 - l2) || lambda > l1 + l2) {
        throw std::invalid_argument("invalid angular momenta for a Clebsch-Gordan coupling");
    }
    if ((l1 + l2 + lambda) % 2 == 0) {
        throw std::invalid_argument("real_clebsch_gordan_odd needs l1 + l2 + lambda odd (improper couplings)");
    }
    if (l1 > 10 || l2 > 10) throw std::invalid_argument("real_clebsch_gordan_odd supports l1, l2 <= 10");
    RealClebschGordan cg{l1, l2, lambda, std::vector<double>((2 * lambda + 1) * (2 * l1 + 1) * (2 * l2 + 1), 0.0)};
    // A real index m couples only to the complex +-|m|: at most 8 terms per coefficient.
    for (int mu = -lambda; mu <= lambda; ++mu) {
        for (int m1 = -l1; m1 <= l1; ++m1) {
            for (int m2 = -l2; m2 <= l2; ++m2) {
                std::complex<double> total = 0.0;
                const int a1 = std::abs(m1), a2 = std::abs(m2);
                for (int M1 = -a1; M1 <= a1; M1 += (a1 ? 2 * a1 : 1)) {
                    for (int M2 = -a2; M2 <= a2; M2 += (a2 ? 2 * a2 : 1)) {
                        const int M = M1 + M2;
                        if (std::abs(M) > lambda) continue;
                        total += real_from_complex(mu, M) * complex_cg(l1, M1, l2, M2, lambda, M) *
                                 std::conj(real_from_complex(m1, M1)) * std::conj(real_from_complex(m2, M2));
                    }
                }
                const double v = total.imag();
                cg.values[((mu + lambda) * (2 * l1 + 1) + m1 + l1) * (2 * l2 + 1) + m2 + l2] = std::abs(v) < 1e-14 ? 0.0 : v;
            }
        }
    }
    return cg;
}

}  // namespace sagpr
