#include "sagpr/neighbors.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace sagpr {
namespace {

// A cell matrix that is invertible: non-periodic directions are replaced by
// unit vectors orthogonal to the periodic ones, so fractional coordinates along
// periodic directions are well defined whatever the non-periodic vectors are.
Eigen::Matrix3d completed_cell(const Frame& frame) {
    Eigen::Matrix3d cell = Eigen::Matrix3d::Zero();
    std::vector<int> periodic, open;
    for (int k = 0; k < 3; ++k) (frame.pbc[k] ? periodic : open).push_back(k);
    for (int k : periodic) cell.row(k) = frame.cell.row(k);
    if (periodic.size() == 1) {
        Eigen::Vector3d a = cell.row(periodic[0]).normalized();
        Eigen::Vector3d trial = std::abs(a.x()) < 0.9 ? Eigen::Vector3d::UnitX() : Eigen::Vector3d::UnitY();
        Eigen::Vector3d b = (trial - trial.dot(a) * a).normalized();
        cell.row(open[0]) = b;
        cell.row(open[1]) = a.cross(b);
    } else if (periodic.size() == 2) {
        cell.row(open[0]) = cell.row(periodic[0]).cross(cell.row(periodic[1])).normalized();
    } else if (periodic.empty()) {
        cell = Eigen::Matrix3d::Identity();
    }
    return cell;
}

}  // namespace

NeighborList build_neighbor_list(const Frame& frame, double cutoff, const std::vector<int>& centers) {
    if (!(cutoff > 0.0) || !std::isfinite(cutoff)) throw std::invalid_argument("cutoff must be positive");
    const int n = frame.size();
    for (int c : centers) {
        if (c < 0 || c >= n) throw std::invalid_argument("centre index out of range");
    }

    // Wrapped positions and the images that can lie within `cutoff` of the home cell.
    const Eigen::Matrix3d cell = completed_cell(frame);
    const Eigen::Matrix3d inv = cell.inverse();
    Positions frac = frame.positions * inv;
    std::array<int, 3> reach{0, 0, 0};
    std::array<double, 3> margin{0, 0, 0};
    const double volume = std::abs(cell.determinant());
    for (int k = 0; k < 3; ++k) {
        if (!frame.pbc[k]) continue;
        // Perpendicular height of the cell along direction k.
        const double h = volume / cell.row((k + 1) % 3).cross(cell.row((k + 2) % 3)).norm();
        margin[k] = cutoff / h;
        reach[k] = static_cast<int>(std::ceil(margin[k])) + 1;
        for (int i = 0; i < n; ++i) frac(i, k) -= std::floor(frac(i, k));
    }
    Positions home = frac * cell;

    std::vector<Eigen::Vector3d> ghost_pos;
    std::vector<int> ghost_atom;
    std::vector<bool> ghost_is_origin;
    for (int i = 0; i < n; ++i) {
        for (int a = -reach[0]; a <= reach[0]; ++a) {
            for (int b = -reach[1]; b <= reach[1]; ++b) {
                for (int c = -reach[2]; c <= reach[2]; ++c) {
                    const int shift[3] = {a, b, c};
                    bool keep = true;
                    for (int k = 0; k < 3 && keep; ++k) {
                        if (!frame.pbc[k]) continue;
                        const double s = frac(i, k) + shift[k];
                        keep = s >= -margin[k] - 1e-9 && s <= 1.0 + margin[k] + 1e-9;
                    }
                    if (!keep) continue;
                    Eigen::Vector3d r = home.row(i).transpose() + cell.transpose() * Eigen::Vector3d(a, b, c);
                    ghost_pos.push_back(r);
                    ghost_atom.push_back(i);
                    ghost_is_origin.push_back(a == 0 && b == 0 && c == 0);
                }
            }
        }
    }

    // Cartesian cell list over the ghosts, bins at least `cutoff` wide.
    Eigen::Vector3d lo = Eigen::Vector3d::Constant(1e300), hi = Eigen::Vector3d::Constant(-1e300);
    for (const auto& r : ghost_pos) {
        lo = lo.cwiseMin(r);
        hi = hi.cwiseMax(r);
    }
    std::array<int, 3> nbin;
    Eigen::Vector3d width;
    for (int k = 0; k < 3; ++k) {
        const double extent = ghost_pos.empty() ? 0.0 : hi[k] - lo[k];
        nbin[k] = std::max(1, std::min(256, static_cast<int>(std::floor(extent / cutoff))));
        width[k] = std::max(extent / nbin[k], cutoff);
    }
    auto bin_of = [&](const Eigen::Vector3d& r, int k) {
        return std::min(nbin[k] - 1, std::max(0, static_cast<int>(std::floor((r[k] - lo[k]) / width[k]))));
    };
    const size_t total_bins = static_cast<size_t>(nbin[0]) * nbin[1] * nbin[2];
    std::vector<int> bin_start(total_bins + 1, 0);
    std::vector<int> ghost_bin(ghost_pos.size());
    for (size_t g = 0; g < ghost_pos.size(); ++g) {
        const auto& r = ghost_pos[g];
        ghost_bin[g] = (bin_of(r, 0) * nbin[1] + bin_of(r, 1)) * nbin[2] + bin_of(r, 2);
        bin_start[ghost_bin[g] + 1]++;
    }
    for (size_t b = 0; b < total_bins; ++b) bin_start[b + 1] += bin_start[b];
    std::vector<int> order(ghost_pos.size());
    {
        std::vector<int> fill(bin_start.begin(), bin_start.end() - 1);
        for (size_t g = 0; g < ghost_pos.size(); ++g) order[fill[ghost_bin[g]]++] = static_cast<int>(g);
    }

    NeighborList list;
    list.offsets.assign(centers.size() + 1, 0);
    const double cutoff2 = cutoff * cutoff;
    for (size_t ci = 0; ci < centers.size(); ++ci) {
        const int i = centers[ci];
        const Eigen::Vector3d ri = home.row(i).transpose();
        int bi[3];
        for (int k = 0; k < 3; ++k) bi[k] = bin_of(ri, k);
        for (int x = std::max(0, bi[0] - 1); x <= std::min(nbin[0] - 1, bi[0] + 1); ++x) {
            for (int y = std::max(0, bi[1] - 1); y <= std::min(nbin[1] - 1, bi[1] + 1); ++y) {
                for (int z = std::max(0, bi[2] - 1); z <= std::min(nbin[2] - 1, bi[2] + 1); ++z) {
                    const int b = (x * nbin[1] + y) * nbin[2] + z;
                    for (int p = bin_start[b]; p < bin_start[b + 1]; ++p) {
                        const int g = order[p];
                        if (ghost_atom[g] == i && ghost_is_origin[g]) continue;
                        const Eigen::Vector3d d = ghost_pos[g] - ri;
                        const double d2 = d.squaredNorm();
                        if (d2 < cutoff2) list.pairs.push_back({ghost_atom[g], std::sqrt(d2), d});
                    }
                }
            }
        }
        list.offsets[ci + 1] = static_cast<int64_t>(list.pairs.size());
    }
    return list;
}

}  // namespace sagpr
