#include "sagpr/spherical_harmonics.hpp"

#include <cmath>
#include <vector>

namespace sagpr {
namespace {

// Normalisations sqrt(2 - delta_m0) N_lm, N_lm = sqrt((2l+1)/(4pi) (l-m)!/(l+m)!), cached per
// thread for the largest l_max seen, so the hot loop does no factorials or allocations.
struct Tables {
    int l_max = -1;
    std::vector<double> norm;  // [l*(l+1)/2 + m], m >= 0
    std::vector<double> c, s;  // scratch for (x + iy)^m
};

const Tables& tables(int l_max) {
    static thread_local Tables t;
    if (t.l_max < l_max) {
        constexpr double pi = 3.14159265358979323846;
        t.l_max = l_max;
        t.norm.assign((l_max + 1) * (l_max + 2) / 2, 0.0);
        for (int l = 0; l <= l_max; ++l) {
            for (int m = 0; m <= l; ++m) {
                double ratio = 1.0;
                for (int k = l - m + 1; k <= l + m; ++k) ratio /= k;
                t.norm[l * (l + 1) / 2 + m] = std::sqrt((m == 0 ? 1.0 : 2.0) * (2 * l + 1) / (4 * pi) * ratio);
            }
        }
        t.c.resize(l_max + 1);
        t.s.resize(l_max + 1);
    }
    return t;
}

}  // namespace

void real_spherical_harmonics(int l_max, double x, double y, double z, double* out) {
    Tables& t = const_cast<Tables&>(tables(l_max));
    double* c = t.c.data();
    double* s = t.s.data();
    // c[m] + i s[m] = (x + i y)^m
    c[0] = 1.0;
    s[0] = 0.0;
    for (int m = 1; m <= l_max; ++m) {
        c[m] = c[m - 1] * x - s[m - 1] * y;
        s[m] = c[m - 1] * y + s[m - 1] * x;
    }
    // Q_l^m(z) for fixed m by the three-term recurrence in l.
    double q_mm = 1.0;  // Q_m^m = (2m-1)!!
    for (int m = 0; m <= l_max; ++m) {
        if (m > 0) q_mm *= (2 * m - 1);
        double q_prev = 0.0, q = q_mm;
        for (int l = m; l <= l_max; ++l) {
            if (l == m + 1) {
                q_prev = q;
                q = (2 * m + 1) * z * q_mm;
            } else if (l > m + 1) {
                const double q_next = ((2 * l - 1) * z * q - (l + m - 1) * q_prev) / (l - m);
                q_prev = q;
                q = q_next;
            }
            const double nq = t.norm[l * (l + 1) / 2 + m] * q;
            if (m == 0) {
                out[lm_index(l, 0)] = nq;
            } else {
                out[lm_index(l, m)] = nq * c[m];
                out[lm_index(l, -m)] = nq * s[m];
            }
        }
    }
}

}  // namespace sagpr
