// Ewald summation of point-charge potentials and field gradients.
//
// Splitting 1/r = erfc(alpha r)/r + erf(alpha r)/r (Ewald 1921; e.g. Allen & Tildesley,
// "Computer Simulation of Liquids", 2nd ed., sec. 6.2). Gaussian units, Coulomb constant 1.
//   phi(r)    = sum'_{j,n} q_j erfc(alpha d)/d                                   (real space)
//             + (4 pi/V) sum_{k!=0} exp(-k^2/4alpha^2)/k^2 Re[S(k) exp(i k.r)]  (reciprocal)
//             - 2 alpha/sqrt(pi) q_i - pi/(alpha^2 V) sum_j q_j                    (self, background)
// with S(k) = sum_j q_j exp(-i k.r_j) and d = |r_j + n - r|. Second derivatives:
//   d_a d_b [erfc(alpha d)/d] = x_a x_b C(d) - delta_ab B(d),
//   B = [erfc(alpha d) + 2 alpha d/sqrt(pi) e^{-alpha^2 d^2}] / d^3,
//   C = [3 erfc(alpha d) + 2 alpha d/sqrt(pi) (3 + 2 alpha^2 d^2) e^{-alpha^2 d^2}] / d^5,
//   d_a d_b exp(i k.r) = -k_a k_b exp(i k.r).
// Self term of the EFG: the reciprocal sum contains the Gaussian-smeared own charge
// q_i erf(alpha s)/s = q_i 2alpha/sqrt(pi) (1 - alpha^2 s^2/3 + O(s^4)); its second derivative at
// s = 0 is isotropic, -4 alpha^3/(3 sqrt(pi)) q_i delta_ab, so removing the own charge adds
// +4 alpha^3/(3 sqrt(pi)) q_i delta_ab. It has no traceless part (spherical symmetry) but it is
// what makes the total traceless: the real- and reciprocal-space traces are +-4 alpha^3/sqrt(pi)
// times the Gaussian density at r_i and cancel except for the own Gaussian.
#include "sagpr/ewald.hpp"

#include "sagpr/neighbors.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <complex>
#include <stdexcept>
#include <string>

