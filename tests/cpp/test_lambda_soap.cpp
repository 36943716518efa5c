// lambda-SOAP (cpp/src/lambda_soap.cpp) on a 4-atom, 2-species cluster:
//  1. against a slow reference written here from the header's definition (explicit sums over
//     neighbours, m1, m2 and the feature labels) for the density and the raw and normalised
//     features of several lambdas computed in one call. The reference shares with the code only
//     pieces tested on their own: I_nl (test_radial_integral), Y_lm (test_spherical_harmonics)
//     and the real CG (test_clebsch_gordan);
//  2. the label set: feature dot products equal those of the full ordered tensor product;
//  3. exact symmetries: rotation multiplies lambda features by D^lambda(R) (from the harmonics),
//     inversion by (-1)^lambda, translation and atom permutation change nothing.
#include "check.hpp"
#include "math_reference.hpp"
#include "sagpr/lambda_soap.hpp"
#include "sagpr/spherical_harmonics.hpp"

#include <chrono>
#include <map>

using sagpr::RowMatrixXd;
using sagpr_test::pi;

namespace {

// Features per lambda k, (n_centres * (2 lambda_k + 1), n_features_k): the one place that knows
// the compute() signature.
std::vector<RowMatrixXd> compute(const sagpr::LambdaSoap& calc, const sagpr::Frame& frame, const std::vector<int>& species) {
    const int n_centres = static_cast<int>(sagpr::LambdaSoap::select_centers(frame, species).size());
    std::vector<RowMatrixXd> out;
    std::vector<double*> ptrs;
    for (int k = 0; k < calc.n_lambdas(); ++k) {
        out.emplace_back(n_centres * calc.n_components(k), calc.n_features(k));
        out.back().setConstant(std::nan(""));
    }
    for (auto& m : out) ptrs.push_back(m.data());
    calc.compute({frame}, species, ptrs);
    return out;
}

double switch_function(double r, double cutoff, double width) {
    if (r >= cutoff) return 0.0;
    if (r <= cutoff - width) return 1.0;
    return 0.5 * (1.0 + std::cos(pi * (r - cutoff + width) / width));
}

// c[a][n][lm] of centre i by the definition: every other atom closer than the cutoff, weight
// f_c(r) I_nl(r) Y_lm(r_hat); the centre itself center_atom_weight I_n0(0) Y_00.
std::vector<double> reference_density(const sagpr::LambdaSoapHypers& h, const sagpr::RadialIntegral& ri,
                                      const sagpr::Frame& f, int i) {
    const int lm = (h.max_angular + 1) * (h.max_angular + 1), nl = h.max_radial * (h.max_angular + 1);
    std::vector<double> c(h.species.size() * h.max_radial * lm, 0.0), radial(nl), y(lm);
    for (int j = 0; j < f.size(); ++j) {
        const Eigen::Vector3d v = (f.positions.row(j) - f.positions.row(i)).transpose();
        const double r = v.norm();
        double w;
        if (j == i) {
            w = h.center_atom_weight;
            std::fill(y.begin(), y.end(), 0.0);
            y[0] = 1 / std::sqrt(4 * pi);
        } else {
            w = switch_function(r, h.cutoff, h.cutoff_smooth_width);
            if (w == 0.0) continue;
            sagpr::real_spherical_harmonics(h.max_angular, v.x() / r, v.y() / r, v.z() / r, y.data());
        }
        ri.evaluate(j == i ? 0.0 : r, radial.data());
        const int a = static_cast<int>(std::find(h.species.begin(), h.species.end(), f.numbers[j]) - h.species.begin());
        for (int n = 0; n < h.max_radial; ++n)
            for (int l = 0; l <= h.max_angular; ++l)
                for (int m = -l; m <= l; ++m)
                    c[(a * h.max_radial + n) * lm + l * l + l + m] += w * radial[n * (h.max_angular + 1) + l] * y[l * l + l + m];
    }
    return c;
}

struct CgCache {
    std::map<std::array<int, 3>, sagpr::RealClebschGordan> cache;
    const sagpr::RealClebschGordan& operator()(int l1, int l2, int lam) {
        auto key = std::array<int, 3>{l1, l2, lam};
        auto it = cache.find(key);
        if (it == cache.end()) it = cache.emplace(key, sagpr::real_clebsch_gordan(l1, l2, lam)).first;
        return it->second;
    }
};

// B_mu = sum_{m1 m2} C^{lam mu}_{l1 m1 l2 m2} c1_m1 c2_m2 for any order of l1, l2.
Eigen::VectorXd couple(CgCache& cg, int lam, int l1, const double* c1, int l2, const double* c2) {
    Eigen::VectorXd b = Eigen::VectorXd::Zero(2 * lam + 1);
    const bool swap = l1 > l2;
    const auto& g = swap ? cg(l2, l1, lam) : cg(l1, l2, lam);
    for (int mu = 0; mu <= 2 * lam; ++mu)
        for (int m1 = 0; m1 <= 2 * l1; ++m1)
            for (int m2 = 0; m2 <= 2 * l2; ++m2) b[mu] += (swap ? g(mu, m2, m1) : g(mu, m1, m2)) * c1[m1] * c2[m2];
    return b;
}

bool proper(int l1, int l2, int lam) { return lam >= std::abs(l1 - l2) && lam <= l1 + l2 && (l1 + l2 + lam) % 2 == 0; }

}  // namespace

