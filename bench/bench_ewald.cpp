// C++-only timing of the point-charge Ewald EFG (no Python): rattled rock-salt cells of +-2 charges
// at the atom density of Li4Ti5O12 (0.096 / A^3), 64 and 1728 atoms, all sites, accuracy 1e-8.
// The LTO cells themselves are timed from Python in bench/ewald.py. Run with OMP_NUM_THREADS=1/2:
//   OMP_NUM_THREADS=1 build/dev/bench/bench_ewald
#include "sagpr/ewald.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

namespace {

sagpr::Frame rock_salt(int repeat, double a, unsigned seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> rattle(0.0, 0.1);
    sagpr::Frame frame;
    const int n = 8 * repeat * repeat * repeat;
    frame.positions.resize(n, 3);
    const double base[8][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0},
                               {.5, 0, 0}, {0, .5, 0}, {0, 0, .5}, {.5, .5, .5}};
    int k = 0;
    for (int x = 0; x < repeat; ++x)
        for (int y = 0; y < repeat; ++y)
            for (int z = 0; z < repeat; ++z)
                for (int b = 0; b < 8; ++b, ++k) {
                    frame.positions(k, 0) = a * (x + base[b][0]) + rattle(rng);
                    frame.positions(k, 1) = a * (y + base[b][1]) + rattle(rng);
                    frame.positions(k, 2) = a * (z + base[b][2]) + rattle(rng);
                    frame.numbers.push_back(b < 4 ? 12 : 8);
                }
    frame.cell = Eigen::Matrix3d::Identity() * a * repeat;
    frame.pbc = {true, true, true};
    return frame;
}

double median_ms(const sagpr::Frame& frame, const std::vector<double>& q, int repeats) {
    std::vector<int> sites(frame.size());
    for (int i = 0; i < frame.size(); ++i) sites[i] = i;
    const sagpr::EwaldParameters p = sagpr::ewald_parameters(frame, 1e-8);
    std::vector<double> times;
    for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        const sagpr::EwaldField field = sagpr::point_charge_field(frame, q, sites, p);
        const auto stop = std::chrono::steady_clock::now();
        if (!field.efg.allFinite()) std::printf("non-finite EFG!\n");
        times.push_back(std::chrono::duration<double, std::milli>(stop - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace

int main() {
    const double a = 4.37;  // 8 atoms per a^3 at 0.096 / A^3
    for (int repeat : {2, 6}) {
        const sagpr::Frame frame = rock_salt(repeat, a, 7);
        std::vector<double> q;
        for (int z : frame.numbers) q.push_back(z == 12 ? 2.0 : -2.0);
        const sagpr::EwaldParameters p = sagpr::ewald_parameters(frame, 1e-8);
        const double ms = median_ms(frame, q, repeat == 2 ? 200 : 7);
        std::printf("%5d atoms: %9.3f ms (median; alpha %.3f /A, rc %.2f A, kc %.2f /A)\n", frame.size(), ms, p.alpha,
                    p.real_cutoff, p.kspace_cutoff);
    }
    return 0;
}
