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

// Copy a row-major Eigen matrix into a new NumPy array of the given shape.
py::array_t<double> to_numpy(const std::vector<double>& data, const std::vector<py::ssize_t>& shape);

void bind_neighbors(py::module_& m);
void bind_descriptors(py::module_& m);
void bind_ewald(py::module_& m);
void bind_kernels(py::module_& m);
void bind_lode(py::module_& m);

}  // namespace sagpr_bindings