int main() {
    const auto start = std::chrono::steady_clock::now();
    sagpr::LambdaSoapHypers h;
    h.o3_lambdas = {3, 0, 1, 2, 5};  // unordered on purpose: per-lambda bookkeeping
    h.cutoff = 3.0;
    h.max_radial = 3;
    h.max_angular = 3;
    h.atomic_gaussian_width = 0.4;
    h.cutoff_smooth_width = 1.0;
    h.center_atom_weight = 0.7;
    h.species = {8, 1};  // the code sorts them
    const std::vector<int> species = {1, 8};

    // O, H, H, O: pairs (0, 3) and (1, 3) at 2.82 and 2.70 A fall in the switching region, pair (2, 3) at 3.4 A is
    // beyond the cutoff, no symmetry that would zero any lambda.
    sagpr::Frame frame;
    frame.positions.resize(4, 3);
    frame.positions << 0.0, 0.0, 0.0, 0.9, 0.3, -0.2, -0.4, 1.1, 0.5, 1.7, -1.2, 1.9;
    frame.numbers = {8, 1, 1, 8};

    const int lm = (h.max_angular + 1) * (h.max_angular + 1), q_size = 2 * h.max_radial;
    const sagpr::RadialIntegral ri(h.max_radial, h.max_angular, h.cutoff, h.atomic_gaussian_width);
    CgCache cg;

    for (bool normalize : {false, true}) {
        h.normalize = normalize;
        const sagpr::LambdaSoap calc(h);
        CHECK(calc.hypers().species == species);
        CHECK(calc.density_size() == q_size * lm);

        // Density of every centre.
        std::vector<double> density(4 * calc.density_size());
        calc.density({frame}, {}, density.data());
        double worst_c = 0.0, scale_c = 0.0;
        std::vector<std::vector<double>> ref_c;
        for (int i = 0; i < 4; ++i) {
            ref_c.push_back(reference_density(calc.hypers(), ri, frame, i));
            for (int k = 0; k < calc.density_size(); ++k) {
                worst_c = std::max(worst_c, std::abs(density[i * calc.density_size() + k] - ref_c[i][k]));
                scale_c = std::max(scale_c, std::abs(ref_c[i][k]));
            }
        }
        CHECK(worst_c < 1e-13 * scale_c);

        // Features, all lambdas in one call.
        const auto x = compute(calc, frame, {});
        double worst_x = 0.0, worst_dot = 0.0;
        for (int k = 0; k < calc.n_lambdas(); ++k) {
            const int lam = calc.o3_lambda(k), d = 2 * lam + 1;
            CHECK(lam == h.o3_lambdas[k] && calc.n_components(k) == d);
            const auto& labels = calc.labels(k);
            RowMatrixXd ref(4 * d, labels.size());
            for (int i = 0; i < 4; ++i) {
                const auto& c = ref_c[i];
                auto at = [&](int z, int n, int l) {
                    const int a = z == 1 ? 0 : 1;
                    return c.data() + (a * h.max_radial + n) * lm + l * l;
                };
                for (size_t f = 0; f < labels.size(); ++f) {
                    const auto [za, n1, l1, zb, n2, l2] = labels[f];
                    const bool same = za == zb && n1 == n2 && l1 == l2;
                    CHECK(l1 <= l2 && proper(l1, l2, lam));
                    ref.block(i * d, f, d, 1) = (same ? 1.0 : std::sqrt(2.0)) * couple(cg, lam, l1, at(za, n1, l1), l2, at(zb, n2, l2));
                }
                if (normalize) ref.middleRows(i * d, d) /= ref.middleRows(i * d, d).norm();
            }
            const double scale = ref.cwiseAbs().maxCoeff();
            CHECK(scale > 0.0 && x[k].allFinite());
            worst_x = std::max(worst_x, (x[k] - ref).cwiseAbs().maxCoeff() / scale);

            // Labels complete: raw x_i,mu . x_j,nu over the kept features = the same over every
            // ordered pair of (a n l) channels with any l1, l2 (fails for a missing or doubled label
            // or a wrong sqrt2).
            if (normalize) continue;
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 4; ++j) {
                    Eigen::MatrixXd full = Eigen::MatrixXd::Zero(d, d);
                    const double *ci = ref_c[i].data(), *cj = ref_c[j].data();
                    for (int l1 = 0; l1 <= h.max_angular; ++l1)
                        for (int l2 = 0; l2 <= h.max_angular; ++l2) {
                            if (!proper(l1, l2, lam)) continue;
                            for (int q1 = 0; q1 < q_size; ++q1)
                                for (int q2 = 0; q2 < q_size; ++q2) {
                                    const Eigen::VectorXd bi = couple(cg, lam, l1, ci + q1 * lm + l1 * l1, l2, ci + q2 * lm + l2 * l2);
                                    const Eigen::VectorXd bj = couple(cg, lam, l1, cj + q1 * lm + l1 * l1, l2, cj + q2 * lm + l2 * l2);
                                    full += bi * bj.transpose();
                                }
                        }
                    const Eigen::MatrixXd kept = x[k].middleRows(i * d, d) * x[k].middleRows(j * d, d).transpose();
                    worst_dot = std::max(worst_dot, (kept - full).cwiseAbs().maxCoeff() / full.cwiseAbs().maxCoeff());
                }
        }
        std::printf("normalize=%d: density %.1e, features %.1e, raw dot products vs full ordered tensor %.1e (relative; 0 = not checked)\n", normalize,
                    worst_c / scale_c, worst_x, worst_dot);
        CHECK(worst_x < 1e-12);
        CHECK(worst_dot < 1e-12);

        // Centre selection: only the O atoms (0 and 3), in frame order.
        const auto xo = compute(calc, frame, {8});
        for (int k = 0; k < calc.n_lambdas(); ++k) {
            const int d = calc.n_components(k);
            CHECK(xo[k].rows() == 2 * d);
            CHECK((xo[k].topRows(d) - x[k].topRows(d)).cwiseAbs().maxCoeff() == 0.0);
            CHECK((xo[k].bottomRows(d) - x[k].middleRows(3 * d, d)).cwiseAbs().maxCoeff() == 0.0);
        }

        // One lambda at a time gives the same numbers as all at once.
        for (int k = 0; k < calc.n_lambdas(); ++k) {
            sagpr::LambdaSoapHypers one = h;
            one.o3_lambdas = {h.o3_lambdas[k]};
            const auto single = compute(sagpr::LambdaSoap(one), frame, {});
            CHECK(single[0].rows() == x[k].rows() && single[0].cols() == x[k].cols());
            CHECK((single[0] - x[k]).cwiseAbs().maxCoeff() <= 1e-14 * x[k].cwiseAbs().maxCoeff());  // same arithmetic up to GEMM blocking
        }
    }

    // Symmetries of the normalised features.
    h.normalize = true;
    const sagpr::LambdaSoap calc(h);
    const auto x = compute(calc, frame, {});
    std::mt19937 rng(2024);
    auto transformed = [&](const Eigen::Matrix3d& a, const Eigen::Vector3d& shift, const std::vector<int>& perm) {
        sagpr::Frame g = frame;
        for (int i = 0; i < 4; ++i) {
            g.positions.row(i) = (a * frame.positions.row(perm[i]).transpose() + shift).transpose();
            g.numbers[i] = frame.numbers[perm[i]];
        }
        return compute(calc, g, {});
    };
    const std::vector<int> identity = {0, 1, 2, 3}, perm = {2, 0, 3, 1};  // new atom i = old atom perm[i]
    double worst_rot = 0.0, worst_inv = 0.0, worst_shift = 0.0, worst_perm = 0.0;
    for (int trial = 0; trial < 3; ++trial) {
        const Eigen::Matrix3d r = sagpr_test::random_rotation(rng);
        const auto xr = transformed(r, Eigen::Vector3d::Zero(), identity);
        for (int k = 0; k < calc.n_lambdas(); ++k) {
            const int d = calc.n_components(k);
            const Eigen::MatrixXd dm = sagpr_test::wigner_d(calc.o3_lambda(k), r);
            for (int i = 0; i < 4; ++i)
                worst_rot = std::max(worst_rot, (xr[k].middleRows(i * d, d) - dm * x[k].middleRows(i * d, d)).cwiseAbs().maxCoeff());
        }
    }
    const auto xi = transformed(-Eigen::Matrix3d::Identity(), Eigen::Vector3d::Zero(), identity);
    const auto xs = transformed(Eigen::Matrix3d::Identity(), Eigen::Vector3d(3.3, -7.1, 2.2), identity);
    const auto xp = transformed(Eigen::Matrix3d::Identity(), Eigen::Vector3d::Zero(), perm);
    for (int k = 0; k < calc.n_lambdas(); ++k) {
        const int d = calc.n_components(k);
        const double parity = calc.o3_lambda(k) % 2 ? -1.0 : 1.0;
        worst_inv = std::max(worst_inv, (xi[k] - parity * x[k]).cwiseAbs().maxCoeff());
        worst_shift = std::max(worst_shift, (xs[k] - x[k]).cwiseAbs().maxCoeff());
        for (int i = 0; i < 4; ++i)
            worst_perm = std::max(worst_perm, (xp[k].middleRows(i * d, d) - x[k].middleRows(perm[i] * d, d)).cwiseAbs().maxCoeff());
    }
    std::printf("symmetries (normalised features, |x| <= 1): rotation %.1e, inversion %.1e, translation %.1e, permutation %.1e\n",
                worst_rot, worst_inv, worst_shift, worst_perm);
    CHECK(worst_rot < 1e-12);
    CHECK(worst_inv < 1e-13);
    CHECK(worst_shift < 1e-13);
    CHECK(worst_perm < 1e-13);

    // Species outside hypers.species are refused.
    sagpr::Frame bad = frame;
    bad.numbers[2] = 6;
    bool threw = false;
    try {
        compute(calc, bad, {});
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    CHECK(threw);
    std::printf("%.2f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return sagpr_test::finish("test_lambda_soap");
}
