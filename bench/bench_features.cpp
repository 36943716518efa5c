// lambda-SOAP features for every centre of a structure file, 1 and 2 threads.
// Usage: bench_features STRUCTURE.txt [repeats]   (write the file with `python bench/features.py`)
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include "plain_frame.hpp"
#include "sagpr/lambda_soap.hpp"
#include "timing.hpp"

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s STRUCTURE.txt [repeats]\n", argv[0]);
        return 2;
    }
    const std::vector<sagpr::Frame> frames{read_plain_frame(argv[1])};
    const int repeats = argc > 2 ? std::atoi(argv[2]) : 5;
    const int n = frames[0].size();
    std::printf("%d atoms; cutoff 5 A, max_radial 8, max_angular 6, width 0.3 A; median of %d runs\n", n, repeats);
    std::printf("%-8s %8s %10s %14s\n", "lambda", "threads", "features", "us/centre");
    for (int lambda : {0, 2}) {
        sagpr::LambdaSoapHypers h;
        h.o3_lambdas = {lambda};
        h.cutoff = 5.0;
        h.max_radial = 8;
        h.max_angular = 6;
        h.atomic_gaussian_width = 0.3;
        h.cutoff_smooth_width = 0.5;
        h.center_atom_weight = 1.0;
        h.species = {3, 8, 22};
        sagpr::LambdaSoap calc(h);
        std::vector<double> out(static_cast<size_t>(n) * calc.n_components(0) * calc.n_features(0));
        for (int threads : {1, 2}) {
            omp_set_num_threads(threads);
            const double t = median_seconds(repeats, [&] { calc.compute(frames, {}, out.data()); });
            std::printf("%-8d %8d %10lld %14.1f\n", lambda, threads, static_cast<long long>(calc.n_features(0)), 1e6 * t / n);
        }
    }
    return 0;
}
