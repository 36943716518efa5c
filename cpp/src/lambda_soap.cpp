#include "sagpr/parallel_for.hpp"
#include "sagpr/lambda_soap.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <exception>
#include <stdexcept>
#include <string>

#include "sagpr/spherical_harmonics.hpp"

namespace sagpr {
namespace {

constexpr double pi = 3.14159265358979323846;
using RowMatrix = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// Cosine switch: 1 inside cutoff - width, 0 at the cutoff, continuous first derivative.
double cutoff_function(double r, double cutoff, double width) {
    if (r >= cutoff) return 0.0;
    if (width <= 0.0 || r <= cutoff - width) return 1.0;
    return 0.5 * (1.0 + std::cos(pi * (r - cutoff + width) / width));
}

}  // namespace

namespace {
// Hyperparameters left unset (see LambdaSoapHypers) are errors, before anything is built from them.
LambdaSoapHypers all_set(LambdaSoapHypers h) {
    const bool unset = !std::isfinite(h.cutoff) || h.max_radial < 0 || h.max_angular < 0 ||
                       !std::isfinite(h.atomic_gaussian_width) || !std::isfinite(h.cutoff_smooth_width) ||
                       !std::isfinite(h.center_atom_weight);
    if (unset) {
        throw std::invalid_argument(
            "every lambda-SOAP hyperparameter must be set and finite (cutoff, max_radial, max_angular, "
            "atomic_gaussian_width, cutoff_smooth_width, center_atom_weight)");
    }
    return h;
}
}  // namespace

LambdaSoap::LambdaSoap(LambdaSoapHypers hypers)
    : hypers_(all_set(std::move(hypers))),
      radial_(hypers_.max_radial, hypers_.max_angular, hypers_.cutoff, hypers_.atomic_gaussian_width) {
    const auto& h = hypers_;
    if (h.o3_lambdas.empty()) throw std::invalid_argument("o3_lambdas must list at least one angular order");
    if (hypers_.o3_sigmas.empty()) hypers_.o3_sigmas.assign(h.o3_lambdas.size(), 1);
    if (h.o3_sigmas.size() != h.o3_lambdas.size()) {
        throw std::invalid_argument("o3_sigmas must be empty or give one parity per o3_lambda");
    }
    for (size_t k = 0; k < h.o3_lambdas.size(); ++k) {
        const int lambda = h.o3_lambdas[k], sigma = h.o3_sigmas[k];
        if (lambda < 0) throw std::invalid_argument("o3_lambda must be non-negative");
        if (sigma != 1 && sigma != -1) throw std::invalid_argument("o3_sigma must be 1 or -1");
        if (lambda > 2 * h.max_angular) {
            throw std::invalid_argument("o3_lambda must be at most 2 * max_angular to have any feature");
        }
        for (size_t j = 0; j < k; ++j) {
            if (h.o3_lambdas[j] == lambda && h.o3_sigmas[j] == sigma) {
                throw std::invalid_argument(sigma == 1 && std::count(h.o3_sigmas.begin(), h.o3_sigmas.end(), -1) == 0
                                                ? "o3_lambdas must be distinct"
                                                : "the (o3_lambda, o3_sigma) pairs must be distinct");
            }
        }
    }
    if (!(h.cutoff_smooth_width >= 0.0) || h.cutoff_smooth_width > h.cutoff) {
        throw std::invalid_argument("cutoff_smooth_width must be between 0 and the cutoff");
    }
    if (!std::isfinite(h.center_atom_weight)) throw std::invalid_argument("center_atom_weight must be finite");
    if (h.species.empty()) throw std::invalid_argument("species must list at least one atomic number");
    std::vector<int> sorted = h.species;
    std::sort(sorted.begin(), sorted.end());
    if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end() || sorted.front() < 1 || sorted.back() > 118) {
        throw std::invalid_argument("species must be distinct atomic numbers between 1 and 118");
    }
    hypers_.species = sorted;
    species_index_.assign(119, -1);
    for (size_t a = 0; a < sorted.size(); ++a) species_index_[sorted[a]] = static_cast<int>(a);

