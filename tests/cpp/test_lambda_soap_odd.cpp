// Improper lambda-SOAP features (o3_sigma = -1, l1 + l2 + lambda odd) and their couplings:
//  1. real_clebsch_gordan_odd is equivariant (D^lambda C = C (D^l1 x D^l2)), has unit-norm rows,
//     and its rows with the proper couplings' form an orthonormal basis of (l1) x (l2); the
//     1 x 1 -> 1 coupling is the cross product in the (y, z, x) order, up to one sign;
//  2. features against a reference coupling of the library's density written here, over every
//     ordered channel pair (dot products), raw and normalised;
//  3. exact symmetries: rotation by D^lambda(R), inversion by -(-1)^lambda (sigma det R),
//     translation and permutation nothing; proper features of the same call unchanged.
#include "check.hpp"
#include "math_reference.hpp"
#include "sagpr/clebsch_gordan.hpp"
#include "sagpr/lambda_soap.hpp"

#include <stdexcept>

using sagpr::RowMatrixXd;

namespace {

Eigen::MatrixXd as_matrix(const sagpr::RealClebschGordan& cg) {  // ((2 lambda+1), (2l1+1)(2l2+1))
    const int d = 2 * cg.lambda + 1, n = (2 * cg.l1 + 1) * (2 * cg.l2 + 1);
    return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(cg.values.data(), d, n);
}

std::vector<RowMatrixXd> compute(const sagpr::LambdaSoap& calc, const sagpr::Frame& frame) {
    const int n = frame.size();
    std::vector<RowMatrixXd> out;
    std::vector<double*> ptrs;
    for (int k = 0; k < calc.n_lambdas(); ++k) out.emplace_back(n * calc.n_components(k), calc.n_features(k));
    for (auto& m : out) ptrs.push_back(m.data());
    calc.compute({frame}, {}, ptrs);
    return out;
}

}  // namespace

