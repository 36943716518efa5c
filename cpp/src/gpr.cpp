#include "sagpr/gpr.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

namespace sagpr {

void accumulate_normal_equations(const FeatureView& train, ConstVectorRef y, const FeatureView& active,
                                 int zeta, Eigen::Index block, RowMatrixRef ktk, VectorRef kty) {
    check_kernel_inputs(train, active, zeta);
    const Eigen::Index d = train.d, md = active.n * active.d;
    if (y.size() != train.n * d) throw std::invalid_argument("targets must have n_train * (2 lambda + 1) values");
    if (ktk.rows() != md || ktk.cols() != md || kty.size() != md) {
        throw std::invalid_argument("accumulators must be (M d) x (M d) and (M d)");
    }
    if (block < 1) throw std::invalid_argument("block size must be positive");
    RowMatrix k;
    const Eigen::Index panel = 128;
    for (Eigen::Index first = 0; first < train.n; first += block) {
        const Eigen::Index count = std::min(block, train.n - first);
        kernel_block_panels(train, first, count, active, zeta, k);
        kty.noalias() += k.transpose() * y.segment(first * d, count * d);
        // lower triangle of K^T K, one column panel per task: half the flops of a full GEMM
#pragma omp parallel for schedule(dynamic, 1)
        for (Eigen::Index c0 = 0; c0 < md; c0 += panel) {
            const Eigen::Index width = std::min(panel, md - c0);
            ktk.block(c0, c0, md - c0, width).noalias() +=
                k.middleCols(c0, md - c0).transpose() * k.middleCols(c0, width);
        }
    }
}

Solution cholesky_solve_inplace(RowMatrixRef a, ConstVectorRef b, double jitter) {
    const Eigen::Index n = a.rows();
    if (a.cols() != n) throw std::invalid_argument("the system matrix must be square");
    if (b.size() != n) throw std::invalid_argument("right-hand side length differs from the matrix size");
    if (!a.triangularView<Eigen::Lower>().toDenseMatrix().allFinite() || !b.allFinite()) {
        throw std::invalid_argument("the GPR system contains NaN or infinity");
    }
    const Eigen::VectorXd diagonal = a.diagonal();
    const double mean_diag = std::max(diagonal.mean(), std::numeric_limits<double>::min());
    const bool automatic = jitter < 0;
    double shift = automatic ? 0.0 : jitter;
    // keep the original lower triangle in the (unused) strict upper triangle
    a.triangularView<Eigen::StrictlyUpper>() = a.transpose();
    while (true) {
        a.diagonal() = diagonal.array() + shift;
        Eigen::LLT<Eigen::Ref<RowMatrix>, Eigen::Lower> llt(a);  // factorises in place
        if (llt.info() == Eigen::Success) {
            Solution out;
            out.weights = llt.solve(b);
            out.jitter = shift;
            if (out.weights.allFinite()) return out;
        }
        if (!automatic || shift > 1e-2 * mean_diag) {
            throw std::runtime_error("the GPR system is not positive definite (diagonal shift " +
                                     std::to_string(shift) +
                                     "); increase the regularizer or use fewer active environments");
        }
        a.triangularView<Eigen::StrictlyLower>() = a.transpose();  // restore from the copy
        shift = shift == 0.0 ? 1e-14 * mean_diag : shift * 10.0;
    }
}

Eigen::VectorXd predict(const FeatureView& test, const FeatureView& active, ConstVectorRef weights, int zeta,
                        Eigen::Index block) {
    check_kernel_inputs(test, active, zeta);
    if (weights.size() != active.n * active.d) throw std::invalid_argument("weights must have M (2 lambda + 1) values");
    if (block < 1) throw std::invalid_argument("block size must be positive");
    const Eigen::Index d = test.d;
    Eigen::VectorXd y(test.n * d);
#pragma omp parallel
    {
        RowMatrix k, scalar;
#pragma omp for schedule(dynamic)
        for (Eigen::Index first = 0; first < test.n; first += block) {
            const Eigen::Index count = std::min(block, test.n - first);
            kernel_block(test, first, count, active, zeta, k, scalar);
            y.segment(first * d, count * d).noalias() = k * weights;
        }
    }
    return y;
}

RowMatrix contract_weights(const FeatureView& active, ConstVectorRef weights, int zeta) {
    if (zeta != 1 && zeta != 2) throw std::invalid_argument("weights can be contracted for zeta = 1 or 2 only");
    if (weights.size() != active.n * active.d) throw std::invalid_argument("weights must have M (2 lambda + 1) values");
    // u = sum over components of w_{j,nu} x_{j,nu}, one row per active environment
    RowMatrix u(active.n, active.F);
    const auto lam = active.lam_rows(0, active.n);
    for (Eigen::Index j = 0; j < active.n; ++j) {
        u.row(j) = weights.segment(j * active.d, active.d).transpose() * lam.middleRows(j * active.d, active.d);
    }
    if (zeta == 1) return u.colwise().sum().transpose();
    return u.transpose() * active.zero_rows(0, active.n);
}

Eigen::VectorXd predict_contracted(const FeatureView& test, const RowMatrix& contracted, int zeta,
                                   Eigen::Index block) {
    if (zeta != 1 && zeta != 2) throw std::invalid_argument("contracted prediction needs zeta = 1 or 2");
    if (contracted.rows() != test.F || contracted.cols() != (zeta == 1 ? 1 : test.F0)) {
        throw std::invalid_argument("contracted weights do not match the feature sizes");
    }
    const Eigen::Index d = test.d;
    Eigen::VectorXd y(test.n * d);
    if (zeta == 1) {
        y.noalias() = test.lam_rows(0, test.n) * contracted.col(0);
        return y;
    }
#pragma omp parallel
    {
        RowMatrix z;
#pragma omp for schedule(dynamic)
        for (Eigen::Index first = 0; first < test.n; first += block) {
            const Eigen::Index count = std::min(block, test.n - first);
            z.noalias() = test.zero_rows(first, count) * contracted.transpose();  // rows: T x^0_i
            const auto lam = test.lam_rows(first, count);
            for (Eigen::Index i = 0; i < count; ++i) {
                for (Eigen::Index mu = 0; mu < d; ++mu) {
                    y[(first + i) * d + mu] = lam.row(i * d + mu).dot(z.row(i));
                }
            }
        }
    }
    return y;
}

}  // namespace sagpr
