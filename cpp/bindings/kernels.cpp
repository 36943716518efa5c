// Python boundary of the kernels, GPR solves and FPS: shape checks, zero-copy views,
// GIL released around the compute.
#include "bindings.hpp"
#include "sagpr/fps.hpp"
#include "sagpr/gpr.hpp"
#include "sagpr/kernels.hpp"

#include <string>

namespace sagpr_bindings {

namespace {

using sagpr::FeatureView;
using sagpr::RowMatrix;
using MutableArray = py::array_t<double, py::array::c_style>;

// (n, d, F) lambda features and (n, F0) lambda=0 features of the same environments.
FeatureView view(const DoubleArray& lam, const DoubleArray& zero, const char* name) {
    if (lam.ndim() != 3) throw py::value_error(std::string(name) + ": lambda features must be (n, 2*lambda+1, F)");
    if (zero.ndim() != 2) throw py::value_error(std::string(name) + ": lambda=0 features must be (n, F0)");
    if (zero.shape(0) != lam.shape(0)) {
        throw py::value_error(std::string(name) + ": lambda and lambda=0 features have different numbers of environments (" +
                              std::to_string(lam.shape(0)) + " and " + std::to_string(zero.shape(0)) + ")");
    }
    return FeatureView{lam.data(), zero.data(), lam.shape(0), lam.shape(1), lam.shape(2), zero.shape(1)};
}

Eigen::Map<RowMatrix> mutable_matrix(MutableArray& a, const char* name) {
    if (a.ndim() != 2) throw py::value_error(std::string(name) + " must be a 2-d array");
    if (!a.writeable()) throw py::value_error(std::string(name) + " must be writeable");
    return Eigen::Map<RowMatrix>(a.mutable_data(), a.shape(0), a.shape(1));
}

Eigen::Map<const RowMatrix> matrix(const DoubleArray& a, const char* name) {
    if (a.ndim() != 2) throw py::value_error(std::string(name) + " must be a 2-d array");
    return Eigen::Map<const RowMatrix>(a.data(), a.shape(0), a.shape(1));
}

Eigen::Map<const Eigen::VectorXd> vector(const DoubleArray& a) {
    return Eigen::Map<const Eigen::VectorXd>(a.data(), a.size());
}

py::array_t<double> to_array(const Eigen::VectorXd& v) {
    py::array_t<double> out(v.size());
    std::copy(v.data(), v.data() + v.size(), out.mutable_data());
    return out;
}

py::array_t<double> to_array(const RowMatrix& m) {
    py::array_t<double> out({m.rows(), m.cols()});
    std::copy(m.data(), m.data() + m.size(), out.mutable_data());
    return out;
}

}  // namespace

void bind_kernels(py::module_& m) {
    m.def(
        "kernel",
        [](const DoubleArray& x, const DoubleArray& x0, const DoubleArray& a, const DoubleArray& a0, int zeta) {
            const FeatureView fx = view(x, x0, "first set"), fa = view(a, a0, "second set");
            RowMatrix k;
            {
                py::gil_scoped_release release;
                k = sagpr::kernel(fx, fa, zeta);
            }
            return to_array(k);
        },
        py::arg("x"), py::arg("x0"), py::arg("a"), py::arg("a0"), py::arg("zeta"),
        "lambda-SOAP kernel (n*d, m*d): K[i*d+mu, j*d+nu] = (x[i,mu].a[j,nu]) (x0[i].a0[j])^(zeta-1).");

    m.def(
        "project_rows",
        [](const DoubleArray& rows, const DoubleArray& projection) {
            const auto r = matrix(rows, "features");
            const auto p = matrix(projection, "projection");
            RowMatrix out;
            {
                py::gil_scoped_release release;
                out = sagpr::project_rows(r, p);
            }
            return to_array(out);
        },
        py::arg("rows"), py::arg("projection"),
        "rows (r, F) @ projection (F, k), each row summed in a fixed order: independent of batching and threads.");

    m.def(
        "kernel_symmetric",
        [](const DoubleArray& x, const DoubleArray& x0, int zeta) {
            const FeatureView fx = view(x, x0, "features");
            RowMatrix k;
            {
                py::gil_scoped_release release;
                k = sagpr::kernel_symmetric(fx, zeta);
            }
            return to_array(k);
        },
        py::arg("x"), py::arg("x0"), py::arg("zeta"),
        "Kernel of a set with itself (n*d, n*d), exactly symmetric, half the flops of kernel().");

    m.def(
        "accumulate_normal_equations",
        [](const DoubleArray& x, const DoubleArray& x0, const DoubleArray& y, const DoubleArray& a,
           const DoubleArray& a0, int zeta, MutableArray& ktk, MutableArray& kty, long block) {
            const FeatureView fx = view(x, x0, "training set"), fa = view(a, a0, "active set");
            if (y.size() != fx.n * fx.d) throw py::value_error("targets must have shape (n_train, 2*lambda+1)");
            auto ktk_map = mutable_matrix(ktk, "ktk");
            if (kty.ndim() != 1 || !kty.writeable()) throw py::value_error("kty must be a writeable 1-d array");
            Eigen::Map<Eigen::VectorXd> kty_map(kty.mutable_data(), kty.size());
            py::gil_scoped_release release;
            sagpr::accumulate_normal_equations(fx, vector(y), fa, zeta, block, ktk_map, kty_map);
        },
        py::arg("x"), py::arg("x0"), py::arg("y"), py::arg("a"), py::arg("a0"), py::arg("zeta"), py::arg("ktk").noconvert(),
        py::arg("kty").noconvert(), py::arg("block") = 64,
        "Add K_MN K_NM (lower triangle only) and K_MN y of these training environments to ktk and kty in place.");

    m.def(
        "cholesky_solve",
        [](py::array a, const DoubleArray& b, double jitter, bool overwrite_a) {
            MutableArray work;
            if (overwrite_a) {
                if (!MutableArray::check_(a) || !a.writeable()) {
                    throw py::value_error("overwrite_a=True needs a writeable C-contiguous float64 array");
                }
                work = py::reinterpret_borrow<MutableArray>(a);
            } else {
                work = py::reinterpret_steal<MutableArray>(
                    py::module_::import("numpy").attr("array")(a, "float64", py::arg("copy") = true,
                                                               py::arg("order") = "C").release());
            }
            auto map = mutable_matrix(work, "a");
            const Eigen::VectorXd v = vector(b);
            sagpr::Solution s;
            {
                py::gil_scoped_release release;
                s = sagpr::cholesky_solve_inplace(map, v, jitter);
            }
            return py::make_tuple(to_array(s.weights), s.jitter);
        },
        py::arg("a"), py::arg("b"), py::arg("jitter") = -1.0, py::arg("overwrite_a") = false,
        "Solve (a + jitter I) w = b by Cholesky (lower triangle read). Returns (w, jitter used).\n"
        "overwrite_a=True factorises a in place (saves a copy of the matrix).");

    m.def(
        "predict",
        [](const DoubleArray& x, const DoubleArray& x0, const DoubleArray& a, const DoubleArray& a0,
           const DoubleArray& w, int zeta, long block) {
            const FeatureView fx = view(x, x0, "test set"), fa = view(a, a0, "active set");
            Eigen::VectorXd y;
            {
                py::gil_scoped_release release;
                y = sagpr::predict(fx, fa, vector(w), zeta, block);
            }
            return to_array(y);
        },
        py::arg("x"), py::arg("x0"), py::arg("a"), py::arg("a0"), py::arg("weights"), py::arg("zeta"),
        py::arg("block") = 64, "Predictions K_*M w, flattened (n*d).");

    m.def(
        "contract_weights",
        [](const DoubleArray& a, const DoubleArray& a0, const DoubleArray& w, int zeta) {
            const FeatureView fa = view(a, a0, "active set");
            RowMatrix t;
            {
                py::gil_scoped_release release;
                t = sagpr::contract_weights(fa, vector(w), zeta);
            }
            return to_array(t);
        },
        py::arg("a"), py::arg("a0"), py::arg("weights"), py::arg("zeta"),
        "Weights contracted with the active set (zeta=1: (F,1); zeta=2: (F,F0)).");

    m.def(
        "predict_contracted",
        [](const DoubleArray& x, const DoubleArray& x0, const DoubleArray& t, int zeta, long block) {
            const FeatureView fx = view(x, x0, "test set");
            const RowMatrix c = matrix(t, "contracted weights");
            Eigen::VectorXd y;
            {
                py::gil_scoped_release release;
                y = sagpr::predict_contracted(fx, c, zeta, block);
            }
            return to_array(y);
        },
        py::arg("x"), py::arg("x0"), py::arg("contracted"), py::arg("zeta"), py::arg("block") = 256,
        "Predictions from contracted weights, flattened (n*d).");

    m.def(
        "farthest_point_sampling",
        [](const DoubleArray& x, long k, long first) {
            const auto xm = matrix(x, "points");
            sagpr::FpsResult r;
            {
                py::gil_scoped_release release;
                r = sagpr::farthest_point_sampling(xm, k, first);
            }
            py::array_t<long> idx(static_cast<py::ssize_t>(r.indices.size()));
            for (size_t i = 0; i < r.indices.size(); ++i) idx.mutable_at(i) = r.indices[i];
            py::array_t<double> dist(static_cast<py::ssize_t>(r.distances.size()));
            std::copy(r.distances.begin(), r.distances.end(), dist.mutable_data());
            return py::make_tuple(idx, dist);
        },
        py::arg("x"), py::arg("k"), py::arg("first") = 0,
        "Farthest-point sampling of k rows of x starting from row `first`: (indices, squared distances).");
}

}  // namespace sagpr_bindings
