// Gaussian process regression on lambda-SOAP kernels: full GPR and the sparse
// subset-of-regressors / projected-process approximation.
//
// Sparse GPR (Quinonero-Candela & Rasmussen, JMLR 6, 1939 (2005), SoR; the form used by
// librascal and TENSOAP): weights on M active environments from
//   (K_MN K_NM + regularizer K_MM + jitter I) w = K_MN y,   prediction y* = K_*M w.
// K_MN K_NM and K_MN y are accumulated block by block over the training set, so memory is
// O((M d)^2) whatever N is. Full GPR: (K_NN + (regularizer + jitter) I) w = y.
#pragma once
#include "sagpr/kernels.hpp"

#include <Eigen/Dense>

namespace sagpr {

using RowMatrixRef = Eigen::Ref<RowMatrix>;
using VectorRef = Eigen::Ref<Eigen::VectorXd>;
using ConstVectorRef = Eigen::Ref<const Eigen::VectorXd>;

// Add the contribution of training environments `train` (targets y, length train.n * d,
// component-fastest) to the LOWER triangle of ktk (M d x M d) and to kty (M d).
// The kernel is formed `block` environments at a time; GEMMs run on OpenMP threads.
void accumulate_normal_equations(const FeatureView& train, ConstVectorRef y, const FeatureView& active,
                                 int zeta, Eigen::Index block, RowMatrixRef ktk, VectorRef kty);

struct Solution {
    Eigen::VectorXd weights;
    double jitter = 0.0;  // the diagonal shift that was needed (0 if none)
};

// Solve (A + jitter I) w = b by Cholesky, reading only the lower triangle of A, in place:
// on return the lower triangle of `a` holds the factor, the strict upper triangle the
// original lower triangle (so a retry with a larger shift needs no second copy of A).
// jitter < 0 means "auto": try no shift, then grow a shift from 1e-14 x the mean diagonal
// by factors of 10 until the factorisation succeeds (up to 1e-2 x the mean diagonal).
// jitter >= 0: use exactly that shift. Throws std::runtime_error if A + shift is not
// positive definite.
Solution cholesky_solve_inplace(RowMatrixRef a, ConstVectorRef b, double jitter);

// Predictions K_*M w for environments `test` (length test.n * d), `block` at a time,
// blocks spread over OpenMP threads.
Eigen::VectorXd predict(const FeatureView& test, const FeatureView& active, ConstVectorRef weights, int zeta,
                        Eigen::Index block);

// Weights contracted with the active set, for integer zeta = 1 or 2:
//   u_j = sum_nu w_{j,nu} x^lambda_{j,nu};
//   zeta = 1: T = sum_j u_j            (F x 1),   y_{i,mu} = x_{i,mu} . T
//   zeta = 2: T = sum_j u_j (x^0_j)^T  (F x F0),  y_{i,mu} = x_{i,mu}^T T x^0_i
// so prediction costs F (2 lambda + 1) + F F0 per site instead of M (d^2 F + F0).
RowMatrix contract_weights(const FeatureView& active, ConstVectorRef weights, int zeta);
Eigen::VectorXd predict_contracted(const FeatureView& test, const RowMatrix& contracted, int zeta,
                                   Eigen::Index block);

}  // namespace sagpr
