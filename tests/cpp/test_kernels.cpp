// Symmetry-adapted kernels (cpp/src/kernels.cpp) against explicit loops of the header's formula
//   K_{mu,nu}(i, j) = (x^lambda_{i,mu} . x^lambda_{j,nu}) (x^0_i . x^0_j)^(zeta - 1)
// for zeta = 1, 2, 3, lambda = 0 (x^lambda = x^0: the SOAP kernel (x^0_i . x^0_j)^zeta) and
// lambda = 2, through every entry point (kernel, kernel_symmetric, kernel_block,
// kernel_block_panels), with set sizes that cross their internal block sizes (256, 128, 64).
// Also project_rows against loops and the input checks.
#include "check.hpp"
#include "sagpr/kernels.hpp"

#include <chrono>
#include <random>
#include <stdexcept>

using sagpr::FeatureView;
using sagpr::RowMatrix;

namespace {

struct Set {
    RowMatrix lam, zero;
    FeatureView view() const { return {lam.data(), zero.data(), zero.rows(), lam.rows() / zero.rows(), lam.cols(), zero.cols()}; }
};

Set random_set(std::mt19937& rng, Eigen::Index n, Eigen::Index d, Eigen::Index F, Eigen::Index F0) {
    std::normal_distribution<double> normal;
    Set s{RowMatrix(n * d, F), RowMatrix(n, F0)};
    for (Eigen::Index i = 0; i < s.lam.size(); ++i) s.lam.data()[i] = normal(rng);
    // x^0 rows normalised with a positive mean, as for real SOAP: x^0.x^0' in (0, 1]-ish
    for (Eigen::Index i = 0; i < n; ++i) {
        for (Eigen::Index f = 0; f < F0; ++f) s.zero(i, f) = 1.0 + 0.5 * normal(rng);
        s.zero.row(i).normalize();
    }
    return s;
}

// The formula as plain loops, and the same with |.| everywhere: the round-off scale.
void reference(const Set& a, const Set& b, int zeta, RowMatrix& k, RowMatrix& bound) {
    const FeatureView va = a.view(), vb = b.view();
    const Eigen::Index d = va.d;
    k.resize(va.n * d, vb.n * d);
    bound.resize(va.n * d, vb.n * d);
    for (Eigen::Index i = 0; i < va.n; ++i)
        for (Eigen::Index j = 0; j < vb.n; ++j) {
            double s = 0.0, s_abs = 0.0;
            for (Eigen::Index f = 0; f < va.F0; ++f) {
                s += a.zero(i, f) * b.zero(j, f);
                s_abs += std::abs(a.zero(i, f) * b.zero(j, f));
            }
            double p = 1.0, p_abs = 1.0;
            for (int z = 1; z < zeta; ++z) {
                p *= s;
                p_abs *= s_abs;
            }
            for (Eigen::Index mu = 0; mu < d; ++mu)
                for (Eigen::Index nu = 0; nu < d; ++nu) {
                    double g = 0.0, g_abs = 0.0;
                    for (Eigen::Index f = 0; f < va.F; ++f) {
                        g += a.lam(i * d + mu, f) * b.lam(j * d + nu, f);
                        g_abs += std::abs(a.lam(i * d + mu, f) * b.lam(j * d + nu, f));
                    }
                    k(i * d + mu, j * d + nu) = g * p;
                    bound(i * d + mu, j * d + nu) = g_abs * p_abs;
                }
        }
}

// |K - ref| <= c u (F + zeta F0) sum|.| : the classical dot-product error bound gamma_n ~ n u,
// with u = 2^-53 and a safety factor 4; fails for any error above round-off.
double excess(const RowMatrix& k, const RowMatrix& ref, const RowMatrix& bound, double terms) {
    if (k.rows() != ref.rows() || k.cols() != ref.cols()) return 1e300;
    const double u = 1.1102230246251565e-16;
    return ((k - ref).cwiseAbs().array() / (4 * u * terms * bound.array() + 1e-300)).maxCoeff();
}

}  // namespace

