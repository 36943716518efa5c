// Neighbour counts in simple cubic lattices, with cutoffs shorter and longer than the cell.
#include "check.hpp"
#include "sagpr/neighbors.hpp"

int main() {
    sagpr::Frame frame;
    frame.positions = sagpr::Positions::Zero(1, 3);
    frame.numbers = {3};
    frame.cell = 2.0 * Eigen::Matrix3d::Identity();
    frame.pbc = {true, true, true};
    sagpr::validate_frame(frame);

    // Simple cubic, a = 2: shells at 2 (6), 2*sqrt(2) (12), 2*sqrt(3) (8), 4 (6).
    auto list = sagpr::build_neighbor_list(frame, 2.1, {0});
    CHECK(list.count(0) == 6);
    list = sagpr::build_neighbor_list(frame, 3.0, {0});
    CHECK(list.count(0) == 18);
    list = sagpr::build_neighbor_list(frame, 4.1, {0});
    CHECK(list.count(0) == 32);
    for (auto p = list.begin(0); p != list.end(0); ++p) {
        CHECK(p->j == 0);
        CHECK_NEAR(p->vector.norm(), p->distance, 1e-14);
    }

    // No periodicity: a lone atom has no neighbours.
    frame.pbc = {false, false, false};
    list = sagpr::build_neighbor_list(frame, 10.0, {0});
    CHECK(list.count(0) == 0);
    return sagpr_test::finish("test_neighbors");
}
