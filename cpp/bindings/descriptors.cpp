#include "bindings.hpp"
#include "sagpr/clebsch_gordan.hpp"
#include "sagpr/lambda_soap.hpp"
#include "sagpr/radial_integral.hpp"
#include "sagpr/spherical_harmonics.hpp"

namespace sagpr_bindings {

void bind_descriptors(py::module_& m) {
    py::class_<sagpr::LambdaSoap>(m, "LambdaSoap", "lambda-SOAP calculator (see sagpr.LambdaSOAP)")
        .def(py::init([](std::vector<int> o3_lambdas, double cutoff, int max_radial, int max_angular, double width,
                         double smooth_width, double center_weight, bool normalize, std::vector<int> species,
                         std::vector<int> o3_sigmas) {
                 sagpr::LambdaSoapHypers h;
                 h.o3_lambdas = std::move(o3_lambdas);
                 h.o3_sigmas = std::move(o3_sigmas);
                 h.cutoff = cutoff;
                 h.max_radial = max_radial;
                 h.max_angular = max_angular;
                 h.atomic_gaussian_width = width;
                 h.cutoff_smooth_width = smooth_width;
                 h.center_atom_weight = center_weight;
                 h.normalize = normalize;
                 h.species = std::move(species);
                 py::gil_scoped_release release;  // the radial tables take a moment
                 return new sagpr::LambdaSoap(h);
             }),
             py::arg("o3_lambdas"), py::arg("cutoff"), py::arg("max_radial"), py::arg("max_angular"),
             py::arg("atomic_gaussian_width"), py::arg("cutoff_smooth_width"), py::arg("center_atom_weight"),
             py::arg("normalize"), py::arg("species"), py::arg("o3_sigmas") = std::vector<int>{})
        .def_property_readonly("o3_lambdas", [](const sagpr::LambdaSoap& self) { return self.hypers().o3_lambdas; })
        .def_property_readonly("o3_sigmas", [](const sagpr::LambdaSoap& self) { return self.hypers().o3_sigmas; })
        .def_property_readonly("n_features",
                               [](const sagpr::LambdaSoap& self) {
                                   std::vector<int64_t> out;
                                   for (int k = 0; k < self.n_lambdas(); ++k) out.push_back(self.n_features(k));
                                   return out;
                               },
                               "Number of features of each o3_lambda.")
        .def_property_readonly("labels",
                               [](const sagpr::LambdaSoap& self) {
                                   py::list all;
                                   for (int k = 0; k < self.n_lambdas(); ++k) {
                                       const auto& labels = self.labels(k);
                                       py::array_t<int> out({static_cast<py::ssize_t>(labels.size()), py::ssize_t(6)});
                                       for (size_t i = 0; i < labels.size(); ++i)
                                           for (int j = 0; j < 6; ++j) out.mutable_at(i, j) = labels[i][j];
                                       all.append(out);
                                   }
                                   return all;
                               },
                               "(n_features, 6) labels of each o3_lambda.")
        .def(
            "compute",
            &compute_features<sagpr::LambdaSoap>,
            py::arg("frames"), py::arg("center_species"),
            "Features [(n_centers, 2*lambda+1, n_features) per o3_lambda] of a list of (positions, numbers, cell, "
            "pbc), all lambdas from one density per centre.")
        .def(
            "density",
            [](const sagpr::LambdaSoap& self, const py::list& frames, const std::vector<int>& center_species) {
                auto data = frames_from_list(frames);
                const auto& h = self.hypers();
                const py::ssize_t n = count_centers(data, center_species);
                py::array_t<double> out({n, py::ssize_t(h.species.size()), py::ssize_t(h.max_radial),
                                         py::ssize_t((h.max_angular + 1) * (h.max_angular + 1))});
                double* ptr = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    self.density(data, center_species, ptr);
                }
                return out;
            },
            py::arg("frames"), py::arg("center_species"),
            "Density coefficients (n_centers, n_species, max_radial, (max_angular+1)^2), lm = l*l + l + m.");

    m.def(
        "real_spherical_harmonics",
        [](int l_max, const DoubleArray& points) {
            if (points.ndim() != 2 || points.shape(1) != 3) throw py::value_error("points must have shape (n, 3)");
            const py::ssize_t n = points.shape(0), size = (l_max + 1) * (l_max + 1);
            py::array_t<double> out({n, size});
            auto p = points.unchecked<2>();
            for (py::ssize_t i = 0; i < n; ++i) {
                const double r = std::sqrt(p(i, 0) * p(i, 0) + p(i, 1) * p(i, 1) + p(i, 2) * p(i, 2));
                sagpr::real_spherical_harmonics(l_max, p(i, 0) / r, p(i, 1) / r, p(i, 2) / r,
                                                out.mutable_data(i, 0));
            }
            return out;
        },
        py::arg("l_max"), py::arg("points"), "Real spherical harmonics (n, (l_max+1)^2) of the directions of points.");
    m.def(
        "real_clebsch_gordan",
        [](int l1, int l2, int lambda) {
            auto cg = sagpr::real_clebsch_gordan(l1, l2, lambda);
            return to_numpy(cg.values, {2 * lambda + 1, 2 * l1 + 1, 2 * l2 + 1});
        },
        py::arg("l1"), py::arg("l2"), py::arg("o3_lambda"), "Real Clebsch-Gordan coefficients C[mu, m1, m2].");
    m.def(
        "real_clebsch_gordan_odd",
        [](int l1, int l2, int lambda) {
            auto cg = sagpr::real_clebsch_gordan_odd(l1, l2, lambda);
            return to_numpy(cg.values, {2 * lambda + 1, 2 * l1 + 1, 2 * l2 + 1});
        },
        py::arg("l1"), py::arg("l2"), py::arg("o3_lambda"),
        "Real Clebsch-Gordan coefficients C[mu, m1, m2] of an improper coupling (l1 + l2 + lambda odd).");
    m.def(
        "radial_integrals",
        [](int max_radial, int max_angular, double cutoff, double width, const DoubleArray& distances, bool splined) {
            sagpr::RadialIntegral radial(max_radial, max_angular, cutoff, width);
            const py::ssize_t n = distances.size(), size = max_radial * (max_angular + 1);
            py::array_t<double> out({n, py::ssize_t(max_radial), py::ssize_t(max_angular + 1)});
            std::vector<double> deriv(size);
            for (py::ssize_t i = 0; i < n; ++i) {
                if (splined) radial.evaluate(distances.data()[i], out.mutable_data(i, 0, 0));
                else radial.integrate(distances.data()[i], out.mutable_data(i, 0, 0), deriv.data());
            }
            return out;
        },
        py::arg("max_radial"), py::arg("max_angular"), py::arg("cutoff"), py::arg("atomic_gaussian_width"),
        py::arg("distances"), py::arg("splined") = true, "Radial integrals I_nl(d) (n, max_radial, max_angular+1).");
    m.def(
        "radial_basis",
        [](int max_radial, double cutoff, const DoubleArray& r) {
            sagpr::RadialIntegral radial(max_radial, 0, cutoff, cutoff);
            py::array_t<double> out({r.size(), py::ssize_t(max_radial)});
            for (py::ssize_t i = 0; i < r.size(); ++i) radial.basis(r.data()[i], out.mutable_data(i, 0));
            return out;
        },
        py::arg("max_radial"), py::arg("cutoff"), py::arg("r"), "Orthonormal GTO radial basis R_n(r), (n, max_radial).");
}

}  // namespace sagpr_bindings
