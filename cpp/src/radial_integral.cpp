#include "sagpr/hermite.hpp"
#include "sagpr/radial_integral.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "sagpr/quadrature.hpp"

namespace sagpr {
namespace {
constexpr double pi = 3.14159265358979323846;
}

void scaled_spherical_bessel_i(int l_max, double x, double* out) {
    if (x < 1.0) {
        // i_l(x) = x^l/(2l+1)!! sum_k (x^2/2)^k / (k! (2l+3)(2l+5)...(2l+2k+1))
        const double ex = std::exp(-x);
        double lead = 1.0;  // x^l / (2l+1)!!
        for (int l = 0; l <= l_max; ++l) {
            if (l > 0) lead *= x / (2 * l + 1);
            double term = 1.0, sum = 1.0;
            for (int k = 1; k < 30; ++k) {
                term *= 0.5 * x * x / (k * (2 * l + 2 * k + 1));
                sum += term;
                if (term < 1e-17 * sum) break;
            }
            out[l] = ex * lead * sum;
        }
        return;
    }
    // Start far enough above l_max that i_start/i_lmax is negligible: for large x,
    // i_l/i_0 ~ exp(-l(l+1)/(2x)).
    const int start = l_max + 20 + static_cast<int>(std::sqrt(80.0 * x));
    std::vector<double> f(start + 2, 0.0);
    f[start + 1] = 0.0;
    f[start] = 1e-200;
    for (int l = start; l >= 1; --l) {
        f[l - 1] = f[l + 1] + (2 * l + 1) / x * f[l];
        if (f[l - 1] > 1e200) {
            for (int k = l - 1; k <= start; ++k) f[k] *= 1e-200;
        }
    }
    const double i0 = -std::expm1(-2.0 * x) / (2.0 * x);
    const double scale = i0 / f[0];
    for (int l = 0; l <= l_max; ++l) out[l] = f[l] * scale;
}

RadialIntegral::RadialIntegral(int max_radial, int max_angular, double cutoff, double sigma)
    : n_max_(max_radial), l_max_(max_angular), cutoff_(cutoff), sigma_(sigma) {
    if (max_radial < 1) throw std::invalid_argument("max_radial must be at least 1");
    if (max_angular < 0) throw std::invalid_argument("max_angular must be non-negative");
    if (!(cutoff > 0)) throw std::invalid_argument("cutoff must be positive");
    if (!(sigma > 0)) throw std::invalid_argument("atomic_gaussian_width must be positive");

    gto_sigma_.resize(n_max_);
    for (int n = 0; n < n_max_; ++n) gto_sigma_[n] = cutoff * std::max(std::sqrt(double(n)), 1.0) / n_max_;
    // Overlap int_0^inf r^{2+n+m} exp(-b r^2) dr = Gamma((n+m+3)/2) / (2 b^{(n+m+3)/2}).
    Eigen::MatrixXd overlap(n_max_, n_max_);
    for (int n = 0; n < n_max_; ++n) {
        for (int m = 0; m < n_max_; ++m) {
            const double b = 0.5 / (gto_sigma_[n] * gto_sigma_[n]) + 0.5 / (gto_sigma_[m] * gto_sigma_[m]);
            const double p = 0.5 * (n + m + 3);
            overlap(n, m) = std::exp(std::lgamma(p) - p * std::log(b)) / 2.0;
        }
    }
    // Normalise first, so S^{-1/2} is computed on a unit-diagonal matrix.
    Eigen::VectorXd d = overlap.diagonal().cwiseSqrt().cwiseInverse();
    Eigen::MatrixXd scaled = d.asDiagonal() * overlap * d.asDiagonal();
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(scaled);
    if (eig.eigenvalues().minCoeff() <= 1e-14) {
        throw std::invalid_argument("the radial basis is numerically linearly dependent: reduce max_radial");
    }
    Eigen::MatrixXd inv_sqrt = eig.eigenvectors() * eig.eigenvalues().cwiseSqrt().cwiseInverse().asDiagonal() *
                               eig.eigenvectors().transpose();
    Eigen::MatrixXd ortho = inv_sqrt * d.asDiagonal();
    orthonormalizer_.resize(n_max_ * n_max_);
    for (int n = 0; n < n_max_; ++n)
        for (int m = 0; m < n_max_; ++m) orthonormalizer_[n * n_max_ + m] = ortho(n, m);

    spacing_ = std::min(sigma, cutoff) / 100.0;
    n_nodes_ = static_cast<int>(std::ceil(cutoff / spacing_)) + 1;
    if (n_nodes_ > 200000) throw std::invalid_argument("atomic_gaussian_width is too small for this cutoff");
    spacing_ = cutoff / (n_nodes_ - 1);
    const int stride = n_max_ * (l_max_ + 1);
    values_.resize(static_cast<size_t>(n_nodes_) * stride);
    derivatives_.resize(values_.size());
#pragma omp parallel for schedule(dynamic, 16)
    for (int k = 0; k < n_nodes_; ++k) {
        integrate(k * spacing_, &values_[static_cast<size_t>(k) * stride], &derivatives_[static_cast<size_t>(k) * stride]);
    }
}

void RadialIntegral::basis(double r, double* out) const {
    std::vector<double> gto(n_max_);
    for (int m = 0; m < n_max_; ++m) {
        gto[m] = std::pow(r, m) * std::exp(-0.5 * r * r / (gto_sigma_[m] * gto_sigma_[m]));
    }
    for (int n = 0; n < n_max_; ++n) {
        double s = 0.0;
        for (int m = 0; m < n_max_; ++m) s += orthonormalizer_[n * n_max_ + m] * gto[m];
        out[n] = s;
    }
}

void RadialIntegral::integrate(double d, double* values, double* derivatives) const {
    // The integrand carries exp(-(r-d)^2/(2 sigma^2)): 12 sigma on each side is exact to 1e-31.
    const double lo = std::max(0.0, d - 12.0 * sigma_), hi = d + 12.0 * sigma_;
    static thread_local std::vector<double> bessel, radial;
    bessel.resize(l_max_ + 2);
    radial.resize(n_max_);
    static const GaussLegendre reference(160, -1.0, 1.0);
    const double half = 0.5 * (hi - lo), mid = 0.5 * (hi + lo);
    const double s2 = sigma_ * sigma_;
    const double prefactor = 4.0 * pi * std::pow(2.0 * pi * s2, -1.5);
    const int stride = l_max_ + 1;
    std::fill(values, values + n_max_ * stride, 0.0);
    std::fill(derivatives, derivatives + n_max_ * stride, 0.0);
    for (size_t q = 0; q < reference.nodes.size(); ++q) {
        const double r = mid + half * reference.nodes[q];
        const double gauss = prefactor * half * reference.weights[q] * r * r * std::exp(-0.5 * (r - d) * (r - d) / s2);
        if (gauss == 0.0) continue;
        scaled_spherical_bessel_i(l_max_ + 1, r * d / s2, bessel.data());
        basis(r, radial.data());
        for (int l = 0; l <= l_max_; ++l) {
            // d/dd [e^{-(r^2+d^2)/2s2} i_l(rd/s2)] = e^{..} (-d/s2 i_l + r/s2 i_l'),
            // i_l' = (l i_{l-1} + (l+1) i_{l+1}) / (2l+1)   (A&S 10.2.21).
            const double dbessel =
                (l == 0) ? bessel[1] : (l * bessel[l - 1] + (l + 1) * bessel[l + 1]) / (2 * l + 1);
            const double value = gauss * bessel[l];
            const double deriv = gauss * (-d / s2 * bessel[l] + r / s2 * dbessel);
            for (int n = 0; n < n_max_; ++n) {
                values[n * stride + l] += radial[n] * value;
                derivatives[n * stride + l] += radial[n] * deriv;
            }
        }
    }
}

void RadialIntegral::evaluate(double d, double* out) const {
    hermite_evaluate(d, spacing_, n_nodes_, n_max_ * (l_max_ + 1), values_.data(), derivatives_.data(), out);
}

}  // namespace sagpr
