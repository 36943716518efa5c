#include "sagpr/fps.hpp"

#include <limits>
#include <stdexcept>
#include <string>

namespace sagpr {

FpsResult farthest_point_sampling(ConstRowRef x, Eigen::Index k, Eigen::Index first) {
    const Eigen::Index n = x.rows();
    if (k < 1 || k > n) {
        throw std::invalid_argument("cannot select " + std::to_string(k) + " of " + std::to_string(n) + " points");
    }
    if (first < 0 || first >= n) throw std::invalid_argument("first point index out of range");
    const Eigen::VectorXd norms = x.rowwise().squaredNorm();
    Eigen::VectorXd mindist = Eigen::VectorXd::Constant(n, std::numeric_limits<double>::infinity());
    FpsResult out;
    out.indices.reserve(k);
    out.distances.reserve(k);
    Eigen::Index pick = first;
    double pick_distance = std::numeric_limits<double>::infinity();
    for (Eigen::Index step = 0; step < k; ++step) {
        out.indices.push_back(pick);
        out.distances.push_back(pick_distance);
        if (step + 1 == k) break;
        const Eigen::VectorXd row = x.row(pick).transpose();
// one parallel region per pick: worth it only when a pick reads a lot of memory
#pragma omp parallel for schedule(static) if (n * x.cols() > (1 << 21))
        for (Eigen::Index i = 0; i < n; ++i) {
            // |a - b|^2 from norms and one dot product; clamp round-off below zero
            const double d = std::max(0.0, norms[i] + norms[pick] - 2.0 * x.row(i).dot(row));
            if (d < mindist[i]) mindist[i] = d;
        }
        mindist[pick] = -1.0;  // never picked twice, even among duplicates
        Eigen::Index best = 0;
        for (Eigen::Index i = 1; i < n; ++i) {
            if (mindist[i] > mindist[best]) best = i;
        }
        pick = best;
        pick_distance = mindist[best];
    }
    return out;
}

}  // namespace sagpr
