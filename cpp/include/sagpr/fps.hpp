// Farthest-point sampling (greedy max-min selection) of the rows of a matrix.
#pragma once
#include "sagpr/kernels.hpp"

#include <vector>

namespace sagpr {

struct FpsResult {
    std::vector<Eigen::Index> indices;  // selected rows, in selection order
    std::vector<double> distances;      // squared distance of each pick to those before it
};

// Pick k rows of x: `first`, then repeatedly the row farthest (Euclidean) from all picked
// rows. Ties go to the lowest index, so the result is deterministic for a given `first`.
FpsResult farthest_point_sampling(ConstRowRef x, Eigen::Index k, Eigen::Index first);

}  // namespace sagpr
