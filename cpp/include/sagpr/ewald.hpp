// Point-charge electrostatics by Ewald summation: potential, electric field gradient (EFG)
// and the pair-coupling matrix of a set of sites, for periodic cells (and by direct sum for
// clusters). Gaussian units with the Coulomb constant set to 1: charges in e, lengths in
// Angstrom, potential in e/A, EFG in e/A^3 (multiply by 14.399645 for V/A^2).
#pragma once
#include "sagpr/frame.hpp"

#include <vector>

namespace sagpr {

// Splitting parameter alpha (1/A), real-space cutoff (A) and reciprocal-space cutoff (1/A).
// For a non-periodic frame alpha = cutoffs = 0 (direct sum).
struct EwaldParameters {
    double alpha = 0.0;
    double real_cutoff = 0.0;
    double kspace_cutoff = 0.0;
};

// Parameters keeping the truncation error of every EFG component below `accuracy` x q_rms N/V,
// the field-gradient scale of charges at the mean interatomic spacing. Error model: random-phase
// estimates in the manner of Kolafa & Perram, Mol. Simul. 9, 351 (1992), redone for the second
// derivative of the potential, with a safety factor (see ewald.cpp). With alpha <= 0 alpha is
// chosen to balance the real- and reciprocal-space work; otherwise the cutoffs suit that alpha.
EwaldParameters ewald_parameters(const Frame& frame, double accuracy, double alpha = 0.0);

// Potential and EFG at each of `sites` from all charges and their periodic images except the
// site's own bare charge. efg is (n_sites, 9), row-major 3x3 per site, V_ab = d_a d_b phi.
struct EwaldField {
    Eigen::VectorXd potential;
    RowMatrixXd efg;
};

// Throws std::invalid_argument for wrong sizes, a charged cell, partially periodic frames,
// and atoms closer than `min_distance` (A) to a site (overlapping charges).
EwaldField point_charge_field(const Frame& frame, const std::vector<double>& charges,
                              const std::vector<int>& sites, const EwaldParameters& params,
                              double min_distance = 1e-3);

// Electrostatic energy (e^2/A) of the neutral periodic (or finite) set of point charges.
double point_charge_energy(const Frame& frame, const std::vector<double>& charges,
                           const EwaldParameters& params, double min_distance = 1e-3);

// Ewald pair-coupling matrix Phi (n_sites, n_atoms): for any neutral charge vector q the
// potential at site s is sum_j Phi(s, j) q_j and the energy is 1/2 q_s Phi(s, j) q_j summed over
// sites = all atoms. Phi(s, j) includes all images of j, the neutralising background
// -pi/(alpha^2 V), and for j == s the self term -2 alpha/sqrt(pi) (own bare charge excluded).
// Periodic frames only.
RowMatrixXd ewald_coupling_matrix(const Frame& frame, const std::vector<int>& sites,
                                  const EwaldParameters& params, double min_distance = 1e-3);

}  // namespace sagpr
