// Radial integrals (cpp/src/radial_integral.cpp) from their definition: the density of a
// normalised Gaussian atom at d z_hat, rho(r) = (2 pi sigma^2)^{-3/2} exp(-|r - d z_hat|^2/2 sigma^2),
// projected on R_n(r) Y_l0(r_hat), is I_nl(d) Y_l0(z_hat) (only m = 0 survives on the z axis), so
//   I_nl(d) = 2 pi int r^2 R_n(r) int_{-1}^{1} P_l(z) rho(r, z) dz dr.
// This 2D quadrature uses no Bessel function and an independently built radial basis. Also: the
// basis (Loewdin-orthonormal GTOs), e^{-x} i_l(x) against its power series, d/dd I_nl.
#include "check.hpp"
#include "math_reference.hpp"
#include "sagpr/quadrature.hpp"
#include "sagpr/radial_integral.hpp"

#include <chrono>
#include <stdexcept>

using sagpr_test::pi;

namespace {

// GTOs r^n exp(-r^2/2 s_n^2), s_n = cutoff max(sqrt n, 1)/n_max, normalised and Loewdin-
// orthonormalised with the overlap integrated numerically (not the code's Gamma functions).
struct Basis {
    int n_max;
    std::vector<double> s;
    Eigen::MatrixXd transform;
    Eigen::VectorXd gto(double r) const {
        Eigen::VectorXd g(n_max);
        for (int n = 0; n < n_max; ++n) g[n] = std::pow(r, n) * std::exp(-0.5 * r * r / (s[n] * s[n]));
        return g;
    }
    Eigen::VectorXd operator()(double r) const { return transform * gto(r); }
    Basis(int n_max_, double cutoff) : n_max(n_max_) {
        for (int n = 0; n < n_max; ++n) s.push_back(cutoff * std::max(std::sqrt(double(n)), 1.0) / n_max);
        std::vector<double> edges;
        for (int k = 0; k <= 60; ++k) edges.push_back(k * 0.1 * cutoff);  // GTOs are < 1e-30 beyond 6 cutoffs
        const auto q = sagpr_test::composite(edges, 20);
        Eigen::MatrixXd overlap = Eigen::MatrixXd::Zero(n_max, n_max);
        for (size_t i = 0; i < q.x.size(); ++i) {
            const Eigen::VectorXd g = gto(q.x[i]);
            overlap += q.w[i] * q.x[i] * q.x[i] * g * g.transpose();
        }
        const Eigen::VectorXd d = overlap.diagonal().cwiseSqrt().cwiseInverse();
        Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(d.asDiagonal() * overlap * d.asDiagonal());
        transform = eig.eigenvectors() * eig.eigenvalues().cwiseSqrt().cwiseInverse().asDiagonal() *
                    eig.eigenvectors().transpose() * d.asDiagonal();
    }
};

// I_nl(d) by the 2D quadrature above: r on [d - 10 sigma, d + 10 sigma] (the density is
// < e^-50 outside), panels of sigma/(4 refine); t = 1 - z on [0, 2] with panels graded as k^3 toward
// t = 0, where the density decays on the scale sigma^2/(r d).
Eigen::MatrixXd reference(const Basis& basis, int l_max, double sigma, double d, int refine) {
    std::vector<double> r_edges, t_edges;
    const double lo = std::max(0.0, d - 10 * sigma), hi = d + 10 * sigma;
    const int n_r = static_cast<int>(std::ceil((hi - lo) / sigma * 4 * refine));
    for (int k = 0; k <= n_r; ++k) r_edges.push_back(lo + (hi - lo) * k / n_r);
    const int n_t = 40 * refine;
    for (int k = 0; k <= n_t; ++k) t_edges.push_back(2.0 * std::pow(double(k) / n_t, 3));
    const auto rq = sagpr_test::composite(r_edges, 16), tq = sagpr_test::composite(t_edges, 16);
    // P_l(z) at the z nodes, by Bonnet's recurrence.
    Eigen::MatrixXd p(tq.x.size(), l_max + 1);
    for (size_t k = 0; k < tq.x.size(); ++k) {
        const double z = 1.0 - tq.x[k];
        p(k, 0) = 1.0;
        if (l_max > 0) p(k, 1) = z;
        for (int l = 2; l <= l_max; ++l) p(k, l) = ((2 * l - 1) * z * p(k, l - 1) - (l - 1) * p(k, l - 2)) / l;
    }
    const double norm = std::pow(2 * pi * sigma * sigma, -1.5);
    Eigen::MatrixXd out = Eigen::MatrixXd::Zero(basis.n_max, l_max + 1);
    for (size_t i = 0; i < rq.x.size(); ++i) {
        const double r = rq.x[i];
        Eigen::RowVectorXd angular = Eigen::RowVectorXd::Zero(l_max + 1);
        for (size_t k = 0; k < tq.x.size(); ++k) {
            // |r - d|^2 = (r - d)^2 + 2 r d t, written so that nothing cancels near r = d, z = 1
            const double e = std::exp(-((r - d) * (r - d) + 2 * r * d * tq.x[k]) / (2 * sigma * sigma));
            angular += (tq.w[k] * e) * p.row(k);
        }
        out += (2 * pi * norm * rq.w[i] * r * r) * basis(r) * angular;
    }
    return out;
}

// e^{-x} i_l(x) from the power series, every term positive (no cancellation) for any x.
double bessel_series(int l, double x) {
    double lead = 1.0;
    for (int k = 1; k <= l; ++k) lead *= x / (2 * k + 1);
    double term = 1.0, sum = 1.0;
    for (int k = 1; k < 400 && term > 1e-18 * sum; ++k) {
        term *= 0.5 * x * x / (k * (2 * l + 2 * k + 1));
        sum += term;
    }
    return std::exp(-x) * lead * sum;
}

}  // namespace