    // Blocks in (l1, l2) order; each lambda's features follow that order, as with one lambda alone.
    const int n_max = h.max_radial, n_lambdas = static_cast<int>(h.o3_lambdas.size());
    const int q_size = static_cast<int>(sorted.size()) * n_max;
    labels_.resize(n_lambdas);
    for (int l1 = 0; l1 <= h.max_angular; ++l1) {
        for (int l2 = l1; l2 <= h.max_angular; ++l2) {
            Block block{l1, l2, {}, 0};
            for (int k = 0; k < n_lambdas; ++k) {
                const int lambda = h.o3_lambdas[k];
                const bool odd = h.o3_sigmas[k] < 0;
                if (lambda < l2 - l1 || lambda > l1 + l2 || (l1 + l2 + lambda) % 2 != (odd ? 1 : 0)) continue;
                // an odd coupling of a channel with itself vanishes (antisymmetric): q1 < q2 only
                if (odd && l1 == l2 && q_size < 2) continue;
                auto& labels = labels_[k];
                block.terms.push_back({k, odd, odd ? real_clebsch_gordan_odd(l1, l2, lambda) : real_clebsch_gordan(l1, l2, lambda),
                                       static_cast<int64_t>(labels.size())});
                block.n_mu += 2 * lambda + 1;
                for (int q1 = 0; q1 < q_size; ++q1) {
                    for (int q2 = (l1 == l2 ? q1 + (odd ? 1 : 0) : 0); q2 < q_size; ++q2) {
                        labels.push_back({sorted[q1 / n_max], q1 % n_max, l1, sorted[q2 / n_max], q2 % n_max, l2});
                    }
                }
            }
            if (!block.terms.empty()) blocks_.push_back(std::move(block));
        }
    }
    for (int k = 0; k < n_lambdas; ++k) {
        if (labels_[k].empty()) {
            throw std::invalid_argument("o3_lambda " + std::to_string(h.o3_lambdas[k]) + " with o3_sigma " +
                                        std::to_string(h.o3_sigmas[k]) + " has no feature for max_angular " +
                                        std::to_string(h.max_angular));
        }
    }
}

int LambdaSoap::density_size() const {
    const int lm = (hypers_.max_angular + 1) * (hypers_.max_angular + 1);
    return static_cast<int>(hypers_.species.size()) * hypers_.max_radial * lm;
}

std::vector<int> LambdaSoap::select_centers(const Frame& frame, const std::vector<int>& center_species) {
    std::vector<int> centers;
    // Centre species {0}: only the first atom of each frame (a stored environment, centre first).
    if (center_species.size() == 1 && center_species[0] == 0) {
        if (frame.size() > 0) centers.push_back(0);
        return centers;
    }
    for (int i = 0; i < frame.size(); ++i) {
        if (center_species.empty() ||
            std::find(center_species.begin(), center_species.end(), frame.numbers[i]) != center_species.end()) {
            centers.push_back(i);
        }
    }
    return centers;
}

void LambdaSoap::check_frames(const std::vector<Frame>& frames) const {
    for (size_t k = 0; k < frames.size(); ++k) {
        try {
            validate_frame(frames[k]);
        } catch (const std::invalid_argument& err) {
            throw std::invalid_argument("frame " + std::to_string(k) + ": " + err.what());
        }
        for (int i = 0; i < frames[k].size(); ++i) {
            const int z = frames[k].numbers[i];
            if (z < 1 || z > 118 || species_index_[z] < 0) {
                throw std::invalid_argument("frame " + std::to_string(k) + ": atom " + std::to_string(i) +
                                            " has atomic number " + std::to_string(z) +
                                            ", which is not among the descriptor's species");
            }
        }
    }
}

