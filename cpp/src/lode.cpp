// LODE expansion (Ewald-summed potential of Gaussian species densities on the GTO x Y_lm basis)
// and its equivariant products with the local density. Formulas in lode.hpp; derivations:
//  * plane waves: e^{ik.x} = 4pi sum_lm i^l j_l(kx) Y_lm(k_hat) Y_lm(x_hat) (any real orthonormal
//    harmonics), so with phi~(k) = 4pi e^{-s^2 k^2/2}/k^2 the periodic potential of species a,
//    V(r_i + x) = (1/V) sum_{k!=0} phi~(k) P(k) e^{ik.x},  P(k) = sum_{j in a} e^{-ik.(r_j - r_i)},
//    has coefficients (pairing k and -k, real harmonics have parity (-1)^l)
//    (2/V) sum_{half k} phi~(k) 4pi J_nl(k) Y_lm(k_hat) * { (-1)^{l/2} Re P   (l even)
//                                                          { (-1)^{(l+1)/2} Im P (l odd).
//  * an isotropic f(|x-d|): its Fourier integral and int dk_hat e^{-ik.d} Y_lm = 4pi (-i)^l j_l(kd)
//    Y_lm(d_hat) give Y_lm(d_hat) (2/pi) int k^2 f~(k) J_nl(k) j_l(kd) dk.
//  * Ewald split (Grisafi & Ceriotti 2019, sec. II; the usual erf splitting): phi_sigma =
//    [phi_sigma - phi_sigma_t] (short range, real space) + phi_sigma_t (reciprocal space); the
//    short-range images have cell average 2pi (sigma_t^2 - sigma^2) N_a/V, subtracted so the
//    result is that of the reciprocal sum alone (zero cell average) for any sigma_t.
#include "sagpr/hermite.hpp"
#include "sagpr/parallel_for.hpp"
#include "sagpr/lode.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <complex>
#include <exception>
#include <stdexcept>
#include <string>

#include "sagpr/neighbors.hpp"
#include "sagpr/quadrature.hpp"
#include "sagpr/radial_integral.hpp"
#include "sagpr/spherical_harmonics.hpp"

