// Real spherical harmonics: closed forms for l = 0..3 (sagpr's convention, no Condon-Shortley
// phase, Y_1 = sqrt(3/4pi) (y, z, x)) and orthonormality up to l = 12 by an exact quadrature.
#include "check.hpp"
#include "math_reference.hpp"
#include "sagpr/spherical_harmonics.hpp"

#include <algorithm>
#include <vector>

using sagpr::lm_index;
using sagpr_test::pi;

namespace {

// The textbook real harmonics (e.g. the table in Wikipedia's "Table of spherical harmonics",
// real form, which carries no Condon-Shortley phase) of a unit vector, out[l*l + l + m].
std::vector<double> closed_forms(double x, double y, double z) {
    const double c1 = std::sqrt(3.0 / (4 * pi));
    const double c2 = 0.5 * std::sqrt(15.0 / pi), c20 = 0.25 * std::sqrt(5.0 / pi);
    const double c33 = 0.25 * std::sqrt(35.0 / (2 * pi)), c32 = 0.5 * std::sqrt(105.0 / pi);
    const double c31 = 0.25 * std::sqrt(21.0 / (2 * pi)), c30 = 0.25 * std::sqrt(7.0 / pi);
    return {
        0.5 / std::sqrt(pi),
        c1 * y, c1 * z, c1 * x,
        c2 * x * y, c2 * y * z, c20 * (3 * z * z - 1), c2 * x * z, 0.5 * c2 * (x * x - y * y),
        c33 * y * (3 * x * x - y * y), c32 * x * y * z, c31 * y * (5 * z * z - 1), c30 * z * (5 * z * z - 3),
        c31 * x * (5 * z * z - 1), 0.5 * c32 * z * (x * x - y * y), c33 * x * (x * x - 3 * y * y),
    };
}

}  // namespace

int main() {
    std::mt19937 rng(11);

    // Closed forms at random directions, the poles and an equator point; asked with l_max = 3
    // and with l_max = 8 (the low-l values must not depend on l_max).
    std::vector<Eigen::Vector3d> dirs = {{0, 0, 1}, {0, 0, -1}, {1, 0, 0}, {0, 1, 0}, Eigen::Vector3d(1, -1, 0).normalized()};
    for (int k = 0; k < 200; ++k) dirs.push_back(sagpr_test::random_unit(rng));
    double worst = 0.0;
    for (const auto& u : dirs) {
        const auto ref = closed_forms(u.x(), u.y(), u.z());
        for (int l_max : {3, 8}) {
            std::vector<double> y((l_max + 1) * (l_max + 1));
            sagpr::real_spherical_harmonics(l_max, u.x(), u.y(), u.z(), y.data());
            for (size_t i = 0; i < ref.size(); ++i) worst = std::max(worst, std::abs(y[i] - ref[i]));
        }
    }
    std::printf("closed forms l <= 3: max |error| %.2e\n", worst);
    CHECK(worst < 1e-14);  // values are O(1): a few ulps

    // Orthonormality: Gauss-Legendre in cos(theta) x uniform phi. Y_lm Y_l'm' restricted to
    // |m| = |m'| is a polynomial of degree <= 2 l_max in z times a trigonometric polynomial of
    // degree <= 2 l_max in phi, so n_theta = l_max + 1 and n_phi = 2 l_max + 1 are exact;
    // other |m| pairs vanish under the phi sum. One extra point each for margin.
    const int l_max = 12, n_lm = (l_max + 1) * (l_max + 1);
    const auto gl = sagpr_test::gauss_legendre(l_max + 2, -1.0, 1.0);
    const int n_phi = 2 * l_max + 2;
    Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(n_lm, n_lm);
    std::vector<double> y(n_lm);
    for (size_t t = 0; t < gl.x.size(); ++t) {
        const double z = gl.x[t], rho = std::sqrt(1 - z * z);
        for (int p = 0; p < n_phi; ++p) {
            const double phi = 2 * pi * (p + 0.3) / n_phi;  // offset: no node on the x axis
            sagpr::real_spherical_harmonics(l_max, rho * std::cos(phi), rho * std::sin(phi), z, y.data());
            const Eigen::Map<Eigen::VectorXd> v(y.data(), n_lm);
            gram.noalias() += (gl.w[t] * 2 * pi / n_phi) * v * v.transpose();
        }
    }
    const double orth = (gram - Eigen::MatrixXd::Identity(n_lm, n_lm)).cwiseAbs().maxCoeff();
    std::printf("orthonormality l <= %d: max |G - I| %.2e\n", l_max, orth);
    CHECK(orth < 1e-12);

    // Higher l: each Y_l spans a rotation-closed space (residual: catches polynomials of mixed
    // degree) on which rotations act orthogonally (catches a wrongly scaled component).
    for (int l = 4; l <= 8; ++l) {
        const Eigen::Matrix3d r = sagpr_test::random_rotation(rng);
        const Eigen::MatrixXd d = sagpr_test::wigner_d(l, r);
        double resid = 0.0;
        for (int k = 0; k < 20; ++k) {
            const Eigen::Vector3d u = sagpr_test::random_unit(rng);
            resid = std::max(resid, (sagpr_test::harmonics_l(l, r * u) - d * sagpr_test::harmonics_l(l, u)).cwiseAbs().maxCoeff());
        }
        CHECK(resid < 1e-12);
        CHECK((d * d.transpose() - Eigen::MatrixXd::Identity(2 * l + 1, 2 * l + 1)).cwiseAbs().maxCoeff() < 1e-12);
    }
    CHECK(lm_index(3, -3) == 9 && lm_index(3, 3) == 15);
    return sagpr_test::finish("test_spherical_harmonics");
}
