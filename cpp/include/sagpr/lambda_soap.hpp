// lambda-SOAP: equivariant power spectrum of smooth neighbour densities.
#pragma once
#include <array>
#include <cstdint>
#include <limits>
#include <vector>

#include "sagpr/clebsch_gordan.hpp"
#include "sagpr/frame.hpp"
#include "sagpr/neighbors.hpp"
#include "sagpr/radial_integral.hpp"

namespace sagpr {

// No defaults: sagpr.settings (Python) owns them. Every hyperparameter must be set; one left at
// its "unset" value is rejected by the LambdaSoap constructor.
struct LambdaSoapHypers {
    // Angular orders computed together, each from the same density of a centre; distinct.
    std::vector<int> o3_lambdas;
    // Parity of each entry of o3_lambdas: +1 (l1 + l2 + lambda even, proper tensors) or -1
    // (l1 + l2 + lambda odd: pseudotensors, e.g. the lambda = 2 part of a rank-3 polar tensor);
    // empty means all +1. The (lambda, sigma) pairs must be distinct.
    std::vector<int> o3_sigmas;
    double cutoff = std::numeric_limits<double>::quiet_NaN();
    int max_radial = -1;
    int max_angular = -1;
    double atomic_gaussian_width = std::numeric_limits<double>::quiet_NaN();
    double cutoff_smooth_width = std::numeric_limits<double>::quiet_NaN();
    double center_atom_weight = std::numeric_limits<double>::quiet_NaN();
    bool normalize = true;
    std::vector<int> species;  // atomic numbers of the neighbour channels, sorted
};

// Per centre i, density coefficients per neighbour species a
//   c^a_nlm = sum_j w(j) f_c(r_ij) I_nl(r_ij) Y_lm(r_ij_hat)
// (w = center_atom_weight for the centre itself, 1 otherwise; f_c a cosine switch over the last
// cutoff_smooth_width before the cutoff), and features
//   x_mu[(a n l1), (b n' l2)] = sum_{m1 m2} C^{lambda mu}_{l1 m1 l2 m2} c^a_{n l1 m1} c^b_{n' l2 m2}
// for l1 + l2 + lambda even (sigma = +1, proper tensors; Willatt, Musil, Ceriotti, J. Chem. Phys. 150, 154110
// (2019); Grisafi et al., Phys. Rev. Lett. 120, 036002 (2018)). Each unordered pair of (a n l)
// channels is kept once; off-diagonal pairs carry a factor sqrt(2), so dot products between
// feature vectors equal those of the full ordered tensor product.
// sigma = -1 keeps l1 + l2 + lambda odd instead (real_clebsch_gordan_odd): these features are
// multiplied by -(-1)^lambda under inversion (by sigma det(R) D^lambda(R) under any orthogonal R)
// and, for l1 = l2, are antisymmetric in the two channels, so only pairs q1 < q2 are kept.
class LambdaSoap {
public:
    explicit LambdaSoap(LambdaSoapHypers hypers);

    const LambdaSoapHypers& hypers() const { return hypers_; }
    // Per computed angular order k (hypers.o3_lambdas[k]):
    int n_lambdas() const { return static_cast<int>(hypers_.o3_lambdas.size()); }
    int o3_lambda(int k) const { return hypers_.o3_lambdas.at(k); }
    int o3_sigma(int k) const { return hypers_.o3_sigmas.at(k); }  // filled with +1 when given empty
    int n_components(int k) const { return 2 * o3_lambda(k) + 1; }
    int64_t n_features(int k) const { return static_cast<int64_t>(labels_.at(k).size()); }
    // Per feature: (Z_a, n, l1, Z_b, n', l2).
    const std::vector<std::array<int, 6>>& labels(int k) const { return labels_.at(k); }
    int density_size() const;  // n_species * max_radial * (max_angular+1)^2

    // The centres of a frame: atoms whose number is in center_species (all atoms if empty; the
    // first atom only if center_species is {0}: an environment stored with its centre first).
    static std::vector<int> select_centers(const Frame& frame, const std::vector<int>& center_species);

    // Features of all selected centres of all frames, frames in order, for every computed lambda:
    // out[k][(centre * n_components(k) + mu) * n_features(k) + f]. One neighbour list and one
    // density expansion per centre serve all lambdas. Throws std::invalid_argument naming the
    // frame and atom for invalid frames or atoms of species outside hypers.species.
    void compute(const std::vector<Frame>& frames, const std::vector<int>& center_species,
                 const std::vector<double*>& out) const;
    // The same for a calculator of one lambda (n_lambdas() == 1).
    void compute(const std::vector<Frame>& frames, const std::vector<int>& center_species, double* out) const;

    // Density coefficients of the selected centres: out[(centre * n_species*max_radial + a*max_radial + n)
    // * (max_angular+1)^2 + l*l + l + m].
    void density(const std::vector<Frame>& frames, const std::vector<int>& center_species, double* out) const;

    // Relative norm below which a centre's normalised features are set to exactly zero:
    // ||x||_F <= threshold * ||c||^2 means the lambda part vanishes by symmetry.
    static constexpr double zero_threshold = 1e-10;

private:
    // One coupling of the (l1, l2) density pair into lambda o3_lambdas[k].
    struct Term {
        int k;
        bool odd;  // l1 + l2 + lambda odd (sigma = -1)
        RealClebschGordan cg;
        int64_t offset;  // first feature index of this (l1, l2) block among lambda k's features
    };
    // An (l1, l2) pair with all the lambdas it couples to, so one GEMM serves them all.
    struct Block {
        int l1, l2;
        std::vector<Term> terms;
        int n_mu;  // sum over terms of 2 lambda + 1
    };
    void check_frames(const std::vector<Frame>& frames) const;
    void center_density(const Frame& frame, int center, const NeighborList& list, int list_index,
                        double* density, std::vector<double>& scratch) const;
    // out[k]: this centre's (n_components(k), n_features(k)) block of lambda k.
    void center_features(const double* density, double* const* out) const;

    template <typename Kernel>
    void for_each_center(const std::vector<Frame>& frames, const std::vector<int>& center_species, Kernel kernel) const;

    LambdaSoapHypers hypers_;
    RadialIntegral radial_;
    std::vector<int> species_index_;  // atomic number -> channel, -1 if absent
    std::vector<Block> blocks_;
    std::vector<std::vector<std::array<int, 6>>> labels_;  // per lambda
};

}  // namespace sagpr
