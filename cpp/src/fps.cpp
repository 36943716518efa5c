#include "sagpr/fps.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace sagpr {

// Greedy max-min selection, pruned by the triangle inequality (Elkan, ICML 2003, for k-means;
// the same bound serves farthest-point sampling): a row whose nearest pick c lies at distance r
// from it cannot come closer to a new pick p when |c - p| >= 2 r, so it is not read. Later picks
// lie ever closer to their neighbours, so most rows are skipped and a pick costs far less than a
// pass over the matrix. A margin of ~1e-6 of the largest norm keeps every decision that round-off
// could flip on the computed side: the picks are those of the plain algorithm.
FpsResult farthest_point_sampling(ConstRowRef x, Eigen::Index k, Eigen::Index first) {
    const Eigen::Index n = x.rows();
    if (k < 1 || k > n) {
        throw std::invalid_argument("cannot select " + std::to_string(k) + " of " + std::to_string(n) + " points");
    }
    if (first < 0 || first >= n) throw std::invalid_argument("first point index out of range");
    const Eigen::VectorXd norms = x.rowwise().squaredNorm();
    const double margin = 1e-6 * std::sqrt(std::max(norms.maxCoeff(), std::numeric_limits<double>::min()));
    Eigen::VectorXd mindist = Eigen::VectorXd::Constant(n, std::numeric_limits<double>::infinity());
    std::vector<Eigen::Index> nearest(n, -1);  // which pick (by order) is each row's nearest; -2: picked
    std::vector<double> to_pick;               // |pick_j - newest pick|, per earlier pick j
    FpsResult out;
    out.indices.reserve(k);
    out.distances.reserve(k);
    Eigen::Index pick = first;
    double pick_distance = std::numeric_limits<double>::infinity();
    for (Eigen::Index step = 0; step < k; ++step) {
        out.indices.push_back(pick);
        out.distances.push_back(pick_distance);
        nearest[pick] = -2;
        if (step + 1 == k) break;
        const Eigen::VectorXd row = x.row(pick).transpose();
        to_pick.resize(step + 1);
        for (Eigen::Index j = 0; j <= step; ++j) {
            const Eigen::Index p = out.indices[j];
            to_pick[j] = std::sqrt(std::max(0.0, norms[p] + norms[pick] - 2.0 * x.row(p).dot(row)));
        }
#pragma omp parallel for schedule(static) if (n * x.cols() > (1 << 21))
        for (Eigen::Index i = 0; i < n; ++i) {
            const Eigen::Index c = nearest[i];
            if (c == -2) continue;
            if (c >= 0 && to_pick[c] >= 2.0 * std::sqrt(mindist[i]) + margin) continue;
            // |a - b|^2 from norms and one dot product; clamp round-off below zero
            const double d = std::max(0.0, norms[i] + norms[pick] - 2.0 * x.row(i).dot(row));
            if (d < mindist[i]) {
                mindist[i] = d;
                nearest[i] = step;
            }
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