namespace sagpr {
namespace {

constexpr double pi = 3.14159265358979323846;
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Spherical Bessel functions j_l(x), l = 0..l_max (A&S 10.1). Series below 1; upward recurrence
// j_{l+1} = (2l+1)/x j_l - j_{l-1} where it is stable (l < x); Miller's downward recurrence
// normalised by j_0 or j_1 (whichever is larger) otherwise.
void spherical_bessel_j(int l_max, double x, double* out) {
    if (x < 1.0) {
        double lead = 1.0;
        for (int l = 0; l <= l_max; ++l) {
            if (l > 0) lead *= x / (2 * l + 1);
            double term = 1.0, sum = 1.0;
            for (int k = 1; k < 30; ++k) {
                term *= -0.5 * x * x / (k * (2 * l + 2 * k + 1));
                sum += term;
                if (std::abs(term) < 1e-17 * std::abs(sum)) break;
            }
            out[l] = lead * sum;
        }
        return;
    }
    const double s = std::sin(x), c = std::cos(x);
    const double j0 = s / x, j1 = s / (x * x) - c / x;
    if (x > l_max) {
        out[0] = j0;
        if (l_max >= 1) out[1] = j1;
        for (int l = 1; l < l_max; ++l) out[l + 1] = (2 * l + 1) / x * out[l] - out[l - 1];
        return;
    }
    const int start = l_max + 25 + static_cast<int>(x);
    std::vector<double> f(start + 2, 0.0);
    f[start] = 1e-300;
    for (int l = start; l >= 1; --l) {
        f[l - 1] = (2 * l + 1) / x * f[l] - f[l + 1];
        if (std::abs(f[l - 1]) > 1e250) {
            for (int k = l - 1; k <= start; ++k) f[k] *= 1e-250;
        }
    }
    const double scale = std::abs(j0) > std::abs(j1) ? j0 / f[0] : j1 / f[1];
    for (int l = 0; l <= l_max; ++l) out[l] = f[l] * scale;
}

// Composite Gauss-Legendre rule on [a, b]: `panels` panels of `order` nodes.
void composite_rule(double a, double b, int panels, int order, std::vector<double>& x, std::vector<double>& w) {
    const GaussLegendre rule(order, -1.0, 1.0);
    x.clear();
    w.clear();
    const double h = (b - a) / panels;
    for (int p = 0; p < panels; ++p) {
        const double lo = a + p * h;
        for (int q = 0; q < order; ++q) {
            x.push_back(lo + 0.5 * h * (rule.nodes[q] + 1.0));
            w.push_back(0.5 * h * rule.weights[q]);
        }
    }
}

// Hyperparameters left unset are errors before anything is built from them.
LodeHypers checked(LodeHypers h) {
    if (!std::isfinite(h.cutoff) || h.max_radial < 0 || h.max_angular < 0 || !std::isfinite(h.atomic_gaussian_width) ||
        !std::isfinite(h.ewald_width) || !std::isfinite(h.accuracy)) {
        throw std::invalid_argument(
            "every LODE hyperparameter must be set and finite (cutoff, max_radial, max_angular, "
            "atomic_gaussian_width, ewald_width, accuracy)");
    }
    if (!(h.cutoff > 0)) throw std::invalid_argument("LODE cutoff must be positive");
    if (h.max_radial < 1) throw std::invalid_argument("LODE max_radial must be at least 1");
    if (!(h.atomic_gaussian_width > 0)) throw std::invalid_argument("LODE atomic_gaussian_width must be positive");
    if (h.ewald_width < h.atomic_gaussian_width) {
        throw std::invalid_argument("LODE ewald_width must be at least atomic_gaussian_width");
    }
    if (!(h.accuracy > 0 && h.accuracy < 1)) throw std::invalid_argument("LODE accuracy must be in (0, 1)");
    if (h.species.empty()) throw std::invalid_argument("species must list at least one atomic number");
    std::sort(h.species.begin(), h.species.end());
    if (std::adjacent_find(h.species.begin(), h.species.end()) != h.species.end() || h.species.front() < 1 ||
        h.species.back() > 118) {
        throw std::invalid_argument("species must be distinct atomic numbers between 1 and 118");
    }
    return h;
}

}  // namespace

void LodeExpansion::Spline::evaluate(double x, int stride, double* out) const {
    hermite_evaluate(x, spacing, n_nodes, stride, values.data(), derivatives.data(), out);
}

LodeExpansion::LodeExpansion(LodeHypers hypers) : hypers_(checked(std::move(hypers))) {
    const auto& h = hypers_;
    const int n_max = h.max_radial, l_max = h.max_angular, stride = n_max * (l_max + 1);
    const double sigma = h.atomic_gaussian_width, sigma_t = h.ewald_width;
    species_index_.assign(119, -1);
    for (size_t a = 0; a < h.species.size(); ++a) species_index_[h.species[a]] = static_cast<int>(a);

    // The basis of the local density (sigma only sets RadialIntegral's own table: keep it short).
    const RadialIntegral basis(n_max, 0, h.cutoff, h.cutoff);
    for (int n = 0; n < n_max; ++n) {
        const double s = h.cutoff * std::max(std::sqrt(double(n)), 1.0) / n_max;
        basis_extent_ = std::max(basis_extent_, s * (std::sqrt(double(n)) + 8.0));  // r^n e^{-r^2/2s^2} < 1e-14 peak
    }
    // Radial rule: j_l(kr) oscillates with period 2pi/k; k never exceeds ~9/sigma (Gaussian factor).
    const double k_top = std::sqrt(2.0 * 40.0) / sigma;
    composite_rule(0.0, basis_extent_, static_cast<int>(std::ceil(k_top * basis_extent_ / (2 * pi))) + 4, 20, r_nodes_,
                   r_weights_);
    r_basis_.resize(r_nodes_.size() * n_max);
    for (size_t q = 0; q < r_nodes_.size(); ++q) basis.basis(r_nodes_[q], &r_basis_[q * n_max]);

    constant_.assign(n_max, 0.0);
    moments_.assign(stride, 0.0);
    for (size_t q = 0; q < r_nodes_.size(); ++q) {
        const double r = r_nodes_[q], w = r_weights_[q];
        for (int n = 0; n < n_max; ++n) {
            constant_[n] += std::sqrt(4 * pi) * w * r * r * r_basis_[q * n_max + n];
            double rl = 1.0;
            for (int l = 0; l <= l_max; ++l, rl *= r) moments_[n * (l_max + 1) + l] += w * r * r * rl * r_basis_[q * n_max + n];
        }
    }

    // Reciprocal-space cutoff: where e^{-sigma_t^2 k^2/2}/max(k^2, 1) max|J_nl(k)| falls below accuracy
    // times its largest value (scanned on a grid; the Gaussian decides, J only shifts it).
    std::vector<double> values(stride), derivs(stride);
    {
        const double k_hi = std::sqrt(2.0 * (-std::log(h.accuracy) + 30.0)) / sigma_t;
        const int n_scan = 2000;
        std::vector<double> envelope(n_scan + 1, 0.0);
        double peak = 0.0;
        for (int i = 1; i <= n_scan; ++i) {
            const double k = k_hi * i / n_scan;
            transform_direct(k, values.data(), derivs.data());
            double m = 0.0;
            for (double v : values) m = std::max(m, std::abs(v));
            // 1/k^2 capped at k = 1/A: the smallest k of a cell is unknown here, and the
            // k -> 0 divergence must not set the reference.
            envelope[i] = std::exp(-0.5 * sigma_t * sigma_t * k * k) / std::max(k * k, 1.0) * m;
            peak = std::max(peak, envelope[i]);
        }
        int last = 1;
        for (int i = 1; i <= n_scan; ++i)
            if (envelope[i] > h.accuracy * peak) last = i;
        kspace_cutoff_ = k_hi * std::min(last + 1, n_scan) / n_scan;
    }
    // J_nl(k) splined on [0, kspace_cutoff]: its scale in k is 1/basis_extent.
    {
        transform_.n_nodes = static_cast<int>(std::ceil(kspace_cutoff_ * basis_extent_ * 30.0)) + 2;
        transform_.spacing = kspace_cutoff_ / (transform_.n_nodes - 1);
        transform_.values.resize(static_cast<size_t>(transform_.n_nodes) * stride);
        transform_.derivatives.resize(transform_.values.size());
#pragma omp parallel for schedule(dynamic, 16)
        for (int i = 0; i < transform_.n_nodes; ++i) {
            transform_direct(i * transform_.spacing, &transform_.values[static_cast<size_t>(i) * stride],
                             &transform_.derivatives[static_cast<size_t>(i) * stride]);
        }
    }

    // k rule of the real-space tables: the Gaussian e^{-sigma^2 k^2/2} ends the integrand.
    const double cluster_reach = basis_extent_ + 9.0 * sigma;  // beyond it phi_sigma = 1/r on the basis
    const double short_reach = basis_extent_ + 7.5 * std::sqrt(2.0) * sigma_t;
    const double d_max = std::max(cluster_reach, short_reach);
    composite_rule(0.0, k_top, static_cast<int>(std::ceil(k_top * (d_max + basis_extent_) / (2 * pi))) + 4, 20,
                   k_nodes_, k_weights_);
    k_transform_.resize(k_nodes_.size() * stride);
    for (size_t q = 0; q < k_nodes_.size(); ++q) transform_direct(k_nodes_[q], &k_transform_[q * stride], derivs.data());

    std::vector<double> g_full(k_nodes_.size()), g_short(k_nodes_.size()), g_long(k_nodes_.size());
    for (size_t q = 0; q < k_nodes_.size(); ++q) {
        const double k2 = k_nodes_[q] * k_nodes_[q];
        g_full[q] = 4 * pi * std::exp(-0.5 * sigma * sigma * k2);
        g_long[q] = 4 * pi * std::exp(-0.5 * sigma_t * sigma_t * k2);
        g_short[q] = g_full[q] - g_long[q];
    }
    cluster_table_max_ = cluster_reach;
    full_ = tabulate_real(g_full, cluster_reach);
    if (sigma_t > sigma) {
        short_range_ = tabulate_real(g_short, short_reach);
        // Real-space cutoff: last node where some I_nl exceeds accuracy times the largest value.
        double peak = 0.0;
        for (double v : short_range_.values) peak = std::max(peak, std::abs(v));
        int last = 0;
        for (int i = 0; i < short_range_.n_nodes; ++i) {
            for (int j = 0; j < stride; ++j)
                if (std::abs(short_range_.values[static_cast<size_t>(i) * stride + j]) > h.accuracy * peak) last = i;
        }
        real_cutoff_ = std::min(last + 1, short_range_.n_nodes - 1) * short_range_.spacing;
    }
    // The centre's own long-range Gaussian at d = 0: l = 0 only, Y_00 = 1/sqrt(4pi), j_0(0) = 1.
    self_long_range_.assign(n_max, 0.0);
    for (size_t q = 0; q < k_nodes_.size(); ++q) {
        for (int n = 0; n < n_max; ++n) {
            self_long_range_[n] += (2 / pi) / std::sqrt(4 * pi) * k_weights_[q] * g_long[q] * k_transform_[q * stride + n * (l_max + 1)];
        }
    }
}

int LodeExpansion::density_size() const {
    return static_cast<int>(hypers_.species.size()) * hypers_.max_radial * (hypers_.max_angular + 1) * (hypers_.max_angular + 1);
}

void LodeExpansion::transform_direct(double k, double* values, double* derivatives) const {
    const int n_max = hypers_.max_radial, l_max = hypers_.max_angular, ls = l_max + 1;
    std::fill(values, values + n_max * ls, 0.0);
    std::fill(derivatives, derivatives + n_max * ls, 0.0);
    std::vector<double> j(l_max + 2);
    for (size_t q = 0; q < r_nodes_.size(); ++q) {
        const double r = r_nodes_[q], w = r_weights_[q] * r * r;
        spherical_bessel_j(l_max + 1, k * r, j.data());
        const double* R = &r_basis_[q * n_max];
        for (int l = 0; l <= l_max; ++l) {
            // d/dk j_l(kr) = r j_l'(kr), j_l' = (l j_{l-1} - (l+1) j_{l+1})/(2l+1)   (A&S 10.1.20)
            const double dj = (l == 0) ? -j[1] : (l * j[l - 1] - (l + 1) * j[l + 1]) / (2 * l + 1);
            for (int n = 0; n < n_max; ++n) {
                values[n * ls + l] += w * R[n] * j[l];
                derivatives[n * ls + l] += w * r * R[n] * dj;
            }
        }
    }
}

LodeExpansion::Spline LodeExpansion::tabulate_real(const std::vector<double>& weights, double d_max) const {
    const int n_max = hypers_.max_radial, l_max = hypers_.max_angular, ls = l_max + 1, stride = n_max * ls;
    Spline s;
    // Scale of the tables in d: the smaller of sigma and the narrowest GTO.
    const double scale = std::min(hypers_.atomic_gaussian_width, hypers_.cutoff / n_max);
    s.n_nodes = static_cast<int>(std::ceil(d_max / (scale / 60.0))) + 2;
    s.spacing = d_max / (s.n_nodes - 1);
    s.values.assign(static_cast<size_t>(s.n_nodes) * stride, 0.0);
    s.derivatives.assign(s.values.size(), 0.0);
#pragma omp parallel for schedule(dynamic, 16)
    for (int i = 0; i < s.n_nodes; ++i) {
        const double d = i * s.spacing;
        std::vector<double> j(l_max + 2);
        double* v = &s.values[static_cast<size_t>(i) * stride];
        double* dv = &s.derivatives[static_cast<size_t>(i) * stride];
        for (size_t q = 0; q < k_nodes_.size(); ++q) {
            const double k = k_nodes_[q], w = (2 / pi) * k_weights_[q] * weights[q];
            spherical_bessel_j(l_max + 1, k * d, j.data());
            const double* J = &k_transform_[q * stride];
            for (int l = 0; l <= l_max; ++l) {
                const double dj = (l == 0) ? -j[1] : (l * j[l - 1] - (l + 1) * j[l + 1]) / (2 * l + 1);
                for (int n = 0; n < n_max; ++n) {
                    v[n * ls + l] += w * J[n * ls + l] * j[l];
                    dv[n * ls + l] += w * k * J[n * ls + l] * dj;
                }
            }
        }
    }
    return s;
}

void LodeExpansion::radial_transform(double k, double* out) const {
    if (k <= kspace_cutoff_) {
        transform_.evaluate(k, hypers_.max_radial * (hypers_.max_angular + 1), out);
    } else {
        std::vector<double> d(hypers_.max_radial * (hypers_.max_angular + 1));
        transform_direct(k, out, d.data());
    }
}

void LodeExpansion::real_space(double d, bool periodic, double* out) const {
    const int l_max = hypers_.max_angular, ls = l_max + 1, stride = hypers_.max_radial * ls;
    if (periodic) {
        if (short_range_.n_nodes == 0 || d >= real_cutoff_) {
            std::fill(out, out + stride, 0.0);
        } else {
            short_range_.evaluate(d, stride, out);
        }
        return;
    }
    if (d < cluster_table_max_) {
        full_.evaluate(d, stride, out);
        return;
    }
    // Far field: 1/|x - d| = sum_l 4pi/(2l+1) r^l/d^{l+1} Y_lm(x_hat) Y_lm(d_hat) on the basis.
    for (int n = 0; n < hypers_.max_radial; ++n) {
        double dl = d;
        for (int l = 0; l <= l_max; ++l, dl *= d) out[n * ls + l] = 4 * pi / (2 * l + 1) * moments_[n * ls + l] / dl;
    }
}

void LodeExpansion::check_frame(const Frame& frame, size_t index) const {
    try {
        validate_frame(frame);
    } catch (const std::invalid_argument& err) {
        throw std::invalid_argument("frame " + std::to_string(index) + ": " + err.what());
    }
    if (frame.periodic() && !(frame.pbc[0] && frame.pbc[1] && frame.pbc[2])) {
        throw std::invalid_argument("frame " + std::to_string(index) +
                                    ": LODE needs a fully periodic cell or a cluster (pbc all true or all false)");
    }
    for (int i = 0; i < frame.size(); ++i) {
        const int z = frame.numbers[i];
        if (z < 1 || z > 118 || species_index_[z] < 0) {
            throw std::invalid_argument("frame " + std::to_string(index) + ": atom " + std::to_string(i) +
                                        " has atomic number " + std::to_string(z) +
                                        ", which is not among the descriptor's species");
        }
    }
}

void LodeExpansion::compute_frame(const Frame& frame, const std::vector<int>& centers, double* out) const {
    const auto& h = hypers_;
    const int n_max = h.max_radial, l_max = h.max_angular, ls = l_max + 1, lm_size = ls * ls;
    const int n_species = static_cast<int>(h.species.size());
    const size_t size = static_cast<size_t>(density_size());
    const int n_centers = static_cast<int>(centers.size());
    const bool periodic = frame.periodic();
    std::fill(out, out + size * n_centers, 0.0);

    // Adds I_nl(d) Y_lm(d_hat) of one isotropic source of species channel a to a centre.
    auto add_source = [&](double* c, int a, const double* radial, const double* ylm) {
        double* block = c + static_cast<size_t>(a) * n_max * lm_size;
        for (int n = 0; n < n_max; ++n) {
            for (int l = 0; l <= l_max; ++l) {
                const double rv = radial[n * ls + l];
                double* row = block + n * lm_size + l * l;
                const double* y = ylm + l * l;
                for (int m = 0; m < 2 * l + 1; ++m) row[m] += rv * y[m];
            }
        }
    };
    const double y00 = 1.0 / std::sqrt(4 * pi);

    if (!periodic) {
        parallel_for(n_centers, [&](int64_t ci) {
            const int i = centers[ci];
            double* c = out + size * ci;
            std::vector<double> radial(n_max * ls), ylm(lm_size);
            for (int j = 0; j < frame.size(); ++j) {
                const Eigen::Vector3d d = (frame.positions.row(j) - frame.positions.row(i)).transpose();
                const double r = d.norm();
                if (j == i) {
                    if (!h.include_center) continue;
                } else if (r < 1e-8) {
                    throw std::invalid_argument("atoms " + std::to_string(i) + " and " + std::to_string(j) +
                                                " are at the same position");
                }
                real_space(r, false, radial.data());
                if (j == i) {
                    std::fill(ylm.begin(), ylm.end(), 0.0);
                    ylm[0] = y00;
                } else {
                    real_spherical_harmonics(l_max, d.x() / r, d.y() / r, d.z() / r, ylm.data());
                }
                add_source(c, species_index_[frame.numbers[j]], radial.data(), ylm.data());
            }
        });
        return;
    }

    const double volume = std::abs(frame.cell.determinant());
    const double sigma = h.atomic_gaussian_width, sigma_t = h.ewald_width;
    // Reciprocal space: half-space k vectors (k != 0) inside the cutoff.
    const Eigen::Matrix3d recip = 2.0 * pi * frame.cell.inverse().transpose();
    std::array<int, 3> hmax;
    for (int d = 0; d < 3; ++d) hmax[d] = static_cast<int>(std::floor(kspace_cutoff_ * frame.cell.row(d).norm() / (2 * pi)));
    std::vector<Eigen::Vector3d> kvec;
    for (int a = 0; a <= hmax[0]; ++a)
        for (int b = -hmax[1]; b <= hmax[1]; ++b)
            for (int c = -hmax[2]; c <= hmax[2]; ++c) {
                if (a == 0 && (b < 0 || (b == 0 && c <= 0))) continue;
                const Eigen::Vector3d k = (a * recip.row(0) + b * recip.row(1) + c * recip.row(2)).transpose();
                if (k.norm() < kspace_cutoff_) kvec.push_back(k);
            }
    const int nk = static_cast<int>(kvec.size());
    const int cols = n_max * lm_size;
    // A[k][(n, lm)] = (2/V) phi~_t(k) 4pi J_nl(k) Y_lm(k_hat) sign_l, split by the parity of l.
    RowMatrix even = RowMatrix::Zero(nk, cols), odd = RowMatrix::Zero(nk, cols);
    RowMatrix struct_re(n_species, nk), struct_im(n_species, nk);
    parallel_for(nk, [&](int64_t q) {
        const Eigen::Vector3d& k = kvec[q];
        const double kn = k.norm();
        std::vector<double> J(n_max * ls), ylm(lm_size);
        radial_transform(kn, J.data());
        real_spherical_harmonics(l_max, k.x() / kn, k.y() / kn, k.z() / kn, ylm.data());
        const double w = (2.0 / volume) * 4 * pi * 4 * pi * std::exp(-0.5 * sigma_t * sigma_t * kn * kn) / (kn * kn);
        for (int n = 0; n < n_max; ++n)
            for (int l = 0; l <= l_max; ++l) {
                const double sign = (l % 2 == 0) ? ((l / 2) % 2 == 0 ? 1.0 : -1.0) : (((l + 1) / 2) % 2 == 0 ? 1.0 : -1.0);
                RowMatrix& target = (l % 2 == 0) ? even : odd;
                for (int m = 0; m < 2 * l + 1; ++m) target(q, n * lm_size + l * l + m) = w * sign * J[n * ls + l] * ylm[l * l + m];
            }
        // S^a(k) = sum_{j in a} e^{-ik.r_j}
        for (int a = 0; a < n_species; ++a) {
            struct_re(a, q) = 0.0;
            struct_im(a, q) = 0.0;
        }
        for (int j = 0; j < frame.size(); ++j) {
            const double phase = k.dot(frame.positions.row(j).transpose());
            const int a = species_index_[frame.numbers[j]];
            struct_re(a, q) += std::cos(phase);
            struct_im(a, q) -= std::sin(phase);
        }
    });
    std::vector<int> counts(n_species, 0);
    for (int j = 0; j < frame.size(); ++j) ++counts[species_index_[frame.numbers[j]]];

    const NeighborList list = real_cutoff_ > 0 ? build_neighbor_list(frame, real_cutoff_, centers) : NeighborList{};
    parallel_for(n_centers, [&](int64_t ci) {
        const int i = centers[ci];
        double* c = out + size * ci;
        // P^a(k) = e^{ik.r_i} S^a(k)
        RowMatrix p_re(n_species, nk), p_im(n_species, nk);
        for (int q = 0; q < nk; ++q) {
            const double phase = kvec[q].dot(frame.positions.row(i).transpose());
            const double cr = std::cos(phase), sr = std::sin(phase);
            for (int a = 0; a < n_species; ++a) {
                p_re(a, q) = cr * struct_re(a, q) - sr * struct_im(a, q);
                p_im(a, q) = cr * struct_im(a, q) + sr * struct_re(a, q);
            }
        }
        Eigen::Map<RowMatrix> result(c, n_species, cols);  // (a, (n, lm)) is the output layout
        result.noalias() = p_re * even;
        result.noalias() += p_im * odd;

        const int own = species_index_[frame.numbers[i]];
        for (int a = 0; a < n_species; ++a) {
            const double background = -2 * pi * (sigma_t * sigma_t - sigma * sigma) * counts[a] / volume;
            for (int n = 0; n < n_max; ++n) c[(static_cast<size_t>(a) * n_max + n) * lm_size] += background * constant_[n];
        }
        std::vector<double> radial(n_max * ls), ylm(lm_size);
        if (real_cutoff_ > 0) {
            for (auto p = list.begin(static_cast<int>(ci)); p != list.end(static_cast<int>(ci)); ++p) {
                if (p->distance >= real_cutoff_) continue;
                if (p->distance < 1e-8) {
                    throw std::invalid_argument("atoms " + std::to_string(i) + " and " + std::to_string(p->j) +
                                                " are at the same position");
                }
                real_space(p->distance, true, radial.data());
                const Eigen::Vector3d u = p->vector / p->distance;
                real_spherical_harmonics(l_max, u.x(), u.y(), u.z(), ylm.data());
                add_source(c, species_index_[frame.numbers[p->j]], radial.data(), ylm.data());
            }
        }
        if (h.include_center) {
            if (real_cutoff_ > 0) {
                real_space(0.0, true, radial.data());
                for (int n = 0; n < n_max; ++n) c[(static_cast<size_t>(own) * n_max + n) * lm_size] += y00 * radial[n * ls];
            }
        } else {
            for (int n = 0; n < n_max; ++n) c[(static_cast<size_t>(own) * n_max + n) * lm_size] -= self_long_range_[n];
        }
    });
}

void LodeExpansion::compute(const std::vector<Frame>& frames, const std::vector<int>& center_species, double* out) const {
    for (size_t f = 0; f < frames.size(); ++f) check_frame(frames[f], f);
    size_t offset = 0;
    for (size_t f = 0; f < frames.size(); ++f) {
        const auto centers = LambdaSoap::select_centers(frames[f], center_species);
        try {
            compute_frame(frames[f], centers, out + offset);
        } catch (const std::invalid_argument& err) {
            throw std::invalid_argument("frame " + std::to_string(f) + ": " + err.what());
        }
        offset += centers.size() * static_cast<size_t>(density_size());
    }
}

// ---------------------------------------------------------------------------------------------

LodeProduct::LodeProduct(LambdaSoapHypers local, LodeHypers lode)
    : local_(std::move(local)), lode_(std::move(lode)), normalize_(local_.hypers().normalize),
      lambdas_(local_.hypers().o3_lambdas) {
    if (local_.hypers().species != lode_.hypers().species) {
        throw std::invalid_argument("the local and LODE expansions must have the same species");
    }
    const int l1_max = local_.hypers().max_angular, l2_max = lode_.hypers().max_angular;
    const int q1 = static_cast<int>(local_.hypers().species.size()) * local_.hypers().max_radial;
    const int q2 = static_cast<int>(lode_.hypers().species.size()) * lode_.hypers().max_radial;
    const auto& species = lode_.hypers().species;
    labels_.resize(lambdas_.size());
    for (int l1 = 0; l1 <= l1_max; ++l1) {
        for (int l2 = 0; l2 <= l2_max; ++l2) {
            for (size_t k = 0; k < lambdas_.size(); ++k) {
                const int lambda = lambdas_[k];
                if (lambda < std::abs(l1 - l2) || lambda > l1 + l2 || (l1 + l2 + lambda) % 2 != 0) continue;
                terms_.push_back({static_cast<int>(k), l1, l2, real_clebsch_gordan(l1, l2, lambda),
                                  static_cast<int64_t>(labels_[k].size())});
                for (int a = 0; a < q1; ++a)
                    for (int b = 0; b < q2; ++b)
                        labels_[k].push_back({local_.hypers().species[a / local_.hypers().max_radial],
                                              a % local_.hypers().max_radial, l1,
                                              species[b / lode_.hypers().max_radial], b % lode_.hypers().max_radial, l2});
            }
        }
    }
    for (size_t k = 0; k < lambdas_.size(); ++k) {
        if (labels_[k].empty()) throw std::invalid_argument("o3_lambda " + std::to_string(lambdas_[k]) + " has no rho x V feature");
    }
}

void LodeProduct::center_features(const double* c, const double* v, double* const* out) const {
    const int l1s = local_.hypers().max_angular + 1, l2s = lode_.hypers().max_angular + 1;
    const int q1 = static_cast<int>(local_.hypers().species.size()) * local_.hypers().max_radial;
    const int q2 = static_cast<int>(lode_.hypers().species.size()) * lode_.hypers().max_radial;
    Eigen::Map<const RowMatrix> cm(c, q1, l1s * l1s), vm(v, q2, l2s * l2s);
    RowMatrix left, pair;
    for (const Term& t : terms_) {
        const int d1 = 2 * t.l1 + 1, d2 = 2 * t.l2 + 1, n_mu = 2 * t.cg.lambda + 1;
        const auto c1 = cm.middleCols(t.l1 * t.l1, d1);
        const auto v2 = vm.middleCols(t.l2 * t.l2, d2);
        const int64_t n_feat = n_features(t.k);
        for (int mu = 0; mu < n_mu; ++mu) {
            Eigen::Map<const RowMatrix> g(t.cg.values.data() + static_cast<size_t>(mu) * d1 * d2, d1, d2);
            left.noalias() = c1 * g;
            Eigen::Map<RowMatrix> target(out[t.k] + static_cast<size_t>(mu) * n_feat + t.offset, q1, q2);
            target.noalias() = left * v2.transpose();
        }
    }
    if (!normalize_) return;
    const double scale = cm.norm() * vm.norm();
    for (int k = 0; k < n_lambdas(); ++k) {
        double* x = out[k];
        const size_t size = static_cast<size_t>(n_components(k)) * n_features(k);
        double norm2 = 0.0;
        for (size_t i = 0; i < size; ++i) norm2 += x[i] * x[i];
        const double norm = std::sqrt(norm2);
        if (norm <= LambdaSoap::zero_threshold * scale || norm == 0.0) {
            std::fill(x, x + size, 0.0);
        } else {
            for (size_t i = 0; i < size; ++i) x[i] /= norm;
        }
    }
}

void LodeProduct::compute(const std::vector<Frame>& frames, const std::vector<int>& center_species,
                          const std::vector<double*>& out) const {
    if (static_cast<int>(out.size()) != n_lambdas()) throw std::invalid_argument("compute needs one output array per o3_lambda");
    int64_t global = 0;
    std::vector<double> c, v;
    const size_t c_size = local_.density_size(), v_size = lode_.density_size();
    for (size_t f = 0; f < frames.size(); ++f) {
        const auto centers = LambdaSoap::select_centers(frames[f], center_species);
        const int64_t n = static_cast<int64_t>(centers.size());
        c.resize(n * c_size);
        v.resize(n * v_size);
        try {
            local_.density({frames[f]}, center_species, c.data());
        } catch (const std::invalid_argument& err) {
            // LambdaSoap names the frame 0 of a one-frame list: name the real one.
            std::string what = err.what();
            if (what.rfind("frame 0: ", 0) == 0) what = what.substr(9);
            throw std::invalid_argument("frame " + std::to_string(f) + ": " + what);
        }
        try {
            lode_.compute({frames[f]}, center_species, v.data());
        } catch (const std::invalid_argument& err) {
            std::string what = err.what();
            if (what.rfind("frame 0: ", 0) == 0) what = what.substr(9);
            throw std::invalid_argument("frame " + std::to_string(f) + ": " + what);
        }
        parallel_for(n, [&](int64_t ci) {
            std::vector<double*> rows(n_lambdas());
            for (int k = 0; k < n_lambdas(); ++k)
                rows[k] = out[k] + static_cast<size_t>(global + ci) * n_components(k) * n_features(k);
            center_features(c.data() + ci * c_size, v.data() + ci * v_size, rows.data());
        });
        global += n;
    }
}

}  // namespace sagpr
