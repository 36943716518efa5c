#include "sagpr/frame.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace sagpr {

void validate_frame(const Frame& frame) {
    if (frame.positions.rows() != frame.size()) {
        throw std::invalid_argument("positions and atomic numbers have different lengths");
    }
    for (int i = 0; i < frame.size(); ++i) {
        if (!frame.positions.row(i).allFinite()) {
            throw std::invalid_argument("atom " + std::to_string(i) + " has a non-finite (NaN or inf) position");
        }
    }
    if (!frame.cell.allFinite()) {
        throw std::invalid_argument("the cell contains non-finite values");
    }
    if (frame.periodic()) {
        // The periodic lattice vectors must be independent of each other.
        std::vector<Eigen::Vector3d> vecs;
        for (int k = 0; k < 3; ++k) {
            if (frame.pbc[k]) vecs.push_back(frame.cell.row(k).transpose());
        }
        double measure = 0.0;
        double scale = 1.0;
        if (vecs.size() == 1) {
            measure = vecs[0].norm();
        } else if (vecs.size() == 2) {
            measure = vecs[0].cross(vecs[1]).norm();
            scale = vecs[0].norm() * vecs[1].norm();
        } else {
            measure = std::abs(frame.cell.determinant());
            scale = frame.cell.row(0).norm() * frame.cell.row(1).norm() * frame.cell.row(2).norm();
        }
        if (!(measure > 1e-10 * scale) || measure == 0.0) {
            throw std::invalid_argument("the cell has zero volume (degenerate lattice vectors) in a periodic direction");
        }
    }
}

}  // namespace sagpr
