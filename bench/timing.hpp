// Median wall time of repeated runs, for the C++ benchmarks.
#pragma once
#include <algorithm>
#include <chrono>
#include <vector>

template <typename F>
double median_seconds(int repeats, F&& f) {
    std::vector<double> times;
    for (int r = 0; r < repeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        times.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}
