// The C++ LODE expansion without Python: Ewald-splitting independence, zero l >= 1 part at a
// cubic site, supercell invariance, far-field continuity of the cluster table, product symmetry
// zeros, and the errors for bad input.
#include "check.hpp"
#include "sagpr/lode.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace {

sagpr::Frame rock_salt(double a, int repeat = 1) {
    sagpr::Frame frame;
    const double base[8][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0},
                               {.5, 0, 0}, {0, .5, 0}, {0, 0, .5}, {.5, .5, .5}};
    frame.positions.resize(8 * repeat, 3);
    for (int r = 0; r < repeat; ++r)
        for (int i = 0; i < 8; ++i) {
            for (int k = 0; k < 3; ++k) frame.positions(8 * r + i, k) = a * base[i][k] + (k == 0 ? a * r : 0.0);
            frame.numbers.push_back(i < 4 ? 11 : 17);
        }
    frame.cell = Eigen::Matrix3d::Identity() * a;
    frame.cell(0, 0) *= repeat;
    frame.pbc = {true, true, true};
    // a small distortion so that not everything vanishes by symmetry
    if (repeat == 1) frame.positions(5, 1) += 0.21;
    return frame;
}

sagpr::LodeHypers hypers(double ewald_width) {
    sagpr::LodeHypers h;
    h.cutoff = 3.0;
    h.max_radial = 3;
    h.max_angular = 2;
    h.atomic_gaussian_width = 1.0;
    h.ewald_width = ewald_width;
    h.accuracy = 1e-12;
    h.species = {11, 17};
    return h;
}

template <typename F>
bool throws(F&& f) {
    try {
        f();
    } catch (const std::invalid_argument&) {
        return true;
    }
    return false;
}

double max_abs(const std::vector<double>& v) {
    double m = 0.0;
    for (double x : v) m = std::max(m, std::abs(x));
    return m;
}

}  // namespace

int main() {
    const sagpr::Frame frame = rock_salt(5.64);
    const sagpr::LodeExpansion reciprocal(hypers(1.0)), split(hypers(1.6));
    CHECK(split.real_cutoff() > 0.0);
    CHECK(reciprocal.real_cutoff() == 0.0);
    const size_t size = static_cast<size_t>(reciprocal.density_size());
    std::vector<double> a(8 * size), b(8 * size);
    reciprocal.compute({frame}, {}, a.data());
    split.compute({frame}, {}, b.data());
    const double scale = max_abs(a);
    double diff = 0.0;
    for (size_t i = 0; i < a.size(); ++i) diff = std::max(diff, std::abs(a[i] - b[i]));
    CHECK(diff < 1e-9 * scale);

    // Undistorted rock salt: every site is cubic, so only l = 0 survives; supercell invariance.
    const sagpr::Frame cubic = rock_salt(5.64, 1), doubled = rock_salt(5.64, 2);
    sagpr::Frame undistorted = cubic;
    undistorted.positions(5, 1) -= 0.21;
    std::vector<double> c(8 * size), d(16 * size);
    reciprocal.compute({undistorted}, {}, c.data());
    reciprocal.compute({doubled}, {}, d.data());
    const int lm = 9;
    double odd = 0.0, super = 0.0;
    for (size_t i = 0; i < c.size(); ++i) {
        if (i % lm != 0) odd = std::max(odd, std::abs(c[i]));
        super = std::max(super, std::abs(c[i] - d[i]));
    }
    CHECK(odd < 1e-10 * max_abs(c));
    CHECK(super < 1e-10 * max_abs(c));

    // Clusters: the tabulated near field joins the multipole far field continuously.
    const double edge = reciprocal.basis_extent() + 9.0 * 1.0;
    std::vector<double> inside(9), outside(9);
    reciprocal.real_space(edge * (1 - 1e-9), false, inside.data());
    reciprocal.real_space(edge * (1 + 1e-9), false, outside.data());
    // (the two agree to ~3e-9 of the largest coefficient: quadrature of the k-space table)
    for (int i = 0; i < 9; ++i) CHECK(std::abs(inside[i] - outside[i]) < 1e-8 * std::abs(outside[0]));

    // rho x V at the cubic sites: lambda = 1, 2 vanish exactly, lambda = 0 has unit norm.
    sagpr::LambdaSoapHypers local;
    local.o3_lambdas = {0, 1, 2};
    local.cutoff = 4.0;
    local.max_radial = 3;
    local.max_angular = 2;
    local.atomic_gaussian_width = 0.4;
    local.cutoff_smooth_width = 0.5;
    local.center_atom_weight = 1.0;
    local.species = {11, 17};
    const sagpr::LodeProduct product(local, hypers(1.0));
    std::vector<std::vector<double>> out(3);
    std::vector<double*> ptrs;
    for (int k = 0; k < 3; ++k) {
        out[k].assign(8 * product.n_components(k) * product.n_features(k), 1.0);
        ptrs.push_back(out[k].data());
    }
    product.compute({undistorted}, {}, ptrs);
    CHECK(max_abs(out[1]) == 0.0);
    CHECK(max_abs(out[2]) == 0.0);
    double norm0 = 0.0;
    for (int64_t f = 0; f < product.n_features(0); ++f) norm0 += out[0][f] * out[0][f];
    CHECK_NEAR(norm0, 1.0, 1e-12);

    // Errors: partial periodicity, unknown species, unset hyperparameters, ewald_width < sigma.
    sagpr::Frame partial = frame;
    partial.pbc = {true, true, false};
    std::vector<double> scratch(8 * size);
    CHECK(throws([&] { reciprocal.compute({partial}, {}, scratch.data()); }));
    sagpr::Frame stranger = frame;
    stranger.numbers[0] = 3;
    CHECK(throws([&] { reciprocal.compute({stranger}, {}, scratch.data()); }));
    CHECK(throws([&] { sagpr::LodeExpansion bad(hypers(std::nan(""))); }));
    CHECK(throws([&] { sagpr::LodeExpansion bad(hypers(0.5)); }));
    return sagpr_test::finish("test_lode");
}
