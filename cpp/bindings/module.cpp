#include "bindings.hpp"
#include "sagpr/lambda_soap.hpp"

#include <omp.h>

#include <stdexcept>

namespace sagpr_bindings {

sagpr::Frame frame_from_arrays(const DoubleArray& positions, const IntArray& numbers,
                               const DoubleArray& cell, const py::sequence& pbc) {
    if (positions.ndim() != 2 || positions.shape(1) != 3) {
        throw py::value_error("positions must have shape (n_atoms, 3)");
    }
    if (numbers.ndim() != 1 || numbers.shape(0) != positions.shape(0)) {
        throw py::value_error("numbers must have shape (n_atoms,) matching positions");
    }
    if (cell.ndim() != 2 || cell.shape(0) != 3 || cell.shape(1) != 3) {
        throw py::value_error("cell must have shape (3, 3)");
    }
    if (py::len(pbc) != 3) throw py::value_error("pbc must have three entries");
    sagpr::Frame frame;
    const auto n = positions.shape(0);
    frame.positions = Eigen::Map<const sagpr::Positions>(positions.data(), n, 3);
    frame.numbers.assign(numbers.data(), numbers.data() + n);
    frame.cell = Eigen::Map<const Eigen::Matrix<double, 3, 3, Eigen::RowMajor>>(cell.data());
    for (int k = 0; k < 3; ++k) frame.pbc[k] = pbc[k].cast<bool>();
    return frame;
}

std::vector<sagpr::Frame> frames_from_list(const py::list& frames) {
    std::vector<sagpr::Frame> out;
    out.reserve(py::len(frames));
    for (const auto& item : frames) {
        auto t = item.cast<py::tuple>();
        if (py::len(t) != 4) throw py::value_error("each frame must be (positions, numbers, cell, pbc)");
        out.push_back(frame_from_arrays(t[0].cast<DoubleArray>(), t[1].cast<IntArray>(), t[2].cast<DoubleArray>(),
                                        t[3].cast<py::sequence>()));
    }
    return out;
}

py::ssize_t count_centers(const std::vector<sagpr::Frame>& frames, const std::vector<int>& center_species) {
    py::ssize_t n = 0;
    for (const auto& f : frames) n += static_cast<py::ssize_t>(sagpr::LambdaSoap::select_centers(f, center_species).size());
    return n;
}

py::array_t<double> to_numpy(const std::vector<double>& data, const std::vector<py::ssize_t>& shape) {
    py::array_t<double> out(shape);
    std::copy(data.begin(), data.end(), out.mutable_data());
    return out;
}

}  // namespace sagpr_bindings

PYBIND11_MODULE(_core, m) {
    m.doc() = "sagpr's C++ core (neighbour lists, lambda-SOAP, kernels, GPR, Ewald EFG)";
    // std::invalid_argument becomes ValueError through pybind11's default translation.
    sagpr_bindings::bind_neighbors(m);
    sagpr_bindings::bind_descriptors(m);
    sagpr_bindings::bind_ewald(m);
    sagpr_bindings::bind_kernels(m);
    sagpr_bindings::bind_lode(m);

    m.def("set_num_threads", [](int n) {
        if (n < 1) throw py::value_error("the number of threads must be at least 1");
        omp_set_num_threads(n);
    }, py::arg("n"), "Number of OpenMP threads used by the C++ core from now on.");
    m.def("get_num_threads", [] { return omp_get_max_threads(); },
          "Number of OpenMP threads the C++ core uses.");
}
