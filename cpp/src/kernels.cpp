#include "sagpr/kernels.hpp"

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace sagpr {

void check_kernel_inputs(const FeatureView& a, const FeatureView& b, int zeta) {
    if (zeta < 1) throw std::invalid_argument("zeta must be an integer >= 1, got " + std::to_string(zeta));
    if (a.d != b.d || a.F != b.F || a.F0 != b.F0) {
        throw std::invalid_argument(
            "feature shapes differ: (" + std::to_string(a.d) + ", " + std::to_string(a.F) + ") and x^0 " +
            std::to_string(a.F0) + " against (" + std::to_string(b.d) + ", " + std::to_string(b.F) +
            ") and x^0 " + std::to_string(b.F0));
    }
    if (a.d < 1 || a.d % 2 != 1) throw std::invalid_argument("the component count 2 lambda + 1 must be odd");
}

void kernel_block(const FeatureView& a, Eigen::Index first, Eigen::Index count, const FeatureView& b,
                  int zeta, RowMatrix& out, RowMatrix& scalar) {
    const Eigen::Index d = a.d;
    out.resize(count * d, b.n * d);
    out.noalias() = a.lam_rows(first, count) * b.lam_rows(0, b.n).transpose();
    if (zeta == 1) return;
    scalar.resize(count, b.n);
    scalar.noalias() = a.zero_rows(first, count) * b.zero_rows(0, b.n).transpose();
    if (zeta > 2) {
        // integer power by repeated multiplication: exact for the small powers used
        const RowMatrix base = scalar;
        for (int p = 2; p < zeta; ++p) scalar.array() *= base.array();
    }
    for (Eigen::Index i = 0; i < count; ++i) {
        for (Eigen::Index mu = 0; mu < d; ++mu) {
            double* row = out.data() + (i * d + mu) * out.cols();
            const double* s = scalar.data() + i * b.n;
            for (Eigen::Index j = 0; j < b.n; ++j) {
                const double f = s[j];
                for (Eigen::Index nu = 0; nu < d; ++nu) row[j * d + nu] *= f;
            }
        }
    }
}

void kernel_block_panels(const FeatureView& a, Eigen::Index first, Eigen::Index count, const FeatureView& b,
                         int zeta, RowMatrix& out) {
    const Eigen::Index d = a.d, panel = 64;  // environments of b per task
    out.resize(count * d, b.n * d);
    const Eigen::Index n_panels = (b.n + panel - 1) / panel;
#pragma omp parallel
    {
        RowMatrix k, s;
#pragma omp for schedule(dynamic)
        for (Eigen::Index p = 0; p < n_panels; ++p) {
            const Eigen::Index j0 = p * panel, m = std::min(panel, b.n - j0);
            const FeatureView sub{b.lam + j0 * b.d * b.F, b.zero + j0 * b.F0, m, b.d, b.F, b.F0};
            kernel_block(a, first, count, sub, zeta, k, s);  // one thread each: Eigen does not nest
            out.middleCols(j0 * d, m * d) = k;
        }
    }
}

RowMatrix kernel(const FeatureView& a, const FeatureView& b, int zeta) {
    check_kernel_inputs(a, b, zeta);
    RowMatrix out(a.n * a.d, b.n * b.d);
    const Eigen::Index block = 256;
#pragma omp parallel
    {
        RowMatrix k, s;
#pragma omp for schedule(dynamic)
        for (Eigen::Index first = 0; first < a.n; first += block) {
            const Eigen::Index count = std::min(block, a.n - first);
            kernel_block(a, first, count, b, zeta, k, s);
            out.middleRows(first * a.d, count * a.d) = k;
        }
    }
    return out;
}

}  // namespace sagpr

namespace sagpr {

RowMatrix kernel_symmetric(const FeatureView& a, int zeta) {
    check_kernel_inputs(a, a, zeta);
    const Eigen::Index d = a.d, n = a.n, block = 128;
    RowMatrix out(n * d, n * d);
    std::vector<std::pair<Eigen::Index, Eigen::Index>> tiles;  // (row block, column block <= row block)
    for (Eigen::Index i = 0; i < n; i += block)
        for (Eigen::Index j = 0; j <= i; j += block) tiles.emplace_back(i, j);
#pragma omp parallel
    {
        RowMatrix g, s;
#pragma omp for schedule(dynamic)
        for (size_t t = 0; t < tiles.size(); ++t) {
            const Eigen::Index i = tiles[t].first, j = tiles[t].second;
            const Eigen::Index ni = std::min(block, n - i), nj = std::min(block, n - j);
            g.noalias() = a.lam_rows(i, ni) * a.lam_rows(j, nj).transpose();
            if (zeta > 1) {
                s.noalias() = a.zero_rows(i, ni) * a.zero_rows(j, nj).transpose();
                const RowMatrix base = s;
                for (int p = 2; p < zeta; ++p) s.array() *= base.array();
                for (Eigen::Index r = 0; r < ni * d; ++r)
                    for (Eigen::Index c = 0; c < nj * d; ++c) g(r, c) *= s(r / d, c / d);
            }
            out.block(i * d, j * d, ni * d, nj * d) = g;
        }
    }
    // mirror the lower triangle, diagonal tiles included (their GEMM is symmetric only to round-off)
    out.triangularView<Eigen::StrictlyUpper>() = out.transpose();
    return out;
}

RowMatrix project_rows(const Eigen::Ref<const RowMatrix>& rows, const Eigen::Ref<const RowMatrix>& projection) {
    if (rows.cols() != projection.rows()) {
        throw std::invalid_argument("features have " + std::to_string(rows.cols()) + " columns, the projection " +
                                    std::to_string(projection.rows()) + " rows");
    }
    const Eigen::Index n = rows.rows(), F = rows.cols(), k = projection.cols();
    RowMatrix out = RowMatrix::Zero(n, k);
    const Eigen::Index tile = 8;  // rows sharing one pass over the projection
#pragma omp parallel for schedule(static)
    for (Eigen::Index r0 = 0; r0 < n; r0 += tile) {
        const Eigen::Index r1 = std::min(n, r0 + tile);
        for (Eigen::Index f = 0; f < F; ++f) {
            for (Eigen::Index r = r0; r < r1; ++r) {
                const double v = rows(r, f);
                if (v != 0.0) out.row(r).noalias() += v * projection.row(f);
            }
        }
    }
    return out;
}

}  // namespace sagpr
