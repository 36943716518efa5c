// C++-level checks of the kernel and the GPR solves (the Python tests cover the rest).
#include "check.hpp"
#include "sagpr/fps.hpp"
#include "sagpr/gpr.hpp"

#include <random>

using sagpr::FeatureView;
using sagpr::RowMatrix;

int main() {
    std::mt19937 rng(7);
    std::normal_distribution<double> normal;
    const Eigen::Index n = 9, m = 4, d = 3, F = 6, F0 = 5;
    RowMatrix x(n * d, F), x0(n, F0);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
    for (Eigen::Index i = 0; i < x0.size(); ++i) x0.data()[i] = normal(rng);
    const FeatureView all{x.data(), x0.data(), n, d, F, F0};
    const FeatureView active{x.data(), x0.data(), m, d, F, F0};  // first m environments

    // kernel against explicit loops, zeta = 3
    const RowMatrix k = sagpr::kernel(all, active, 3);
    double worst = 0.0;
    for (Eigen::Index i = 0; i < n; ++i)
        for (Eigen::Index j = 0; j < m; ++j) {
            const double s = x0.row(i).dot(x0.row(j));
            for (Eigen::Index a = 0; a < d; ++a)
                for (Eigen::Index b = 0; b < d; ++b)
                    worst = std::max(worst, std::abs(k(i * d + a, j * d + b) - x.row(i * d + a).dot(x.row(j * d + b)) * s * s));
        }
    CHECK(worst < 1e-12);

    // blocked accumulation (block of 2 environments) equals K^T K and K^T y
    Eigen::VectorXd y(n * d);
    for (Eigen::Index i = 0; i < y.size(); ++i) y[i] = normal(rng);
    RowMatrix ktk = RowMatrix::Zero(m * d, m * d);
    Eigen::VectorXd kty = Eigen::VectorXd::Zero(m * d);
    sagpr::accumulate_normal_equations(all, y, active, 3, 2, ktk, kty);
    const RowMatrix ref = k.transpose() * k;
    CHECK((RowMatrix(ktk.triangularView<Eigen::Lower>()) - RowMatrix(ref.triangularView<Eigen::Lower>())).cwiseAbs().maxCoeff() < 1e-13 * ref.cwiseAbs().maxCoeff());
    CHECK((kty - k.transpose() * y).cwiseAbs().maxCoeff() < 1e-13 * (k.transpose() * y).cwiseAbs().maxCoeff() * n);

    // the solve satisfies its equations; contracted prediction equals kernel prediction (zeta 2)
    const RowMatrix kmm = sagpr::kernel(active, active, 3);
    // (the system is formed by the caller: the Python solver, sagpr.models.solver, owns it)
    RowMatrix system = ktk + 1e-3 * kmm;
    const sagpr::Solution s = sagpr::cholesky_solve_inplace(system, kty, -1.0);
    CHECK(((ref + 1e-3 * kmm + s.jitter * RowMatrix::Identity(m * d, m * d)) * s.weights - kty).cwiseAbs().maxCoeff() < 1e-8 * kty.cwiseAbs().maxCoeff());
    const Eigen::VectorXd p1 = sagpr::predict(all, active, s.weights, 2, 4);
    const Eigen::VectorXd p2 = sagpr::predict_contracted(all, sagpr::contract_weights(active, s.weights, 2), 2, 4);
    CHECK((p1 - p2).cwiseAbs().maxCoeff() < 1e-9 * (1.0 + p1.cwiseAbs().maxCoeff()));

    // bad input
    bool threw = false;
    try {
        sagpr::kernel(all, FeatureView{x.data(), x0.data(), m, d, F - 1, F0}, 2);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    CHECK(threw);

    // FPS: first pick kept, no repeats
    const auto fps = sagpr::farthest_point_sampling(x0, n, 3);
    CHECK(fps.indices[0] == 3);
    std::vector<int> seen(n, 0);
    for (auto i : fps.indices) seen[i]++;
    CHECK(*std::max_element(seen.begin(), seen.end()) == 1);
    return sagpr_test::finish("test_gpr");
}