template <typename Kernel>
void LambdaSoap::for_each_center(const std::vector<Frame>& frames, const std::vector<int>& center_species,
                                 Kernel kernel) const {
    check_frames(frames);
    // Frames are processed in chunks of a few thousand centres so neighbour lists stay small.
    size_t first = 0;
    int64_t global = 0;
    while (first < frames.size()) {
        size_t last = first;
        std::vector<std::vector<int>> centers;
        int64_t n_chunk = 0;
        while (last < frames.size() && (n_chunk < 4096 || last == first)) {
            centers.push_back(select_centers(frames[last], center_species));
            n_chunk += static_cast<int64_t>(centers.back().size());
            ++last;
        }
        std::vector<NeighborList> lists(last - first);
        parallel_for(static_cast<int64_t>(lists.size()), [&](int64_t k) {
            lists[k] = build_neighbor_list(frames[first + k], hypers_.cutoff, centers[k]);
        });
        std::vector<std::pair<int, int>> items;  // (frame in chunk, centre position in its list)
        items.reserve(n_chunk);
        for (size_t k = 0; k < centers.size(); ++k)
            for (size_t c = 0; c < centers[k].size(); ++c) items.emplace_back(static_cast<int>(k), static_cast<int>(c));
        parallel_for(static_cast<int64_t>(items.size()), [&](int64_t it) {
            const auto [k, c] = items[it];
            kernel(frames[first + k], centers[k][c], lists[k], c, global + it);
        });
        global += n_chunk;
        first = last;
    }
}

void LambdaSoap::center_density(const Frame& frame, int center, const NeighborList& list, int list_index,
                                double* density, std::vector<double>& scratch) const {
    const auto& h = hypers_;
    const int n_max = h.max_radial, l_max = h.max_angular;
    const int lm_size = (l_max + 1) * (l_max + 1);
    const int nl_size = n_max * (l_max + 1);
    scratch.resize(nl_size + lm_size);
    double* radial = scratch.data();
    double* ylm = radial + nl_size;
    std::fill(density, density + density_size(), 0.0);

    auto add = [&](int channel, double weight) {
        double* c = density + static_cast<size_t>(channel) * n_max * lm_size;
        for (int n = 0; n < n_max; ++n) {
            for (int l = 0; l <= l_max; ++l) {
                const double rw = weight * radial[n * (l_max + 1) + l];
                double* row = c + n * lm_size + l * l;
                const double* y = ylm + l * l;
                for (int m = 0; m < 2 * l + 1; ++m) row[m] += rw * y[m];
            }
        }
    };

    if (h.center_atom_weight != 0.0) {
        // The centre's own Gaussian: only l = 0 survives, Y_00 = 1/sqrt(4 pi).
        radial_.evaluate(0.0, radial);
        std::fill(ylm, ylm + lm_size, 0.0);
        ylm[0] = 1.0 / std::sqrt(4.0 * pi);
        add(species_index_[frame.numbers[center]], h.center_atom_weight);
    }
    for (auto p = list.begin(list_index); p != list.end(list_index); ++p) {
        const double fc = cutoff_function(p->distance, h.cutoff, h.cutoff_smooth_width);
        if (fc == 0.0) continue;
        radial_.evaluate(p->distance, radial);
        const Eigen::Vector3d u = p->vector / p->distance;
        real_spherical_harmonics(l_max, u.x(), u.y(), u.z(), ylm);
        add(species_index_[frame.numbers[p->j]], fc);
    }
}

