#include "sagpr/neighbors.hpp"

#include <algorithm>
#include <array>
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

// Atoms wrapped into the home cell, and every periodic image that can lie within `cutoff` of it.
struct Images {
    Positions home;                      // wrapped positions of the atoms (n x 3)
    std::vector<Eigen::Vector3d> position;
    std::vector<int> atom;
    std::vector<bool> is_origin;         // the atom itself, not one of its images
};

Images periodic_images(const Frame& frame, double cutoff) {
    const int n = frame.size();
    const Eigen::Matrix3d cell = completed_cell(frame);
    Positions frac = frame.positions * cell.inverse();
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
    Images images;
    images.home = frac * cell;
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
                    images.position.push_back(images.home.row(i).transpose() +
                                              cell.transpose() * Eigen::Vector3d(a, b, c));
                    images.atom.push_back(i);
                    images.is_origin.push_back(a == 0 && b == 0 && c == 0);
                }
            }
        }
    }
    return images;
}

// A Cartesian cell list over points, bins at least `cutoff` wide (at most 256 per direction).
struct CellList {
    Eigen::Vector3d lo, width;
    std::array<int, 3> nbin;
    std::vector<int> start;  // points of bin b: order[start[b] .. start[b + 1])
    std::vector<int> order;

    int bin_of(const Eigen::Vector3d& r, int k) const {
        return std::min(nbin[k] - 1, std::max(0, static_cast<int>(std::floor((r[k] - lo[k]) / width[k]))));
    }
    int index(int x, int y, int z) const { return (x * nbin[1] + y) * nbin[2] + z; }
};

CellList bin_points(const std::vector<Eigen::Vector3d>& points, double cutoff) {
    CellList cells;
    cells.lo = Eigen::Vector3d::Constant(1e300);
    Eigen::Vector3d hi = Eigen::Vector3d::Constant(-1e300);
    for (const auto& r : points) {
        cells.lo = cells.lo.cwiseMin(r);
        hi = hi.cwiseMax(r);
    }
    for (int k = 0; k < 3; ++k) {
        const double extent = points.empty() ? 0.0 : hi[k] - cells.lo[k];
        cells.nbin[k] = std::max(1, std::min(256, static_cast<int>(std::floor(extent / cutoff))));
        cells.width[k] = std::max(extent / cells.nbin[k], cutoff);
    }
    const size_t total_bins = static_cast<size_t>(cells.nbin[0]) * cells.nbin[1] * cells.nbin[2];
    cells.start.assign(total_bins + 1, 0);
    std::vector<int> bin(points.size());
    for (size_t g = 0; g < points.size(); ++g) {
        const auto& r = points[g];
        bin[g] = cells.index(cells.bin_of(r, 0), cells.bin_of(r, 1), cells.bin_of(r, 2));
        cells.start[bin[g] + 1]++;
    }
    for (size_t b = 0; b < total_bins; ++b) cells.start[b + 1] += cells.start[b];
    cells.order.resize(points.size());
    std::vector<int> fill(cells.start.begin(), cells.start.end() - 1);
    for (size_t g = 0; g < points.size(); ++g) cells.order[fill[bin[g]]++] = static_cast<int>(g);
    return cells;
}

}  // namespace

NeighborList build_neighbor_list(const Frame& frame, double cutoff, const std::vector<int>& centers) {
    if (!(cutoff > 0.0) || !std::isfinite(cutoff)) throw std::invalid_argument("cutoff must be positive");
    const int n = frame.size();
    for (int c : centers) {
        if (c < 0 || c >= n) throw std::invalid_argument("centre index out of range");
    }
    const Images images = periodic_images(frame, cutoff);
    const CellList cells = bin_points(images.position, cutoff);

    NeighborList list;
    list.offsets.assign(centers.size() + 1, 0);
    const double cutoff2 = cutoff * cutoff;
    for (size_t ci = 0; ci < centers.size(); ++ci) {
        const int i = centers[ci];
        const Eigen::Vector3d ri = images.home.row(i).transpose();
        int bi[3];
        for (int k = 0; k < 3; ++k) bi[k] = cells.bin_of(ri, k);
        for (int x = std::max(0, bi[0] - 1); x <= std::min(cells.nbin[0] - 1, bi[0] + 1); ++x) {
            for (int y = std::max(0, bi[1] - 1); y <= std::min(cells.nbin[1] - 1, bi[1] + 1); ++y) {
                for (int z = std::max(0, bi[2] - 1); z <= std::min(cells.nbin[2] - 1, bi[2] + 1); ++z) {
                    const int b = cells.index(x, y, z);
                    for (int p = cells.start[b]; p < cells.start[b + 1]; ++p) {
                        const int g = cells.order[p];
                        if (images.atom[g] == i && images.is_origin[g]) continue;
                        const Eigen::Vector3d d = images.position[g] - ri;
                        const double d2 = d.squaredNorm();
                        if (d2 < cutoff2) list.pairs.push_back({images.atom[g], std::sqrt(d2), d});
                    }
                }
            }
        }
        list.offsets[ci + 1] = static_cast<int64_t>(list.pairs.size());
    }
    return list;
}

}  // namespace sagpr
