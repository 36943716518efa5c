#include "bindings.hpp"
#include "sagpr/neighbors.hpp"

namespace sagpr_bindings {

void bind_neighbors(py::module_& m) {
    m.def(
        "neighbor_list",
        [](const DoubleArray& positions, const IntArray& numbers, const DoubleArray& cell,
           const py::sequence& pbc, double cutoff, const std::vector<int>& centers) {
            sagpr::Frame frame = frame_from_arrays(positions, numbers, cell, pbc);
            sagpr::NeighborList list;
            {
                py::gil_scoped_release release;
                sagpr::validate_frame(frame);
                list = sagpr::build_neighbor_list(frame, cutoff, centers);
            }
            const auto n = static_cast<py::ssize_t>(list.pairs.size());
            py::array_t<int> center_index(n), neighbor(n);
            py::array_t<double> vectors({n, py::ssize_t(3)});
            for (size_t c = 0; c < centers.size(); ++c) {
                for (int64_t p = list.offsets[c]; p < list.offsets[c + 1]; ++p) {
                    center_index.mutable_at(p) = static_cast<int>(c);
                    neighbor.mutable_at(p) = list.pairs[p].j;
                    for (int k = 0; k < 3; ++k) vectors.mutable_at(p, k) = list.pairs[p].vector[k];
                }
            }
            return py::make_tuple(center_index, neighbor, vectors);
        },
        py::arg("positions"), py::arg("numbers"), py::arg("cell"), py::arg("pbc"), py::arg("cutoff"),
        py::arg("centers"),
        "Neighbours closer than cutoff of the given centres, periodic images included.\n\n"
        "Returns (center_index, neighbor, vectors): for each pair the position of its centre in\n"
        "`centers`, the neighbour's atom index and the vector r_j + shift - r_i (Angstrom).");
}

}  // namespace sagpr_bindings
