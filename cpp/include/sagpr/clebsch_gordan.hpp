// Real Clebsch-Gordan coefficients coupling two real-harmonic irreps into a third.
#pragma once
#include <vector>

namespace sagpr {

// Coefficients C[mu][m1][m2] such that B_mu = sum C[mu][m1][m2] a_m1 b_m2 transforms like
// Y_{lambda,mu} when a and b transform like Y_{l1} and Y_{l2}. Only l1 + l2 + lambda even
// (proper couplings) is supported: then the real CG coefficients are the real Gaunt
// integrals int Y_{lambda mu} Y_{l1 m1} Y_{l2 m2} dOmega up to one constant, fixed here so that
// sum_{m1 m2} C[mu][m1][m2]^2 = 1 for every mu (the CG orthonormality). The integrals are
// evaluated exactly by Gauss-Legendre x uniform-phi quadrature of the real harmonics.
struct RealClebschGordan {
    int l1, l2, lambda;
    std::vector<double> values;  // (2 lambda+1) x (2 l1+1) x (2 l2+1), row-major

    double operator()(int mu, int m1, int m2) const {  // indices offset: mu in [0, 2 lambda]
        return values[(mu * (2 * l1 + 1) + m1) * (2 * l2 + 1) + m2];
    }
};

RealClebschGordan real_clebsch_gordan(int l1, int l2, int lambda);

// The improper couplings, l1 + l2 + lambda odd (e.g. the cross product, l1 = l2 = lambda = 1),
// for which the Gaunt integrals vanish: the complex CG <l1 m1 l2 m2 | lambda mu> (Racah's
// formula, Condon-Shortley phase) carried to the real harmonics, U_lambda C (U_l1 x U_l2)^dagger,
// is then purely imaginary; its imaginary part is returned. Same layout and normalisation
// (sum_{m1 m2} C^2 = 1 per mu); antisymmetric under exchanging (l1, m1) and (l2, m2) when l1 = l2.
RealClebschGordan real_clebsch_gordan_odd(int l1, int l2, int lambda);

}  // namespace sagpr
