// Shared helpers of the pybind11 module: array conversion only, no science here.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "sagpr/frame.hpp"

namespace py = pybind11;

namespace sagpr_bindings {

using DoubleArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IntArray = py::array_t<int, py::array::c_style | py::array::forcecast>;

// Build a Frame from (positions (N,3), numbers (N,), cell (3,3), pbc (3,)) arrays,
// with shape checks that raise ValueError.
sagpr::Frame frame_from_arrays(const DoubleArray& positions, const IntArray& numbers,
                               const DoubleArray& cell, const py::sequence& pbc);

// Frames from a list of (positions, numbers, cell, pbc) tuples.
std::vector<sagpr::Frame> frames_from_list(const py::list& frames);

// Number of centres of the given species (LambdaSoap::select_centers) in all frames.
py::ssize_t count_centers(const std::vector<sagpr::Frame>& frames, const std::vector<int>& center_species);

// Features [(n_centers, n_components(k), n_features(k)) per computed order k] of a calculator with
// n_lambdas / n_components / n_features / compute(frames, center_species, outputs), GIL released.
template <typename Calculator>
py::list compute_features(const Calculator& calculator, const py::list& frames, const std::vector<int>& center_species) {
    auto data = frames_from_list(frames);
    const py::ssize_t n = count_centers(data, center_species);
    py::list arrays;
    std::vector<double*> ptrs;
    for (int k = 0; k < calculator.n_lambdas(); ++k) {
        py::array_t<double> out({n, py::ssize_t(calculator.n_components(k)), py::ssize_t(calculator.n_features(k))});
        ptrs.push_back(out.mutable_data());
        arrays.append(out);
    }
    {
        py::gil_scoped_release release;
        calculator.compute(data, center_species, ptrs);
    }
    return arrays;
}

// Copy a row-major Eigen matrix into a new NumPy array of the given shape.
py::array_t<double> to_numpy(const std::vector<double>& data, const std::vector<py::ssize_t>& shape);

void bind_neighbors(py::module_& m);
void bind_descriptors(py::module_& m);
void bind_ewald(py::module_& m);
void bind_kernels(py::module_& m);
void bind_lode(py::module_& m);

}  // namespace sagpr_bindings
