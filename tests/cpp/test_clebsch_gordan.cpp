// Real Clebsch-Gordan coefficients (cpp/src/clebsch_gordan.cpp, real Gaunt integrals normalised
// per component): against the textbook complex CG (Racah's formula) carried to real harmonics,
// orthonormality of the coupling, a few hand-derived values, equivariance, bad input.
#include "check.hpp"
#include "math_reference.hpp"
#include "sagpr/clebsch_gordan.hpp"

#include <array>
#include <complex>
#include <stdexcept>

using cplx = std::complex<double>;

namespace {

double fact(int n) { return std::tgamma(n + 1.0); }  // exact in double for n <= 22

// <j1 m1 j2 m2 | J M> by Racah's formula (Condon-Shortley convention).
double complex_cg(int j1, int m1, int j2, int m2, int J, int M) {
    if (m1 + m2 != M || std::abs(m1) > j1 || std::abs(m2) > j2 || std::abs(M) > J) return 0.0;
    const double pre = std::sqrt((2 * J + 1) * fact(J + j1 - j2) * fact(J - j1 + j2) * fact(j1 + j2 - J) /
                                 fact(j1 + j2 + J + 1) * fact(J + M) * fact(J - M) * fact(j1 - m1) *
                                 fact(j1 + m1) * fact(j2 - m2) * fact(j2 + m2));
    double sum = 0.0;
    for (int k = 0; k <= j1 + j2 - J; ++k) {
        const int a = j1 + j2 - J - k, b = j1 - m1 - k, c = j2 + m2 - k, d = J - j2 + m1 + k, e = J - j1 - m2 + k;
        if (a < 0 || b < 0 || c < 0 || d < 0 || e < 0) continue;
        sum += ((k % 2) ? -1.0 : 1.0) / (fact(k) * fact(a) * fact(b) * fact(c) * fact(d) * fact(e));
    }
    return pre * sum;
}

// U with Y^real_mu = sum_m U[mu][m] Y^complex_m (complex harmonics with the Condon-Shortley
// phase, real ones without): mu > 0: ((-1)^mu Y^mu + Y^-mu)/sqrt2; mu < 0: ((-1)^mu Y^|mu| - Y^-|mu|)/(i sqrt2).
Eigen::MatrixXcd real_from_complex(int l) {
    Eigen::MatrixXcd u = Eigen::MatrixXcd::Zero(2 * l + 1, 2 * l + 1);
    const double s = 1.0 / std::sqrt(2.0);
    u(l, l) = 1.0;
    for (int m = 1; m <= l; ++m) {
        const double sign = (m % 2) ? -1.0 : 1.0;
        u(l + m, l + m) = sign * s;
        u(l + m, l - m) = s;
        u(l - m, l + m) = cplx(0, -1) * sign * s;
        u(l - m, l - m) = cplx(0, 1) * s;
    }
    return u;
}

}  // namespace