namespace sagpr {
namespace {

constexpr double kPi = 3.14159265358979323846;
const double kSqrtPi = std::sqrt(kPi);

// Work per real-space pair relative to one reciprocal-space (site, k) term (erfc + exp and the
// neighbour list against two complex products), folded with the constants of the balance below.
// Tuned for the fastest run on 42- and 1512-atom LTO cells (bench/ewald.py); it moves alpha,
// never the accuracy.
constexpr double kRealToReciprocalCost = 20.0;

void check_periodicity(const Frame& frame) {
    const int n_periodic = frame.pbc[0] + frame.pbc[1] + frame.pbc[2];
    if (n_periodic != 0 && n_periodic != 3) {
        throw std::invalid_argument(
            "point-charge Ewald sums need a fully periodic (pbc = True, True, True) or a finite "
            "(pbc = False, False, False) system; partially periodic slabs/wires are not supported");
    }
}

void check_inputs(const Frame& frame, const std::vector<double>& charges, const std::vector<int>& sites) {
    validate_frame(frame);
    check_periodicity(frame);
    if (static_cast<int>(charges.size()) != frame.size()) {
        throw std::invalid_argument("got " + std::to_string(charges.size()) + " charges for " +
                                    std::to_string(frame.size()) + " atoms");
    }
    for (size_t a = 0; a < charges.size(); ++a) {
        if (!std::isfinite(charges[a])) throw std::invalid_argument("atom " + std::to_string(a) + " has a non-finite charge");
    }
    for (int s : sites) {
        if (s < 0 || s >= frame.size()) throw std::invalid_argument("site index " + std::to_string(s) + " out of range");
    }
    if (frame.periodic()) {
        double total = 0.0, absolute = 0.0;
        for (double q : charges) {
            total += q;
            absolute += std::abs(q);
        }
        if (std::abs(total) > 1e-8 * std::max(1.0, absolute)) {
            throw std::invalid_argument("the periodic cell is not charge-neutral: total charge " +
                                        std::to_string(total) + " e (Ewald sums of point charges need a neutral cell)");
        }
    }
}

void check_parameters(const EwaldParameters& params) {
    if (!(params.alpha > 0.0 && params.real_cutoff > 0.0 && params.kspace_cutoff > 0.0)) {
        throw std::invalid_argument("Ewald parameters must be positive for a periodic frame");
    }
}

std::string overlap_message(int i, int j, double d) {
    return "atoms " + std::to_string(i) + " and " + std::to_string(j) + " overlap (distance " + std::to_string(d) +
           " A): point charges cannot share a position";
}

// Reciprocal lattice vectors k = 2 pi h.inv(cell)^T with 0 < |k| < kc, one of each +-k pair.
struct KVectors {
    std::vector<Eigen::Vector3d> k;
    std::vector<std::array<int, 3>> h;
    std::vector<double> weight;  // exp(-k^2/4alpha^2)/k^2
    std::array<int, 3> hmax{0, 0, 0};
};

KVectors half_space_kvectors(const Eigen::Matrix3d& cell, double alpha, double kc) {
    KVectors out;
    const Eigen::Matrix3d recip = 2.0 * kPi * cell.inverse().transpose();  // rows b_i, a_i.b_j = 2 pi delta_ij
    for (int d = 0; d < 3; ++d) out.hmax[d] = static_cast<int>(std::floor(kc * cell.row(d).norm() / (2.0 * kPi)));
    const double kc2 = kc * kc;
    for (int a = 0; a <= out.hmax[0]; ++a) {
        for (int b = -out.hmax[1]; b <= out.hmax[1]; ++b) {
            for (int c = -out.hmax[2]; c <= out.hmax[2]; ++c) {
                if (a == 0 && (b < 0 || (b == 0 && c <= 0))) continue;  // half space, k != 0
                const Eigen::Vector3d k = (a * recip.row(0) + b * recip.row(1) + c * recip.row(2)).transpose();
                const double k2 = k.squaredNorm();
                if (k2 >= kc2) continue;
                out.k.push_back(k);
                out.h.push_back({a, b, c});
                out.weight.push_back(std::exp(-k2 / (4.0 * alpha * alpha)) / k2);
            }
        }
    }
    return out;
}

// exp(i 2 pi m f_d) for m = 0..hmax_d of every atom: exp(i k.r) is a product of three.
struct PhaseTable {
    std::array<int, 3> hmax;
    std::array<std::vector<std::complex<double>>, 3> table;  // [d][atom * (hmax_d + 1) + m]

    PhaseTable(const Positions& positions, const Eigen::Matrix3d& cell, const std::array<int, 3>& hmax_)
        : hmax(hmax_) {
        const int n = static_cast<int>(positions.rows());
        const Eigen::Matrix3d inv = cell.inverse();
        for (int d = 0; d < 3; ++d) table[d].resize(static_cast<size_t>(n) * (hmax[d] + 1));
        for (int j = 0; j < n; ++j) {
            const Eigen::RowVector3d f = positions.row(j) * inv;
            for (int d = 0; d < 3; ++d) {
                const std::complex<double> step = std::polar(1.0, 2.0 * kPi * f[d]);
                std::complex<double>* t = &table[d][static_cast<size_t>(j) * (hmax[d] + 1)];
                t[0] = 1.0;
                // Direct evaluation every 8 steps keeps the recurrence's rounding error negligible.
                for (int m = 1; m <= hmax[d]; ++m) t[m] = (m % 8 == 0) ? std::polar(1.0, 2.0 * kPi * m * f[d]) : t[m - 1] * step;
            }
        }
    }