void LambdaSoap::center_features(const double* density, double* const* out) const {
    const auto& h = hypers_;
    const int lm_size = (h.max_angular + 1) * (h.max_angular + 1);
    const int q_size = static_cast<int>(h.species.size()) * h.max_radial;
    const double sqrt2 = std::sqrt(2.0);
    Eigen::Map<const RowMatrix> c(density, q_size, lm_size);

    // All mu of all lambdas of a block in one GEMM: left stacks c_l1 G^{lambda mu} (term-major,
    // then mu-major), pair = left c_l2^T.
    static thread_local RowMatrix left, pair;
    for (const Block& block : blocks_) {
        const int d1 = 2 * block.l1 + 1, d2 = 2 * block.l2 + 1;
        const auto c1 = c.middleCols(block.l1 * block.l1, d1);
        const auto c2 = c.middleCols(block.l2 * block.l2, d2);
        left.resize(static_cast<Eigen::Index>(block.n_mu) * q_size, d2);
        Eigen::Index row0 = 0;
        for (const Term& term : block.terms) {
            for (int mu = 0; mu < 2 * term.cg.lambda + 1; ++mu, row0 += q_size) {
                Eigen::Map<const RowMatrix> g(term.cg.values.data() + static_cast<size_t>(mu) * d1 * d2, d1, d2);
                left.middleRows(row0, q_size).noalias() = c1 * g;
            }
        }
        pair.noalias() = left * c2.transpose();
        const double* p = pair.data();
        for (const Term& term : block.terms) {
            const int64_t n_feat = n_features(term.k);
            for (int mu = 0; mu < 2 * term.cg.lambda + 1; ++mu, p += static_cast<size_t>(q_size) * q_size) {
                double* row = out[term.k] + static_cast<size_t>(mu) * n_feat + term.offset;
                if (block.l1 == block.l2 && term.odd) {
                    for (int q1 = 0; q1 < q_size; ++q1) {
                        const double* pq = p + static_cast<size_t>(q1) * q_size;
                        for (int q2 = q1 + 1; q2 < q_size; ++q2) *row++ = sqrt2 * pq[q2];
                    }
                } else if (block.l1 == block.l2) {
                    for (int q1 = 0; q1 < q_size; ++q1) {
                        const double* pq = p + static_cast<size_t>(q1) * q_size;
                        *row++ = pq[q1];
                        for (int q2 = q1 + 1; q2 < q_size; ++q2) *row++ = sqrt2 * pq[q2];
                    }
                } else {
                    const size_t size = static_cast<size_t>(q_size) * q_size;
                    for (size_t i = 0; i < size; ++i) row[i] = sqrt2 * p[i];
                }
            }
        }
    }

    if (h.normalize) {
        // Each lambda separately: the same unit norm and symmetry zeros as computed alone.
        const double density_norm2 = c.squaredNorm();
        for (int k = 0; k < n_lambdas(); ++k) {
            double* x = out[k];
            const size_t size = static_cast<size_t>(n_components(k)) * n_features(k);
            double norm2 = 0.0;
            for (size_t i = 0; i < size; ++i) norm2 += x[i] * x[i];
            const double norm = std::sqrt(norm2);
            if (norm <= zero_threshold * density_norm2 || norm == 0.0) {
                std::fill(x, x + size, 0.0);
            } else {
                for (size_t i = 0; i < size; ++i) x[i] /= norm;
            }
        }
    }
}

void LambdaSoap::compute(const std::vector<Frame>& frames, const std::vector<int>& center_species,
                         const std::vector<double*>& out) const {
    const int n_lambdas = this->n_lambdas();
    if (static_cast<int>(out.size()) != n_lambdas) {
        throw std::invalid_argument("compute needs one output array per o3_lambda");
    }
    std::vector<size_t> stride(n_lambdas);
    for (int k = 0; k < n_lambdas; ++k) stride[k] = static_cast<size_t>(n_components(k)) * n_features(k);
    for_each_center(frames, center_species, [&](const Frame& frame, int center, const NeighborList& list, int index,
                                                int64_t global) {
        static thread_local std::vector<double> density, scratch;
        static thread_local std::vector<double*> rows;
        density.resize(density_size());
        rows.resize(n_lambdas);
        for (int k = 0; k < n_lambdas; ++k) rows[k] = out[k] + static_cast<size_t>(global) * stride[k];
        center_density(frame, center, list, index, density.data(), scratch);
        center_features(density.data(), rows.data());
    });
}

void LambdaSoap::compute(const std::vector<Frame>& frames, const std::vector<int>& center_species,
                         double* out) const {
    if (n_lambdas() != 1) throw std::invalid_argument("this calculator has several o3_lambdas: pass one output each");
    compute(frames, center_species, std::vector<double*>{out});
}

void LambdaSoap::density(const std::vector<Frame>& frames, const std::vector<int>& center_species,
                         double* out) const {
    const size_t stride = density_size();
    for_each_center(frames, center_species, [&](const Frame& frame, int center, const NeighborList& list, int index,
                                                int64_t global) {
        static thread_local std::vector<double> scratch;
        center_density(frame, center, list, index, out + static_cast<size_t>(global) * stride, scratch);
    });
}

}  // namespace sagpr
