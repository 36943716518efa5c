#include "bindings.hpp"
#include "sagpr/lode.hpp"

namespace sagpr_bindings {
namespace {

sagpr::LodeHypers lode_hypers(double cutoff, int max_radial, int max_angular, double width, double ewald_width,
                              double accuracy, bool include_center, std::vector<int> species) {
    sagpr::LodeHypers h;
    h.cutoff = cutoff;
    h.max_radial = max_radial;
    h.max_angular = max_angular;
    h.atomic_gaussian_width = width;
    h.ewald_width = ewald_width;
    h.accuracy = accuracy;
    h.include_center = include_center;
    h.species = std::move(species);
    return h;
}

}  // namespace

void bind_lode(py::module_& m) {
    py::class_<sagpr::LodeExpansion>(m, "LodeExpansion", "LODE expansion of Ewald-summed species potentials (see sagpr.lode)")
        .def(py::init([](double cutoff, int max_radial, int max_angular, double width, double ewald_width,
                         double accuracy, bool include_center, std::vector<int> species) {
                 auto h = lode_hypers(cutoff, max_radial, max_angular, width, ewald_width, accuracy, include_center,
                                      std::move(species));
                 py::gil_scoped_release release;
                 return new sagpr::LodeExpansion(h);
             }),
             py::arg("cutoff"), py::arg("max_radial"), py::arg("max_angular"), py::arg("atomic_gaussian_width"),
             py::arg("ewald_width"), py::arg("accuracy"), py::arg("include_center"), py::arg("species"))
        .def_property_readonly("real_cutoff", &sagpr::LodeExpansion::real_cutoff)
        .def_property_readonly("kspace_cutoff", &sagpr::LodeExpansion::kspace_cutoff)
        .def_property_readonly("basis_extent", &sagpr::LodeExpansion::basis_extent)
        .def(
            "compute",
            [](const sagpr::LodeExpansion& self, const py::list& frames, const std::vector<int>& center_species) {
                auto data = frames_from_list(frames);
                const auto& h = self.hypers();
                const py::ssize_t n = count_centers(data, center_species);
                py::array_t<double> out({n, py::ssize_t(h.species.size()), py::ssize_t(h.max_radial),
                                         py::ssize_t((h.max_angular + 1) * (h.max_angular + 1))});
                double* ptr = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    self.compute(data, center_species, ptr);
                }
                return out;
            },
            py::arg("frames"), py::arg("center_species"),
            "Coefficients (n_centers, n_species, max_radial, (max_angular+1)^2), lm = l*l + l + m.")
        .def(
            "compute_atoms",
            [](const sagpr::LodeExpansion& self, const py::tuple& frame, const std::vector<int>& atoms) {
                auto data = frames_from_list(py::list(py::make_tuple(frame)));
                const auto& h = self.hypers();
                for (int a : atoms)
                    if (a < 0 || a >= data[0].size()) throw py::value_error("atom index out of range");
                py::array_t<double> out({py::ssize_t(atoms.size()), py::ssize_t(h.species.size()),
                                         py::ssize_t(h.max_radial), py::ssize_t((h.max_angular + 1) * (h.max_angular + 1))});
                double* ptr = out.mutable_data();
                {
                    py::gil_scoped_release release;
                    self.check_frame(data[0], 0);
                    self.compute_frame(data[0], atoms, ptr);
                }
                return out;
            },
            py::arg("frame"), py::arg("atoms"), "Coefficients of the given atoms of one frame.")
        .def(
            "tables",
            [](const sagpr::LodeExpansion& self, const DoubleArray& x, const std::string& which) {
                const auto& h = self.hypers();
                py::array_t<double> out({x.size(), py::ssize_t(h.max_radial), py::ssize_t(h.max_angular + 1)});
                for (py::ssize_t i = 0; i < x.size(); ++i) {
                    double* o = out.mutable_data(i, 0, 0);
                    if (which == "transform") self.radial_transform(x.data()[i], o);
                    else if (which == "short_range") self.real_space(x.data()[i], true, o);
                    else if (which == "cluster") self.real_space(x.data()[i], false, o);
                    else throw py::value_error("which must be transform, short_range or cluster");
                }
                return out;
            },
            py::arg("x"), py::arg("which"), "Radial tables for tests: J_nl(k), or the real-space I_nl(d).");

    py::class_<sagpr::LodeProduct>(m, "LodeProduct", "rho x V multi-scale equivariant features (see sagpr.lode)")
        .def(py::init([](std::vector<int> o3_lambdas, double cutoff, int max_radial, int max_angular, double width,
                         double smooth_width, double center_weight, bool normalize, double lode_cutoff,
                         int lode_max_radial, int lode_max_angular, double lode_width, double ewald_width,
                         double accuracy, bool include_center, std::vector<int> species) {
                 sagpr::LambdaSoapHypers local;
                 local.o3_lambdas = std::move(o3_lambdas);
                 local.cutoff = cutoff;
                 local.max_radial = max_radial;
                 local.max_angular = max_angular;
                 local.atomic_gaussian_width = width;
                 local.cutoff_smooth_width = smooth_width;
                 local.center_atom_weight = center_weight;
                 local.normalize = normalize;
                 local.species = species;
                 auto lode = lode_hypers(lode_cutoff, lode_max_radial, lode_max_angular, lode_width, ewald_width,
                                         accuracy, include_center, species);
                 py::gil_scoped_release release;
                 return new sagpr::LodeProduct(local, lode);
             }),
             py::arg("o3_lambdas"), py::arg("cutoff"), py::arg("max_radial"), py::arg("max_angular"),
             py::arg("atomic_gaussian_width"), py::arg("cutoff_smooth_width"), py::arg("center_atom_weight"),
             py::arg("normalize"), py::arg("lode_cutoff"), py::arg("lode_max_radial"), py::arg("lode_max_angular"),
             py::arg("lode_atomic_gaussian_width"), py::arg("ewald_width"), py::arg("accuracy"),
             py::arg("include_center"), py::arg("species"))
        .def_property_readonly("n_features",
                               [](const sagpr::LodeProduct& self) {
                                   std::vector<int64_t> out;
                                   for (int k = 0; k < self.n_lambdas(); ++k) out.push_back(self.n_features(k));
                                   return out;
                               })
        .def_property_readonly("labels",
                               [](const sagpr::LodeProduct& self) {
                                   py::list all;
                                   for (int k = 0; k < self.n_lambdas(); ++k) {
                                       const auto& labels = self.labels(k);
                                       py::array_t<int> out({static_cast<py::ssize_t>(labels.size()), py::ssize_t(6)});
                                       for (size_t i = 0; i < labels.size(); ++i)
                                           for (int j = 0; j < 6; ++j) out.mutable_at(i, j) = labels[i][j];
                                       all.append(out);
                                   }
                                   return all;
                               })
        .def(
            "compute",
            &compute_features<sagpr::LodeProduct>,
            py::arg("frames"), py::arg("center_species"),
            "Features [(n_centers, 2*lambda+1, n_features) per o3_lambda].");
}

}  // namespace sagpr_bindings
