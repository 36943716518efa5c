// One atomic structure as the C++ core sees it: positions, atomic numbers, cell, pbc.
#pragma once
#include <Eigen/Dense>
#include <array>
#include <vector>

namespace sagpr {

using RowMatrixXd = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using Positions = Eigen::Matrix<double, Eigen::Dynamic, 3, Eigen::RowMajor>;

struct Frame {
    Positions positions;           // (n_atoms, 3), Angstrom
    std::vector<int> numbers;      // atomic numbers
    Eigen::Matrix3d cell = Eigen::Matrix3d::Zero();  // rows are lattice vectors (ase convention)
    std::array<bool, 3> pbc{false, false, false};

    int size() const { return static_cast<int>(numbers.size()); }
    bool periodic() const { return pbc[0] || pbc[1] || pbc[2]; }
};

// Throws std::invalid_argument naming the atom for non-finite positions, and for
// a periodic direction whose cell vectors are degenerate (zero volume).
void validate_frame(const Frame& frame);

}  // namespace sagpr
