// Full neighbour lists (every pair listed from both sides) with periodic images.
#pragma once
#include "sagpr/frame.hpp"

#include <cstdint>
#include <vector>

namespace sagpr {

struct Neighbor {
    int j;                 // index of the neighbour atom in the frame
    double distance;       // |vector|
    Eigen::Vector3d vector;  // r_j + lattice shift - r_i
};

// Neighbours of each centre, in centre order: pairs[offsets[c] .. offsets[c+1]).
// Periodic images of every atom are included, the centre's own images too (but
// not the centre itself); correct for cutoffs longer than the cell.
struct NeighborList {
    std::vector<int64_t> offsets;
    std::vector<Neighbor> pairs;

    int64_t count(int c) const { return offsets[c + 1] - offsets[c]; }
    const Neighbor* begin(int c) const { return pairs.data() + offsets[c]; }
    const Neighbor* end(int c) const { return pairs.data() + offsets[c + 1]; }
};

// Neighbours strictly closer than `cutoff` of the atoms listed in `centers`.
// Cell-list algorithm on the images that can reach the home cell: O(N) for a
// fixed density. The frame must be valid (see validate_frame).
NeighborList build_neighbor_list(const Frame& frame, double cutoff, const std::vector<int>& centers);

}  // namespace sagpr
