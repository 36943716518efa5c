// Independent numerical references shared by the C++ math tests: a Gauss-Legendre rule by
// Golub-Welsch (not the library's Newton iteration), random rotations and directions, and the
// real Wigner-D matrix from its definition Y_l(R r) = D^l(R) Y_l(r) (least squares over points).
#pragma once
#include <Eigen/Dense>
#include <cmath>
#include <random>
#include <vector>

#include "sagpr/spherical_harmonics.hpp"

namespace sagpr_test {

constexpr double pi = 3.14159265358979323846;

struct Rule {
    std::vector<double> x, w;
};

// n-point Gauss-Legendre on [a, b]: eigenvalues of the Jacobi matrix of the Legendre
// recurrence are the nodes, 2 v_0^2 the weights (Golub & Welsch 1969).
inline Rule gauss_legendre(int n, double a, double b) {
    Eigen::MatrixXd j = Eigen::MatrixXd::Zero(n, n);
    for (int k = 1; k < n; ++k) j(k, k - 1) = j(k - 1, k) = k / std::sqrt(4.0 * k * k - 1.0);
    Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(j);
    Rule r;
    for (int k = 0; k < n; ++k) {
        const double v = eig.eigenvectors()(0, k);
        r.x.push_back(0.5 * (b - a) * eig.eigenvalues()(k) + 0.5 * (b + a));
        r.w.push_back(0.5 * (b - a) * 2.0 * v * v);
    }
    return r;
}

// Composite rule: `points`-point Gauss-Legendre on each [edges[k], edges[k+1]].
inline Rule composite(const std::vector<double>& edges, int points) {
    Rule out;
    for (size_t k = 0; k + 1 < edges.size(); ++k) {
        const Rule r = gauss_legendre(points, edges[k], edges[k + 1]);
        out.x.insert(out.x.end(), r.x.begin(), r.x.end());
        out.w.insert(out.w.end(), r.w.begin(), r.w.end());
    }
    return out;
}

inline Eigen::Vector3d random_unit(std::mt19937& rng) {
    std::normal_distribution<double> normal;
    Eigen::Vector3d v(normal(rng), normal(rng), normal(rng));
    return v.normalized();
}

// Uniformly random proper rotation (QR of a Gaussian matrix, signs fixed, det = +1).
inline Eigen::Matrix3d random_rotation(std::mt19937& rng) {
    std::normal_distribution<double> normal;
    Eigen::Matrix3d a;
    for (int i = 0; i < 9; ++i) a.data()[i] = normal(rng);
    Eigen::HouseholderQR<Eigen::Matrix3d> qr(a);
    Eigen::Matrix3d q = qr.householderQ();
    const Eigen::Matrix3d r = qr.matrixQR().triangularView<Eigen::Upper>();
    for (int k = 0; k < 3; ++k)
        if (r(k, k) < 0) q.col(k) = -q.col(k);
    if (q.determinant() < 0) q.col(0) = -q.col(0);
    return q;
}

// Y_l (2l+1 values, m = -l..l) of a unit vector, through the library.
inline Eigen::VectorXd harmonics_l(int l, const Eigen::Vector3d& u) {
    std::vector<double> all((l + 1) * (l + 1));
    sagpr::real_spherical_harmonics(l, u.x(), u.y(), u.z(), all.data());
    return Eigen::Map<Eigen::VectorXd>(all.data() + l * l, 2 * l + 1);
}

// Real Wigner-D with Y_l(R r) = D Y_l(r): least squares over 4(2l+1)+10 random directions.
inline Eigen::MatrixXd wigner_d(int l, const Eigen::Matrix3d& rotation) {
    std::mt19937 rng(12345);
    const int n = 4 * (2 * l + 1) + 10;
    Eigen::MatrixXd y(n, 2 * l + 1), y_rot(n, 2 * l + 1);
    for (int p = 0; p < n; ++p) {
        const Eigen::Vector3d u = random_unit(rng);
        y.row(p) = harmonics_l(l, u).transpose();
        y_rot.row(p) = harmonics_l(l, rotation * u).transpose();
    }
    // y_rot = y D^T
    const Eigen::MatrixXd dt = y.colPivHouseholderQr().solve(y_rot);
    return dt.transpose();
}

}  // namespace sagpr_test
