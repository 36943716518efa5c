// lambda 0 and 2 features of the Li centres of a structure from one call against two
// single-lambda calls (one thread; the models' default descriptor, width 0.4 A).
// Usage: bench_lambda_sets STRUCTURE.txt [repeats]   (write the file with `python bench/lambda_sets.py`)
#include <omp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "plain_frame.hpp"
#include "sagpr/lambda_soap.hpp"
#include "timing.hpp"

namespace {

sagpr::LambdaSoap make(std::vector<int> lambdas) {
    sagpr::LambdaSoapHypers h;
    h.o3_lambdas = std::move(lambdas);
    h.cutoff = 5.0;
    h.max_radial = 8;
    h.max_angular = 6;
    h.atomic_gaussian_width = 0.4;
    h.cutoff_smooth_width = 0.5;
    h.center_atom_weight = 1.0;
    h.species = {3, 8, 22};
    return sagpr::LambdaSoap(h);
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s STRUCTURE.txt [repeats]\n", argv[0]);
        return 2;
    }
    const std::vector<sagpr::Frame> frames{read_plain_frame(argv[1])};
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 15;
    const std::vector<int> li{3};
    const int n = static_cast<int>(sagpr::LambdaSoap::select_centers(frames[0], li).size());
    omp_set_num_threads(1);

    const auto both = make({2, 0});
    std::vector<std::vector<double>> out(2);
    std::vector<double*> ptrs;
    for (int k = 0; k < 2; ++k) {
        out[k].resize(static_cast<size_t>(n) * both.n_components(k) * both.n_features(k));
        ptrs.push_back(out[k].data());
    }
    std::printf("%d atoms, %d Li centres, 1 thread; cutoff 5 A, max_radial 8, max_angular 6, width 0.4 A; median of %d\n",
                frames[0].size(), n, repeats);
    // The three runs alternate within each repeat, so load from other processes on a shared
    // machine falls on all of them alike.
    const auto lambda2 = make({2}), lambda0 = make({0});
    auto one_pass = [&] { both.compute(frames, li, ptrs); };
    auto only2 = [&] { lambda2.compute(frames, li, ptrs[0]); };
    auto only0 = [&] { lambda0.compute(frames, li, ptrs[1]); };
    std::vector<double> t2, t0, t20;
    only2(), only0(), one_pass();  // warm-up
    for (int r = 0; r < repeats; ++r) {
        t2.push_back(median_seconds(1, only2));
        t0.push_back(median_seconds(1, only0));
        t20.push_back(median_seconds(1, one_pass));
    }
    auto median_us = [&](std::vector<double> t) {
        std::sort(t.begin(), t.end());
        return 1e6 * t[t.size() / 2] / n;
    };
    const double us2 = median_us(t2), us0 = median_us(t0), one = median_us(t20);
    std::printf("lambda 2 alone               %8.1f us/centre\n", us2);
    std::printf("lambda 0 alone               %8.1f us/centre\n", us0);
    std::printf("lambda 0 and 2, one call     %8.1f us/centre\n", one);
    std::printf("two calls                    %8.1f us/centre; two calls / one call = %.2f\n", us2 + us0,
                (us2 + us0) / one);
    return 0;
}