    std::complex<double> phase(int atom, const std::array<int, 3>& h) const {
        std::complex<double> z = 1.0;
        for (int d = 0; d < 3; ++d) {
            const std::complex<double> t = table[d][static_cast<size_t>(atom) * (hmax[d] + 1) + std::abs(h[d])];
            z *= h[d] >= 0 ? t : std::conj(t);
        }
        return z;
    }
};

// A symmetric 3x3 tensor as (xx, yy, zz, xy, xz, yz): accumulating only these keeps the result
// exactly symmetric (w x_a x_b and w x_b x_a round differently).
using Sym6 = std::array<double, 6>;

inline void add_outer(Sym6& v, double w, const Eigen::Vector3d& x) {
    const double wx = w * x[0], wy = w * x[1];
    v[0] += wx * x[0];
    v[1] += wy * x[1];
    v[2] += w * x[2] * x[2];
    v[3] += wx * x[1];
    v[4] += wx * x[2];
    v[5] += wy * x[2];
}

inline void store(RowMatrixXd& efg, int s, const Sym6& v) {
    efg(s, 0) = v[0];
    efg(s, 4) = v[1];
    efg(s, 8) = v[2];
    efg(s, 1) = efg(s, 3) = v[3];
    efg(s, 2) = efg(s, 6) = v[4];
    efg(s, 5) = efg(s, 7) = v[5];
}

// Sites in chunks of at most `size`, of equal sizes: each chunk gets its own neighbour list
// (bounded memory, one list per thread at a time).
std::vector<std::vector<int>> chunks_of(const std::vector<int>& sites, size_t size) {
    const size_t n_chunks = std::max<size_t>(1, (sites.size() + size - 1) / size);
    size = (sites.size() + n_chunks - 1) / n_chunks;
    std::vector<std::vector<int>> out;
    for (size_t start = 0; start < sites.size(); start += size) {
        out.emplace_back(sites.begin() + start, sites.begin() + std::min(sites.size(), start + size));
    }
    return out;
}

EwaldField direct_field(const Frame& frame, const std::vector<double>& charges, const std::vector<int>& sites,
                        double min_distance) {
    const int n = frame.size();
    const int m = static_cast<int>(sites.size());
    EwaldField out{Eigen::VectorXd::Zero(m), RowMatrixXd::Zero(m, 9)};
    std::atomic<bool> overlap{false};
    int bad_i = -1, bad_j = -1;
    double bad_d = 0.0;
#pragma omp parallel for schedule(dynamic, 8) if (static_cast<double>(m) * n > 2e5)
    for (int s = 0; s < m; ++s) {
        const int i = sites[s];
        double phi = 0.0;
        Sym6 v{0, 0, 0, 0, 0, 0};
        for (int j = 0; j < n; ++j) {
            if (j == i) continue;
            const Eigen::Vector3d x = (frame.positions.row(j) - frame.positions.row(i)).transpose();
            const double r2 = x.squaredNorm();
            const double r = std::sqrt(r2);
            if (r < min_distance) {
#pragma omp critical
                {
                    overlap = true;
                    bad_i = i, bad_j = j, bad_d = r;
                }
                continue;
            }
            const double inv_r = 1.0 / r;
            const double inv_r5 = inv_r * inv_r * inv_r / r2;
            phi += charges[j] * inv_r;
            add_outer(v, 3.0 * charges[j] * inv_r5, x);
            for (int k = 0; k < 3; ++k) v[k] -= charges[j] * inv_r5 * r2;
        }
        out.potential[s] = phi;
        store(out.efg, s, v);
    }
    if (overlap) throw std::invalid_argument(overlap_message(bad_i, bad_j, bad_d));
    return out;
}

}  // namespace

EwaldParameters ewald_parameters(const Frame& frame, double accuracy, double alpha) {
    if (!(accuracy > 0.0 && accuracy < 1.0)) throw std::invalid_argument("accuracy must be in (0, 1)");
    if (!std::isfinite(alpha)) throw std::invalid_argument("alpha must be finite");
    validate_frame(frame);
    check_periodicity(frame);
    EwaldParameters p;
    if (!frame.periodic()) return p;
    const double n = std::max(1, frame.size());
    const double volume = std::abs(frame.cell.determinant());
    const double rho = n / volume;
    // Cost balance: real-space work ~ c N rho (4pi/3) (s/alpha)^3, reciprocal work ~ N V (2 alpha t)^3
    // /(12 pi^2) (half space) with s ~ t; equal for alpha^6 ~ c pi^3 N / V^2 (the classic
    // alpha ~ sqrt(pi) (N/V^2)^(1/6) for c = 1).
    p.alpha = alpha > 0.0 ? alpha : std::pow(kRealToReciprocalCost * kPi * kPi * kPi * n / (volume * volume), 1.0 / 6.0);
    const double a = p.alpha;
    // RMS truncation errors of the EFG for randomly placed charges of RMS q (density rho):
    //   real space  dV ~ q 4 alpha^2 sqrt(rho rc) exp(-alpha^2 rc^2)
    //   reciprocal  dV ~ q 2 sqrt(2) alpha sqrt(rho kc) exp(-kc^2/4alpha^2)
    // (integrating the squared neglected terms, |T| ~ 4 alpha^3/sqrt(pi) e^{-alpha^2 r^2} in real
    // space and |S(k)|^2 ~ N q^2 in reciprocal space, as Kolafa & Perram do for forces). Each is
    // held below accuracy * q rho / 10: the factor 5 beyond an even split turns the RMS estimate
    // into a bound on the largest component error in practice (tests/test_ewald.py checks it on
    // ordered, rattled and random cells). Fixed-point iteration on s = alpha rc, t = kc/2alpha.
    const double target = 0.1 * accuracy * rho;
    double s = std::sqrt(-std::log(accuracy)), t = s;
    for (int it = 0; it < 50; ++it) {
        s = std::sqrt(std::max(1.0, std::log(4.0 * a * a * std::sqrt(rho * s / a) / target)));
        t = std::sqrt(std::max(1.0, std::log(2.0 * std::sqrt(2.0) * a * std::sqrt(rho * 2.0 * a * t) / target)));
    }
    p.real_cutoff = s / a;
    p.kspace_cutoff = 2.0 * a * t;
    return p;
}

namespace {

// Real-space part of the Ewald sum at `sites`, added to `out` (chunks of sites, one neighbour list each).
void add_real_space(const Frame& frame, const std::vector<double>& charges, const std::vector<int>& sites,
                    const EwaldParameters& params, double min_distance, EwaldField& out) {
    const int m = static_cast<int>(sites.size());
    const double alpha = params.alpha;
    std::vector<int> order(m);
    for (int s = 0; s < m; ++s) order[s] = s;
    const auto chunks = chunks_of(order, 128);
    std::atomic<bool> overlap{false};
    int bad_i = -1, bad_j = -1;
    double bad_d = 0.0;
    const double two_alpha_over_sqrt_pi = 2.0 * alpha / kSqrtPi;
#pragma omp parallel for schedule(dynamic, 1) if (chunks.size() > 1)
    for (int c = 0; c < static_cast<int>(chunks.size()); ++c) {
        std::vector<int> centers;
        for (int s : chunks[c]) centers.push_back(sites[s]);
        const NeighborList list = build_neighbor_list(frame, params.real_cutoff, centers);
        for (size_t ci = 0; ci < centers.size(); ++ci) {
            const int s = chunks[c][ci];
            double phi = 0.0;
            Sym6 v{0, 0, 0, 0, 0, 0};
            double trace_part = 0.0;
            for (const Neighbor* p = list.begin(static_cast<int>(ci)); p != list.end(static_cast<int>(ci)); ++p) {
                const double r = p->distance;
                if (r < min_distance) {
#pragma omp critical
                    {
                        overlap = true;
                        bad_i = centers[ci], bad_j = p->j, bad_d = r;
                    }
                    continue;
                }
                const double q = charges[p->j];
                const double ar = alpha * r;
                const double erfc_ar = std::erfc(ar);
                const double gauss = two_alpha_over_sqrt_pi * r * std::exp(-ar * ar);
                const double inv_r2 = 1.0 / (r * r);
                const double inv_r3 = inv_r2 / r;
                phi += q * erfc_ar / r;
                const double b = (erfc_ar + gauss) * inv_r3;
                const double cc = (3.0 * erfc_ar + gauss * (3.0 + 2.0 * ar * ar)) * inv_r3 * inv_r2;
                add_outer(v, q * cc, p->vector);
                trace_part += q * b;
            }
            for (int k = 0; k < 3; ++k) v[k] -= trace_part;
            out.potential[s] = phi;
            store(out.efg, s, v);
        }
    }
    if (overlap) throw std::invalid_argument(overlap_message(bad_i, bad_j, bad_d));

}

// Reciprocal-space part, self terms and the neutralising background, added to `out`.
void add_reciprocal_space(const Frame& frame, const std::vector<double>& charges, const std::vector<int>& sites,
                          const EwaldParameters& params, EwaldField& out) {
    const int n = frame.size();
    const int m = static_cast<int>(sites.size());
    const double alpha = params.alpha;
    const double volume = std::abs(frame.cell.determinant());
    const KVectors kv = half_space_kvectors(frame.cell, alpha, params.kspace_cutoff);
    const int nk = static_cast<int>(kv.k.size());
    const PhaseTable phases(frame.positions, frame.cell, kv.hmax);
    std::vector<std::complex<double>> structure(nk);
    // Small cells stay on one thread: waking a team costs more than their whole sum.
    const bool parallel_structure = static_cast<double>(nk) * n > 2e5;
#pragma omp parallel for schedule(static) if (parallel_structure)
    for (int k = 0; k < nk; ++k) {
        std::complex<double> sum = 0.0;
        for (int j = 0; j < n; ++j) sum += charges[j] * std::conj(phases.phase(j, kv.h[k]));
        structure[k] = sum;
    }
    // Per k: weight and weight * (kxx, kyy, kzz, kxy, kxz, kyz), factor 2 for the -k half.
    std::vector<std::array<double, 7>> coefficient(nk);
    const double prefactor = 2.0 * 4.0 * kPi / volume;
    for (int k = 0; k < nk; ++k) {
        const Eigen::Vector3d& kk = kv.k[k];
        const double w = prefactor * kv.weight[k];
        coefficient[k] = {w, w * kk[0] * kk[0], w * kk[1] * kk[1], w * kk[2] * kk[2],
                          w * kk[0] * kk[1], w * kk[0] * kk[2], w * kk[1] * kk[2]};
    }
    double total_charge = 0.0;
    for (double q : charges) total_charge += q;
    const double self_potential = -2.0 * alpha / kSqrtPi;
    const double self_efg = 4.0 * alpha * alpha * alpha / (3.0 * kSqrtPi);
    const double background = -kPi / (alpha * alpha * volume) * total_charge;
    const bool parallel_sites = static_cast<double>(nk) * m > 2e5;
#pragma omp parallel for schedule(static) if (parallel_sites)
    for (int s = 0; s < m; ++s) {
        const int i = sites[s];
        std::array<double, 7> acc{0, 0, 0, 0, 0, 0, 0};
        for (int k = 0; k < nk; ++k) {
            const double re = (structure[k] * phases.phase(i, kv.h[k])).real();
            for (int c = 0; c < 7; ++c) acc[c] += coefficient[k][c] * re;
        }
        out.potential[s] += acc[0] + self_potential * charges[i] + background;
        // V_ab -= sum k_a k_b ...; order of acc: xx yy zz xy xz yz
        const double self = self_efg * charges[i];
        out.efg(s, 0) += -acc[1] + self;
        out.efg(s, 4) += -acc[2] + self;
        out.efg(s, 8) += -acc[3] + self;
        out.efg(s, 1) -= acc[4];
        out.efg(s, 3) -= acc[4];
        out.efg(s, 2) -= acc[5];
        out.efg(s, 6) -= acc[5];
        out.efg(s, 5) -= acc[6];
        out.efg(s, 7) -= acc[6];
    }
}

}  // namespace

EwaldField point_charge_field(const Frame& frame, const std::vector<double>& charges, const std::vector<int>& sites,
                              const EwaldParameters& params, double min_distance) {
    check_inputs(frame, charges, sites);
    if (!frame.periodic()) return direct_field(frame, charges, sites, min_distance);
    check_parameters(params);
    const int m = static_cast<int>(sites.size());
    EwaldField out{Eigen::VectorXd::Zero(m), RowMatrixXd::Zero(m, 9)};
    add_real_space(frame, charges, sites, params, min_distance, out);
    add_reciprocal_space(frame, charges, sites, params, out);
    return out;
}

double point_charge_energy(const Frame& frame, const std::vector<double>& charges, const EwaldParameters& params,
                           double min_distance) {
    std::vector<int> all(frame.size());
    for (int i = 0; i < frame.size(); ++i) all[i] = i;
    const EwaldField field = point_charge_field(frame, charges, all, params, min_distance);
    double energy = 0.0;
    for (int i = 0; i < frame.size(); ++i) energy += 0.5 * charges[i] * field.potential[i];
    return energy;
}

RowMatrixXd ewald_coupling_matrix(const Frame& frame, const std::vector<int>& sites, const EwaldParameters& params,
                                  double min_distance) {
    validate_frame(frame);
    check_periodicity(frame);
    if (!frame.periodic()) throw std::invalid_argument("the Ewald coupling matrix needs a periodic frame");
    for (int s : sites) {
        if (s < 0 || s >= frame.size()) throw std::invalid_argument("site index " + std::to_string(s) + " out of range");
    }
    check_parameters(params);
    const int n = frame.size();
    const int m = static_cast<int>(sites.size());
    const double alpha = params.alpha;
    const double volume = std::abs(frame.cell.determinant());
    RowMatrixXd phi = RowMatrixXd::Constant(m, n, -kPi / (alpha * alpha * volume));
    for (int s = 0; s < m; ++s) phi(s, sites[s]) -= 2.0 * alpha / kSqrtPi;

    std::vector<int> order(m);
    for (int s = 0; s < m; ++s) order[s] = s;
    const auto chunks = chunks_of(order, 128);
    std::atomic<bool> overlap{false};
    int bad_i = -1, bad_j = -1;
    double bad_d = 0.0;
#pragma omp parallel for schedule(dynamic, 1)
    for (int c = 0; c < static_cast<int>(chunks.size()); ++c) {
        std::vector<int> centers;
        for (int s : chunks[c]) centers.push_back(sites[s]);
        const NeighborList list = build_neighbor_list(frame, params.real_cutoff, centers);
        for (size_t ci = 0; ci < centers.size(); ++ci) {
            const int s = chunks[c][ci];
            for (const Neighbor* p = list.begin(static_cast<int>(ci)); p != list.end(static_cast<int>(ci)); ++p) {
                if (p->distance < min_distance) {
#pragma omp critical
                    {
                        overlap = true;
                        bad_i = centers[ci], bad_j = p->j, bad_d = p->distance;
                    }
                    continue;
                }
                phi(s, p->j) += std::erfc(alpha * p->distance) / p->distance;
            }
        }
    }
    if (overlap) throw std::invalid_argument(overlap_message(bad_i, bad_j, bad_d));

    // Reciprocal space: (8 pi/V) sum_k w_k [cos(k.r_s) cos(k.r_j) + sin(k.r_s) sin(k.r_j)], one GEMM.
    const KVectors kv = half_space_kvectors(frame.cell, alpha, params.kspace_cutoff);
    const int nk = static_cast<int>(kv.k.size());
    const PhaseTable phases(frame.positions, frame.cell, kv.hmax);
    RowMatrixXd atoms_trig(n, 2 * nk), sites_trig(m, 2 * nk);
#pragma omp parallel for schedule(static)
    for (int j = 0; j < n; ++j) {
        for (int k = 0; k < nk; ++k) {
            const std::complex<double> z = phases.phase(j, kv.h[k]);
            atoms_trig(j, k) = z.real();
            atoms_trig(j, nk + k) = z.imag();
        }
    }
    const double prefactor = 8.0 * kPi / volume;
    for (int s = 0; s < m; ++s) {
        for (int k = 0; k < nk; ++k) {
            const double w = prefactor * kv.weight[k];
            sites_trig(s, k) = w * atoms_trig(sites[s], k);
            sites_trig(s, nk + k) = w * atoms_trig(sites[s], nk + k);
        }
    }
    phi.noalias() += sites_trig * atoms_trig.transpose();
    return phi;
}

}  // namespace sagpr
