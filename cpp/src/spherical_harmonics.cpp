#include "sagpr/spherical_harmonics.hpp"

#include <cmath>
#include <vector>

namespace sagpr {

void real_spherical_harmonics(int l_max, double x, double y, double z, double* out) {
    constexpr double pi = 3.14159265358979323846;
    // c[m] + i s[m] = (x + i y)^m
    std::vector<double> c(l_max + 1), s(l_max + 1);
    c[0] = 1.0;
    s[0] = 0.0;
    for (int m = 1; m <= l_max; ++m) {
        c[m] = c[m - 1] * x - s[m - 1] * y;
        s[m] = c[m - 1] * y + s[m - 1] * x;
    }
    // Q_l^m(z) for fixed m by the three-term recurrence in l; normalisation
    // N_lm = sqrt((2l+1)/(4pi) (l-m)!/(l+m)!) accumulated alongside.
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
            // (l-m)!/(l+m)! as a product, stable for the small l used here.
            double ratio = 1.0;
            for (int k = l - m + 1; k <= l + m; ++k) ratio /= k;
            const double norm = std::sqrt((2 * l + 1) / (4 * pi) * ratio);
            if (m == 0) {
                out[lm_index(l, 0)] = norm * q;
            } else {
                out[lm_index(l, m)] = std::sqrt(2.0) * norm * q * c[m];
                out[lm_index(l, -m)] = std::sqrt(2.0) * norm * q * s[m];
            }
        }
    }
}

}  // namespace sagpr