int main() {
    const auto start = std::chrono::steady_clock::now();

    // Modified spherical Bessel functions: both branches (series below x = 1, Miller's
    // recurrence above), l <= 12; and the closed form e^-x sinh(x)/x for l = 0.
    double worst_bessel = 0.0;
    for (double x : {1e-8, 0.01, 0.3, 0.999999, 1.0, 1.000001, 2.5, 7.0, 20.0, 55.0, 140.0}) {
        std::vector<double> out(13);
        sagpr::scaled_spherical_bessel_i(12, x, out.data());
        for (int l = 0; l <= 12; ++l) {
            const double ref = bessel_series(l, x);
            if (ref > 1e-280) worst_bessel = std::max(worst_bessel, std::abs(out[l] - ref) / ref);
        }
        CHECK_NEAR(out[0], -std::expm1(-2 * x) / (2 * x), 1e-15);
    }
    std::printf("e^-x i_l(x): max relative error %.2e\n", worst_bessel);
    CHECK(worst_bessel < 1e-13);

    // The library's Gauss-Legendre rule against Golub-Welsch (it feeds every integral here).
    for (int n : {1, 2, 7, 40, 160}) {
        const sagpr::GaussLegendre gl(n, -0.5, 2.0);
        const auto ref = sagpr_test::gauss_legendre(n, -0.5, 2.0);
        for (int k = 0; k < n; ++k) {
            CHECK_NEAR(gl.nodes[k], ref.x[k], 1e-14);
            CHECK_NEAR(gl.weights[k], ref.w[k], 1e-14);
        }
    }

    struct Case {
        int n_max, l_max;
        double cutoff, sigma;
    };
    for (const Case& c : {Case{6, 6, 4.0, 0.3}, Case{8, 4, 5.0, 0.5}}) {
        const sagpr::RadialIntegral ri(c.n_max, c.l_max, c.cutoff, c.sigma);
        const Basis basis(c.n_max, c.cutoff);
        const int stride = c.l_max + 1;

        // Basis: the code's R_n equal the independent construction and are orthonormal.
        std::vector<double> rn(c.n_max);
        double worst_basis = 0.0;
        Eigen::MatrixXd gram = Eigen::MatrixXd::Zero(c.n_max, c.n_max);
        std::vector<double> edges;
        for (int k = 0; k <= 60; ++k) edges.push_back(k * 0.1 * c.cutoff);
        const auto q = sagpr_test::composite(edges, 20);
        for (size_t i = 0; i < q.x.size(); ++i) {
            ri.basis(q.x[i], rn.data());
            const Eigen::Map<Eigen::VectorXd> v(rn.data(), c.n_max);
            gram += q.w[i] * q.x[i] * q.x[i] * v * v.transpose();
            worst_basis = std::max(worst_basis, (v - basis(q.x[i])).cwiseAbs().maxCoeff());
        }
        const double gram_error = (gram - Eigen::MatrixXd::Identity(c.n_max, c.n_max)).cwiseAbs().maxCoeff();
        std::printf("basis n_max=%d: |R - R_ref| %.2e, |G - I| %.2e\n", c.n_max, worst_basis, gram_error);
        CHECK(worst_basis < 1e-11);  // R_n ~ cutoff^{-3/2}; Loewdin amplifies round-off by cond(S)^{1/2}
        CHECK(gram_error < 1e-11);

        // I_nl: spline (evaluate) and direct quadrature (integrate) against the definition.
        std::vector<double> ds = {0.0, 0.05, 0.7, 1.234, 0.5 * c.cutoff, 0.83 * c.cutoff, c.cutoff - 1e-3, c.cutoff};
        std::mt19937 rng(3);
        std::uniform_real_distribution<double> uniform(0.0, c.cutoff);
        for (int k = 0; k < 6; ++k) ds.push_back(uniform(rng));  // arbitrary points between spline nodes
        std::vector<Eigen::MatrixXd> refs;
        double scale = 0.0, self = 0.0;
        for (double d : ds) {
            refs.push_back(reference(basis, c.l_max, c.sigma, d, 1));
            self = std::max(self, (refs.back() - reference(basis, c.l_max, c.sigma, d, 2)).cwiseAbs().maxCoeff());
            scale = std::max(scale, refs.back().cwiseAbs().maxCoeff());
        }
        double worst_spline = 0.0, worst_direct = 0.0, worst_deriv = 0.0;
        std::vector<double> spline(c.n_max * stride), direct(c.n_max * stride), deriv(c.n_max * stride),
            plus(c.n_max * stride), minus(c.n_max * stride), scratch(c.n_max * stride);
        for (size_t k = 0; k < ds.size(); ++k) {
            ri.evaluate(ds[k], spline.data());
            ri.integrate(ds[k], direct.data(), deriv.data());
            const double h = 1e-5;
            ri.integrate(ds[k] + h, plus.data(), scratch.data());
            ri.integrate(std::max(0.0, ds[k] - h), minus.data(), scratch.data());
            const double span = ds[k] + h - std::max(0.0, ds[k] - h);
            for (int n = 0; n < c.n_max; ++n)
                for (int l = 0; l <= c.l_max; ++l) {
                    const int i = n * stride + l;
                    worst_spline = std::max(worst_spline, std::abs(spline[i] - refs[k](n, l)));
                    worst_direct = std::max(worst_direct, std::abs(direct[i] - refs[k](n, l)));
                    if (ds[k] > h) worst_deriv = std::max(worst_deriv, std::abs(deriv[i] - (plus[i] - minus[i]) / span));
                }
        }
        std::printf("I_nl (n_max=%d l_max=%d sigma=%.1f), relative to max|I| = %.3f: reference self-consistency %.1e, "
                    "integrate %.1e, evaluate (spline) %.1e, d/dd vs central difference %.1e (x sigma)\n",
                    c.n_max, c.l_max, c.sigma, scale, self / scale, worst_direct / scale, worst_spline / scale,
                    worst_deriv * c.sigma / scale);
        // The reference converges to round-off (halving every panel changes it by < 1e-13), so the
        // direct quadrature must agree to round-off too; the spline's documented error is 1e-10;
        // the central difference (h = 1e-5) is good to ~h^2 I'''/6 ~ 1e-10 I/sigma^3.
        CHECK(self < 1e-13 * scale);
        CHECK(worst_direct < 1e-12 * scale);
        CHECK(worst_spline < 1e-10 * scale);
        CHECK(worst_deriv < 1e-8 * scale / c.sigma);
        CHECK(scale > 0.1);  // the comparison is not vacuous
    }

    for (auto bad : {std::array<double, 4>{0, 2, 4, 0.3}, {4, -1, 4, 0.3}, {4, 2, 0, 0.3}, {4, 2, 4, 0}}) {
        bool threw = false;
        try {
            sagpr::RadialIntegral(int(bad[0]), int(bad[1]), bad[2], bad[3]);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
    }
    std::printf("%.2f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return sagpr_test::finish("test_radial_integral");
}
