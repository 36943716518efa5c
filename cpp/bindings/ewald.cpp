#include "bindings.hpp"
#include "sagpr/ewald.hpp"

namespace sagpr_bindings {

namespace {

std::vector<double> charges_vector(const DoubleArray& charges) {
    if (charges.ndim() != 1) throw py::value_error("charges must be a 1-d array");
    return std::vector<double>(charges.data(), charges.data() + charges.shape(0));
}

sagpr::EwaldParameters parameters_from(const py::tuple& params) {
    if (py::len(params) != 3) throw py::value_error("params must be (alpha, real_cutoff, kspace_cutoff)");
    return {params[0].cast<double>(), params[1].cast<double>(), params[2].cast<double>()};
}

}  // namespace

void bind_ewald(py::module_& m) {
    m.def(
        "ewald_parameters",
        [](const DoubleArray& positions, const IntArray& numbers, const DoubleArray& cell, const py::sequence& pbc,
           double accuracy, double alpha) {
            sagpr::Frame frame = frame_from_arrays(positions, numbers, cell, pbc);
            const sagpr::EwaldParameters p = sagpr::ewald_parameters(frame, accuracy, alpha);
            return py::make_tuple(p.alpha, p.real_cutoff, p.kspace_cutoff);
        },
        py::arg("positions"), py::arg("numbers"), py::arg("cell"), py::arg("pbc"), py::arg("accuracy"),
        py::arg("alpha") = 0.0,
        "(alpha [1/A], real_cutoff [A], kspace_cutoff [1/A]) for the requested relative EFG accuracy;\n"
        "alpha <= 0 picks alpha for speed. Zeros for a non-periodic frame.");

    m.def(
        "point_charge_field",
        [](const DoubleArray& positions, const IntArray& numbers, const DoubleArray& cell, const py::sequence& pbc,
           const DoubleArray& charges, const std::vector<int>& sites, const py::tuple& params, double min_distance) {
            sagpr::Frame frame = frame_from_arrays(positions, numbers, cell, pbc);
            const std::vector<double> q = charges_vector(charges);
            const sagpr::EwaldParameters p = parameters_from(params);
            sagpr::EwaldField field;
            {
                py::gil_scoped_release release;
                field = sagpr::point_charge_field(frame, q, sites, p, min_distance);
            }
            const auto n = static_cast<py::ssize_t>(sites.size());
            py::array_t<double> potential(n), efg({n, py::ssize_t(3), py::ssize_t(3)});
            std::copy(field.potential.data(), field.potential.data() + n, potential.mutable_data());
            std::copy(field.efg.data(), field.efg.data() + 9 * n, efg.mutable_data());
            return py::make_tuple(potential, efg);
        },
        py::arg("positions"), py::arg("numbers"), py::arg("cell"), py::arg("pbc"), py::arg("charges"),
        py::arg("sites"), py::arg("params"), py::arg("min_distance") = 1e-3,
        "(potential (n_sites,) in e/A, efg (n_sites, 3, 3) in e/A^3) at the given sites from all point\n"
        "charges and periodic images except the site's own bare charge.");

    m.def(
        "point_charge_energy",
        [](const DoubleArray& positions, const IntArray& numbers, const DoubleArray& cell, const py::sequence& pbc,
           const DoubleArray& charges, const py::tuple& params, double min_distance) {
            sagpr::Frame frame = frame_from_arrays(positions, numbers, cell, pbc);
            const std::vector<double> q = charges_vector(charges);
            const sagpr::EwaldParameters p = parameters_from(params);
            py::gil_scoped_release release;
            return sagpr::point_charge_energy(frame, q, p, min_distance);
        },
        py::arg("positions"), py::arg("numbers"), py::arg("cell"), py::arg("pbc"), py::arg("charges"),
        py::arg("params"), py::arg("min_distance") = 1e-3, "Electrostatic energy of the point charges in e^2/A.");

    m.def(
        "ewald_coupling_matrix",
        [](const DoubleArray& positions, const IntArray& numbers, const DoubleArray& cell, const py::sequence& pbc,
           const std::vector<int>& sites, const py::tuple& params, double min_distance) {
            sagpr::Frame frame = frame_from_arrays(positions, numbers, cell, pbc);
            const sagpr::EwaldParameters p = parameters_from(params);
            sagpr::RowMatrixXd phi;
            {
                py::gil_scoped_release release;
                phi = sagpr::ewald_coupling_matrix(frame, sites, p, min_distance);
            }
            py::array_t<double> out({static_cast<py::ssize_t>(phi.rows()), static_cast<py::ssize_t>(phi.cols())});
            std::copy(phi.data(), phi.data() + phi.size(), out.mutable_data());
            return out;
        },
        py::arg("positions"), py::arg("numbers"), py::arg("cell"), py::arg("pbc"), py::arg("sites"),
        py::arg("params"), py::arg("min_distance") = 1e-3,
        "Ewald coupling matrix Phi (n_sites, n_atoms) in 1/A: potential at site s = Phi[s] @ q for neutral q.");
}

}  // namespace sagpr_bindings