int main() {
    const int l_top = 4;
    double worst_ref = 0.0, worst_imag = 0.0, worst_orth = 0.0;
    for (int l1 = 0; l1 <= l_top; ++l1) {
        for (int l2 = 0; l2 <= l_top; ++l2) {
            // All proper couplings of (l1, l2) as rows of one matrix over (m1, m2).
            std::vector<sagpr::RealClebschGordan> all;
            for (int lam = std::abs(l1 - l2); lam <= l1 + l2; lam += 2) all.push_back(sagpr::real_clebsch_gordan(l1, l2, lam));
            int rows = 0;
            for (const auto& cg : all) rows += 2 * cg.lambda + 1;
            Eigen::MatrixXd m(rows, (2 * l1 + 1) * (2 * l2 + 1));
            int row = 0;
            for (const auto& cg : all) {
                const int lam = cg.lambda;
                CHECK(cg.l1 == l1 && cg.l2 == l2 && cg.values.size() == size_t((2 * lam + 1) * (2 * l1 + 1) * (2 * l2 + 1)));
                // Real CG = U^lam C U^l1* U^l2*; the code's sign convention (positive Gaunt
                // integral) differs from Condon-Shortley's by the sign of <l1 0 l2 0|lam 0>.
                const Eigen::MatrixXcd u0 = real_from_complex(lam), u1 = real_from_complex(l1), u2 = real_from_complex(l2);
                const double sign = complex_cg(l1, 0, l2, 0, lam, 0) > 0 ? 1.0 : -1.0;
                for (int mu = 0; mu <= 2 * lam; ++mu) {
                    for (int a = 0; a <= 2 * l1; ++a) {
                        for (int b = 0; b <= 2 * l2; ++b) {
                            cplx ref = 0.0;
                            for (int M = -lam; M <= lam; ++M)
                                for (int m1 = -l1; m1 <= l1; ++m1) {
                                    const int m2 = M - m1;
                                    if (std::abs(m2) > l2) continue;
                                    ref += u0(mu, M + lam) * complex_cg(l1, m1, l2, m2, lam, M) *
                                           std::conj(u1(a, m1 + l1)) * std::conj(u2(b, m2 + l2));
                                }
                            worst_imag = std::max(worst_imag, std::abs(ref.imag()));
                            worst_ref = std::max(worst_ref, std::abs(cg(mu, a, b) - sign * ref.real()));
                            m(row + mu, a * (2 * l2 + 1) + b) = cg(mu, a, b);
                        }
                    }
                }
                row += 2 * lam + 1;
            }
            // sum_{m1 m2} C^{lam mu} C^{lam' mu'} = delta_{lam lam'} delta_{mu mu'}
            worst_orth = std::max(worst_orth, (m * m.transpose() - Eigen::MatrixXd::Identity(rows, rows)).cwiseAbs().maxCoeff());
        }
    }
    std::printf("l <= %d: |C - C_Racah| %.2e, |Im| %.2e, |C C^T - I| %.2e\n", l_top, worst_ref, worst_imag, worst_orth);
    CHECK(worst_imag < 1e-14);  // proper couplings are real: checks the reference itself
    CHECK(worst_ref < 1e-13);
    CHECK(worst_orth < 1e-13);

    // Hand values, m ordered (y, z, x) for l = 1.
    const double r2 = 1 / std::sqrt(2.0), r3 = 1 / std::sqrt(3.0), r6 = 1 / std::sqrt(6.0);
    const auto s = sagpr::real_clebsch_gordan(1, 1, 0);  // a.b / sqrt3
    for (int a = 0; a < 3; ++a)
        for (int b = 0; b < 3; ++b) CHECK_NEAR(s(0, a, b), a == b ? r3 : 0.0, 1e-15);
    const auto t = sagpr::real_clebsch_gordan(1, 1, 2);  // symmetric traceless part of a b^T
    CHECK_NEAR(t(0, 0, 2), r2, 1e-15);   // mu=-2 ~ xy: (a_y b_x + a_x b_y)/sqrt2
    CHECK_NEAR(t(0, 2, 0), r2, 1e-15);
    CHECK_NEAR(t(1, 0, 1), r2, 1e-15);   // mu=-1 ~ yz
    CHECK_NEAR(t(2, 1, 1), 2 * r6, 1e-15);  // mu=0 ~ 3z^2-r^2: (2 a_z b_z - a_x b_x - a_y b_y)/sqrt6
    CHECK_NEAR(t(2, 0, 0), -r6, 1e-15);
    CHECK_NEAR(t(2, 2, 2), -r6, 1e-15);
    CHECK_NEAR(t(3, 1, 2), r2, 1e-15);   // mu=1 ~ xz
    CHECK_NEAR(t(4, 2, 2), r2, 1e-15);   // mu=2 ~ x^2-y^2: (a_x b_x - a_y b_y)/sqrt2
    CHECK_NEAR(t(4, 0, 0), -r2, 1e-15);
    CHECK_NEAR(t(4, 0, 2), 0.0, 1e-15);
    const auto id = sagpr::real_clebsch_gordan(0, 3, 3);  // coupling to a scalar is the identity
    for (int mu = 0; mu < 7; ++mu)
        for (int b = 0; b < 7; ++b) CHECK_NEAR(id(mu, 0, b), mu == b ? 1.0 : 0.0, 1e-15);

    // Equivariance, convention-free: B(D1 a, D2 b) = D_lam B(a, b) for a rotation R.
    std::mt19937 rng(5);
    std::normal_distribution<double> normal;
    const Eigen::Matrix3d rot = sagpr_test::random_rotation(rng);
    for (auto [l1, l2, lam] : {std::array<int, 3>{2, 3, 3}, {3, 3, 4}, {1, 4, 5}, {4, 4, 2}}) {
        const auto cg = sagpr::real_clebsch_gordan(l1, l2, lam);
        Eigen::VectorXd a(2 * l1 + 1), b(2 * l2 + 1);
        for (auto& v : a) v = normal(rng);
        for (auto& v : b) v = normal(rng);
        auto couple = [&](const Eigen::VectorXd& x, const Eigen::VectorXd& y) {
            Eigen::VectorXd out = Eigen::VectorXd::Zero(2 * lam + 1);
            for (int mu = 0; mu <= 2 * lam; ++mu)
                for (int i = 0; i <= 2 * l1; ++i)
                    for (int j = 0; j <= 2 * l2; ++j) out[mu] += cg(mu, i, j) * x[i] * y[j];
            return out;
        };
        const Eigen::VectorXd lhs = couple(sagpr_test::wigner_d(l1, rot) * a, sagpr_test::wigner_d(l2, rot) * b);
        const Eigen::VectorXd rhs = sagpr_test::wigner_d(lam, rot) * couple(a, b);
        CHECK((lhs - rhs).cwiseAbs().maxCoeff() < 1e-12 * (1 + rhs.norm()));
    }

    // Improper (odd) and non-triangular couplings are refused.
    for (auto [l1, l2, lam] : {std::array<int, 3>{1, 1, 1}, {2, 1, 2}, {1, 1, 3}, {3, 0, 1}, {-1, 1, 0}}) {
        bool threw = false;
        try {
            sagpr::real_clebsch_gordan(l1, l2, lam);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
    }
    return sagpr_test::finish("test_clebsch_gordan");
}