int main() {
    const auto start = std::chrono::steady_clock::now();
    std::mt19937 rng(17);
    double worst = 0.0;
    for (int lambda : {0, 2}) {
        const Eigen::Index d = 2 * lambda + 1, F = lambda == 0 ? 12 : 9, F0 = 12;
        Set a = random_set(rng, 300, d, F, F0), b = random_set(rng, 70, d, F, F0);
        if (lambda == 0) {  // x^lambda = x^0
            a.lam = a.zero;
            b.lam = b.zero;
        }
        for (int zeta : {1, 2, 3}) {
            const double terms = F + zeta * F0;
            RowMatrix ref, bound;
            reference(a, b, zeta, ref, bound);
            const double e_full = excess(sagpr::kernel(a.view(), b.view(), zeta), ref, bound, terms);

            RowMatrix out, scratch;
            sagpr::kernel_block(a.view(), 37, 100, b.view(), zeta, out, scratch);
            const double e_block = excess(out, ref.middleRows(37 * d, 100 * d), bound.middleRows(37 * d, 100 * d), terms);
            sagpr::kernel_block_panels(a.view(), 5, 200, a.view(), zeta, out);  // b = a: 300 > 4 panels
            RowMatrix ref_aa, bound_aa;
            reference(a, a, zeta, ref_aa, bound_aa);
            const double e_panels = excess(out, ref_aa.middleRows(5 * d, 200 * d), bound_aa.middleRows(5 * d, 200 * d), terms);
            const RowMatrix sym = sagpr::kernel_symmetric(a.view(), zeta);
            const double e_sym = excess(sym, ref_aa, bound_aa, terms);
            CHECK(sym == sym.transpose());  // documented: exactly symmetric

            std::printf("lambda=%d zeta=%d: error / round-off bound: kernel %.3f, kernel_block %.3f, panels %.3f, "
                        "symmetric %.3f\n", lambda, zeta, e_full, e_block, e_panels, e_sym);
            worst = std::max({worst, e_full, e_block, e_panels, e_sym});
            // lambda = 0: the plain SOAP kernel (x^0.x^0')^zeta
            if (lambda == 0) CHECK_NEAR(ref(7, 3), std::pow(a.zero.row(7).dot(b.zero.row(3)), zeta), 1e-14);
        }
    }
    CHECK(worst <= 1.0);

    // project_rows: out(r, c) = sum_f rows(r, f) projection(f, c), with exact zeros in the input.
    {
        std::normal_distribution<double> normal;
        RowMatrix rows(21, 13), proj(13, 5);
        for (Eigen::Index i = 0; i < rows.size(); ++i) rows.data()[i] = (i % 4 == 0) ? 0.0 : normal(rng);
        for (Eigen::Index i = 0; i < proj.size(); ++i) proj.data()[i] = normal(rng);
        const RowMatrix out = sagpr::project_rows(rows, proj);
        double e = 0.0;
        for (Eigen::Index r = 0; r < 21; ++r)
            for (Eigen::Index c = 0; c < 5; ++c) {
                double s = 0.0, s_abs = 0.0;
                for (Eigen::Index f = 0; f < 13; ++f) {
                    s += rows(r, f) * proj(f, c);
                    s_abs += std::abs(rows(r, f) * proj(f, c));
                }
                e = std::max(e, std::abs(out(r, c) - s) / (4 * 1.1e-16 * 13 * s_abs + 1e-300));
            }
        CHECK(out.rows() == 21 && out.cols() == 5 && e <= 1.0);
        bool threw = false;
        try {
            sagpr::project_rows(rows, RowMatrix(12, 5));
        } catch (const std::invalid_argument&) {
            threw = true;
        }
        CHECK(threw);
    }

    // Input checks: zeta < 1, mismatched shapes, even component counts.
    {
        const Set a = random_set(rng, 4, 3, 5, 6), b = random_set(rng, 3, 3, 4, 6), e = random_set(rng, 4, 2, 5, 6);
        auto throws = [](auto f) {
            try {
                f();
            } catch (const std::invalid_argument&) {
                return true;
            }
            return false;
        };
        CHECK(throws([&] { sagpr::kernel(a.view(), a.view(), 0); }));
        CHECK(throws([&] { sagpr::kernel(a.view(), b.view(), 1); }));
        CHECK(throws([&] { sagpr::kernel_symmetric(e.view(), 1); }));
        CHECK(!throws([&] { sagpr::check_kernel_inputs(a.view(), a.view(), 4); }));
    }
    std::printf("%.2f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    return sagpr_test::finish("test_kernels");
}