int main() {
    std::mt19937 rng(7);
    const Eigen::Matrix3d r = sagpr_test::random_rotation(rng);
    double worst_eq = 0.0, worst_orth = 0.0;
    for (int l1 = 0; l1 <= 4; ++l1) {
        for (int l2 = 0; l2 <= 4; ++l2) {
            const Eigen::MatrixXd d1 = sagpr_test::wigner_d(l1, r), d2 = sagpr_test::wigner_d(l2, r);
            Eigen::MatrixXd d12(d1.rows() * d2.rows(), d1.cols() * d2.cols());
            for (int a = 0; a < d1.rows(); ++a)
                for (int b = 0; b < d1.cols(); ++b) d12.block(a * d2.rows(), b * d2.cols(), d2.rows(), d2.cols()) = d1(a, b) * d2;
            Eigen::MatrixXd all(0, d12.cols());
            for (int lam = std::abs(l1 - l2); lam <= l1 + l2; ++lam) {
                const bool odd = (l1 + l2 + lam) % 2;
                const Eigen::MatrixXd c = as_matrix(odd ? sagpr::real_clebsch_gordan_odd(l1, l2, lam)
                                                        : sagpr::real_clebsch_gordan(l1, l2, lam));
                const Eigen::MatrixXd dl = sagpr_test::wigner_d(lam, r);
                // B = C (a x b) rotates as D^lambda when a, b rotate as D^l1, D^l2
                worst_eq = std::max(worst_eq, (dl * c - c * d12).cwiseAbs().maxCoeff());
                Eigen::MatrixXd grown(all.rows() + c.rows(), all.cols());
                grown << all, c;
                all = grown;
            }
            const Eigen::MatrixXd gram = all * all.transpose();
            worst_orth = std::max(worst_orth, (gram - Eigen::MatrixXd::Identity(gram.rows(), gram.cols())).cwiseAbs().maxCoeff());
            CHECK(all.rows() == all.cols());  // complete: (2l1+1)(2l2+1) rows
        }
    }
    // cross product: components (y, z, x) of a x b for a, b given in the (y, z, x) order
    const auto cross = sagpr::real_clebsch_gordan_odd(1, 1, 1);
    const Eigen::Vector3d a(0.3, -1.1, 0.7), b(-0.4, 0.2, 1.3);  // Cartesian x, y, z
    const Eigen::Vector3d ab = a.cross(b);
    const Eigen::Vector3d ay(a.y(), a.z(), a.x()), by(b.y(), b.z(), b.x()), aby(ab.y(), ab.z(), ab.x());
    Eigen::Vector3d coupled = Eigen::Vector3d::Zero();
    for (int mu = 0; mu < 3; ++mu)
        for (int m1 = 0; m1 < 3; ++m1)
            for (int m2 = 0; m2 < 3; ++m2) coupled[mu] += cross(mu, m1, m2) * ay[m1] * by[m2];
    const double ratio = coupled.dot(aby) / aby.squaredNorm();
    CHECK(std::abs(std::abs(ratio) - 1.0 / std::sqrt(2.0)) < 1e-14);
    CHECK((coupled - ratio * aby).norm() < 1e-14);
    std::printf("odd CG: equivariance %.1e, orthonormality with the proper ones %.1e, cross product ratio %.6f\n",
                worst_eq, worst_orth, ratio);
    CHECK(worst_eq < 1e-12);
    CHECK(worst_orth < 1e-13);
    bool threw = false;
    try {
        sagpr::real_clebsch_gordan_odd(1, 1, 2);
    } catch (const std::invalid_argument&) {
        threw = true;
    }
    CHECK(threw);

    // Features. lambda 2 sigma -1 next to lambda 2 sigma +1 and lambda 1 sigma -1.
    sagpr::LambdaSoapHypers h;
    h.o3_lambdas = {2, 2, 1, 3};
    h.o3_sigmas = {-1, 1, -1, -1};
    h.cutoff = 3.0;
    h.max_radial = 3;
    h.max_angular = 3;
    h.atomic_gaussian_width = 0.4;
    h.cutoff_smooth_width = 1.0;
    h.center_atom_weight = 0.7;
    h.species = {1, 8};
    sagpr::Frame frame;  // no symmetry element: pseudotensor features do not vanish
    frame.positions.resize(4, 3);
    frame.positions << 0.0, 0.0, 0.0, 0.9, 0.3, -0.2, -0.4, 1.1, 0.5, 1.2, -0.8, 1.1;
    frame.numbers = {8, 1, 1, 8};
    const int lm = (h.max_angular + 1) * (h.max_angular + 1), q_size = 2 * h.max_radial;

    for (bool normalize : {false, true}) {
        h.normalize = normalize;
        const sagpr::LambdaSoap calc(h);
        std::vector<double> density(4 * calc.density_size());
        calc.density({frame}, {}, density.data());
        const auto x = compute(calc, frame);
        double worst_dot = 0.0;
        for (int k = 0; k < calc.n_lambdas(); ++k) {
            const int lam = calc.o3_lambda(k), d = 2 * lam + 1;
            const bool odd = calc.o3_sigma(k) < 0;
            for (const auto& label : calc.labels(k)) {
                CHECK(label[2] <= label[5] && (label[2] + label[5] + lam) % 2 == (odd ? 1 : 0));
                if (odd && label[2] == label[5]) CHECK(label[0] * 100 + label[1] < label[3] * 100 + label[4]);
            }
            // x_i x_j^T over the kept features = the full ordered tensor product, normalised alike
            std::vector<Eigen::MatrixXd> full_i(4);
            for (int i = 0; i < 4; ++i) {
                const double* c = density.data() + i * calc.density_size();
                Eigen::MatrixXd rows(d, 0);
                for (int l1 = 0; l1 <= h.max_angular; ++l1)
                    for (int l2 = 0; l2 <= h.max_angular; ++l2) {
                        if (lam < std::abs(l1 - l2) || lam > l1 + l2 || (l1 + l2 + lam) % 2 != (odd ? 1 : 0)) continue;
                        const auto cg = odd ? sagpr::real_clebsch_gordan_odd(l1, l2, lam) : sagpr::real_clebsch_gordan(l1, l2, lam);
                        for (int q1 = 0; q1 < q_size; ++q1)
                            for (int q2 = 0; q2 < q_size; ++q2) {
                                Eigen::VectorXd v = Eigen::VectorXd::Zero(d);
                                for (int mu = 0; mu < d; ++mu)
                                    for (int m1 = 0; m1 < 2 * l1 + 1; ++m1)
                                        for (int m2 = 0; m2 < 2 * l2 + 1; ++m2)
                                            v[mu] += cg(mu, m1, m2) * c[q1 * lm + l1 * l1 + m1] * c[q2 * lm + l2 * l2 + m2];
                                rows.conservativeResize(d, rows.cols() + 1);
                                rows.col(rows.cols() - 1) = v;
                            }
                    }
                if (normalize) rows /= rows.norm();
                full_i[i] = rows;
            }
            for (int i = 0; i < 4; ++i)
                for (int j = 0; j < 4; ++j) {
                    const Eigen::MatrixXd full = full_i[i] * full_i[j].transpose();
                    const Eigen::MatrixXd kept = x[k].middleRows(i * d, d) * x[k].middleRows(j * d, d).transpose();
                    worst_dot = std::max(worst_dot, (kept - full).cwiseAbs().maxCoeff() / full.cwiseAbs().maxCoeff());
                }
        }
        std::printf("normalize=%d: dot products vs the full ordered tensor product %.1e\n", normalize, worst_dot);
        CHECK(worst_dot < 1e-12);
    }

    // Symmetries of the normalised features.
    h.normalize = true;
    const sagpr::LambdaSoap calc(h);
    const auto x = compute(calc, frame);
    auto transformed = [&](const Eigen::Matrix3d& a, const Eigen::Vector3d& shift, const std::vector<int>& perm) {
        sagpr::Frame g = frame;
        for (int i = 0; i < 4; ++i) {
            g.positions.row(i) = (a * frame.positions.row(perm[i]).transpose() + shift).transpose();
            g.numbers[i] = frame.numbers[perm[i]];
        }
        return compute(calc, g);
    };
    const std::vector<int> identity = {0, 1, 2, 3}, perm = {2, 0, 3, 1};
    double worst_rot = 0.0, worst_inv = 0.0, worst_mirror = 0.0, worst_shift = 0.0, worst_perm = 0.0, smallest = 1.0;
    Eigen::Matrix3d mirror = Eigen::Matrix3d::Identity();
    mirror(2, 2) = -1.0;  // z -> -z: improper, = inversion times a rotation by pi about z
    Eigen::Matrix3d rot_pi = -mirror;
    const auto xr = transformed(r, Eigen::Vector3d::Zero(), identity);
    const auto xi = transformed(-Eigen::Matrix3d::Identity(), Eigen::Vector3d::Zero(), identity);
    const auto xm = transformed(mirror, Eigen::Vector3d::Zero(), identity);
    const auto xs = transformed(Eigen::Matrix3d::Identity(), Eigen::Vector3d(3.3, -7.1, 2.2), identity);
    const auto xp = transformed(Eigen::Matrix3d::Identity(), Eigen::Vector3d::Zero(), perm);
    for (int k = 0; k < calc.n_lambdas(); ++k) {
        const int lam = calc.o3_lambda(k), d = 2 * lam + 1;
        const double sigma = calc.o3_sigma(k);
        const double parity = sigma * (lam % 2 ? -1.0 : 1.0);  // sigma det(-I) D^lambda(I)... times (-1)^lambda
        const Eigen::MatrixXd dr = sagpr_test::wigner_d(lam, r), dpi = sagpr_test::wigner_d(lam, rot_pi);
        for (int i = 0; i < 4; ++i) {
            smallest = std::min(smallest, x[k].middleRows(i * d, d).norm());
            worst_rot = std::max(worst_rot, (xr[k].middleRows(i * d, d) - dr * x[k].middleRows(i * d, d)).cwiseAbs().maxCoeff());
            // a mirror is -1 times a proper rotation: sigma det(R) D^lambda(-R) = sigma (-1)^lambda ... D(rot_pi)
            worst_mirror = std::max(worst_mirror,
                                    (xm[k].middleRows(i * d, d) - parity * dpi * x[k].middleRows(i * d, d)).cwiseAbs().maxCoeff());
            worst_perm = std::max(worst_perm, (xp[k].middleRows(i * d, d) - x[k].middleRows(perm[i] * d, d)).cwiseAbs().maxCoeff());
        }
        worst_inv = std::max(worst_inv, (xi[k] - parity * x[k]).cwiseAbs().maxCoeff());
        worst_shift = std::max(worst_shift, (xs[k] - x[k]).cwiseAbs().maxCoeff());
    }
    std::printf("symmetries: rotation %.1e, inversion %.1e, mirror %.1e, translation %.1e, permutation %.1e; "
                "smallest centre norm %.2f\n", worst_rot, worst_inv, worst_mirror, worst_shift, worst_perm, smallest);
    CHECK(smallest > 0.99);  // every centre has non-zero (normalised) features
    CHECK(worst_rot < 1e-12);
    CHECK(worst_inv < 1e-13);
    CHECK(worst_mirror < 1e-12);
    CHECK(worst_shift < 1e-13);
    CHECK(worst_perm < 1e-13);

    // lambda 0 sigma -1 has no feature; a repeated (lambda, sigma) and a bad sigma are refused.
    for (const auto& [lams, sigmas] : std::vector<std::pair<std::vector<int>, std::vector<int>>>{
             {{0}, {-1}}, {{2, 2}, {-1, -1}}, {{2}, {0}}, {{2, 1}, {-1}}}) {
        sagpr::LambdaSoapHypers bad = h;
        bad.o3_lambdas = lams;
        bad.o3_sigmas = sigmas;
        bool refused = false;
        try {
            sagpr::LambdaSoap c(bad);
        } catch (const std::invalid_argument&) {
            refused = true;
        }
        CHECK(refused);
    }
    return sagpr_test::finish("test_lambda_soap_odd");
}
