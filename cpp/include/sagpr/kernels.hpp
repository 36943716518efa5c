// Symmetry-adapted lambda-SOAP kernels between sets of environments.
//
// For normalised features x^lambda (2 lambda + 1 rows per environment) and x^0:
//   K_{mu,nu}(i, j) = (x^lambda_{i,mu} . x^lambda_{j,nu}) (x^0_i . x^0_j)^(zeta - 1)
// (Grisafi, Wilkins, Csanyi, Ceriotti, PRL 120, 036002 (2018), eq. 9 with the
// scalar kernel raised to zeta - 1). lambda = 0 with x^lambda = x^0 gives the ordinary
// SOAP kernel (x^0_i . x^0_j)^zeta.
#pragma once
#include <Eigen/Dense>

namespace sagpr {

using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRowRef = Eigen::Ref<const RowMatrix>;

// Features of a set of environments, as row-major views:
//   lam  (n * d, F): environment i, component mu is row i * d + mu (d = 2 lambda + 1);
//   zero (n, F0):    the lambda = 0 features of the same environments.
struct FeatureView {
    const double* lam;
    const double* zero;
    Eigen::Index n, d, F, F0;

    Eigen::Map<const RowMatrix> lam_rows(Eigen::Index first, Eigen::Index count) const {
        return Eigen::Map<const RowMatrix>(lam + first * d * F, count * d, F);
    }
    Eigen::Map<const RowMatrix> zero_rows(Eigen::Index first, Eigen::Index count) const {
        return Eigen::Map<const RowMatrix>(zero + first * F0, count, F0);
    }
};

// Throws std::invalid_argument unless a and b can be paired in a kernel (same d, F, F0)
// and zeta >= 1.
void check_kernel_inputs(const FeatureView& a, const FeatureView& b, int zeta);

// The kernel between environments a[first, first + count) and all of b, written to
// `out` (count * d, b.n * d). Two GEMMs (x^lambda and x^0 dot products) and an
// element-wise scaling; `scalar` is scratch space (count, b.n), reused across calls.
void kernel_block(const FeatureView& a, Eigen::Index first, Eigen::Index count, const FeatureView& b,
                  int zeta, RowMatrix& out, RowMatrix& scalar);

// kernel_block in parallel over fixed panels of 64 environments of b, each GEMM on one thread.
// Eigen's own multithreaded GEMM chooses its blocking, hence its rounding, from the thread
// count; fixed panels make the result the same for any number of threads.
void kernel_block_panels(const FeatureView& a, Eigen::Index first, Eigen::Index count, const FeatureView& b,
                         int zeta, RowMatrix& out);

// The whole kernel (a.n * d, b.n * d): for small sets and tests.
RowMatrix kernel(const FeatureView& a, const FeatureView& b, int zeta);

// The kernel of a set with itself (K_MM, full-GPR K_NN): only the lower block triangle is
// computed (half the flops), in parallel tiles, then mirrored. Exactly symmetric.
RowMatrix kernel_symmetric(const FeatureView& a, int zeta);

// rows (r, F) times projection (F, k). Each output row is summed over F in a fixed order from
// its own input row only, so the result does not depend on how the rows are split into calls
// or on the number of threads (a BLAS GEMM's rounding depends on both): serial and
// distributed fits then see bit-identical projected features.
RowMatrix project_rows(const Eigen::Ref<const RowMatrix>& rows, const Eigen::Ref<const RowMatrix>& projection);

}  // namespace sagpr
