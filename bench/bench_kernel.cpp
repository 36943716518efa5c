// Kernel, sparse-GPR accumulation and prediction throughput on random normalised features,
// against a plain Eigen GEMM of the same shape measured in the same run.
//   bench_kernel [n_env=256] [n_active=1000] [lambda=2] [F=4600] [F0=2000] [repeats=5]
// Threads: OMP_NUM_THREADS. Prints medians.
#include "sagpr/gpr.hpp"
#include "sagpr/kernels.hpp"
#include "timing.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <random>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

using sagpr::FeatureView;
using sagpr::RowMatrix;

static RowMatrix random_normalised(Eigen::Index n, Eigen::Index d, Eigen::Index f, std::mt19937& rng) {
    std::normal_distribution<double> normal;
    RowMatrix x(n * d, f);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = normal(rng);
    for (Eigen::Index i = 0; i < n; ++i) x.middleRows(i * d, d) /= x.middleRows(i * d, d).norm();
    return x;
}

int main(int argc, char** argv) {
    const Eigen::Index n = argc > 1 ? std::atol(argv[1]) : 256;
    const Eigen::Index m = argc > 2 ? std::atol(argv[2]) : 1000;
    const Eigen::Index lambda = argc > 3 ? std::atol(argv[3]) : 2;
    const Eigen::Index F = argc > 4 ? std::atol(argv[4]) : 4600;
    const Eigen::Index F0 = argc > 5 ? std::atol(argv[5]) : 2000;
    const int repeats = argc > 6 ? std::atoi(argv[6]) : 5;
    const Eigen::Index d = 2 * lambda + 1;
    int threads = 1;
#ifdef _OPENMP
    threads = omp_get_max_threads();
#endif
    std::printf("bench_kernel: n=%ld M=%ld lambda=%ld F=%ld F0=%ld zeta=2 threads=%d repeats=%d\n", (long)n, (long)m,
                (long)lambda, (long)F, (long)F0, threads, repeats);
    std::mt19937 rng(42);
    const RowMatrix x = random_normalised(n, d, F, rng), x0 = random_normalised(n, 1, F0, rng);
    const RowMatrix a = random_normalised(m, d, F, rng), a0 = random_normalised(m, 1, F0, rng);
    const FeatureView fx{x.data(), x0.data(), n, d, F, F0}, fa{a.data(), a0.data(), m, d, F, F0};

    RowMatrix out;
    const double kernel_flops = 2.0 * n * d * m * d * F + 2.0 * n * m * F0;
    const double t_kernel = median_seconds(repeats, [&] { out = sagpr::kernel(fx, fa, 2); });
    RowMatrix g(n * d, m * d);
    const double t_gemm = median_seconds(repeats, [&] { g.noalias() = x * a.transpose(); });
    const double gemm_flops = 2.0 * n * d * m * d * F;
    std::printf("kernel (n x M)           %9.4f s  %7.2f GFLOP/s   | plain Eigen GEMM same shape %9.4f s %7.2f GFLOP/s"
                "  -> kernel at %.0f%% of GEMM rate\n",
                t_kernel, kernel_flops / t_kernel * 1e-9, t_gemm, gemm_flops / t_gemm * 1e-9,
                100.0 * (kernel_flops / t_kernel) / (gemm_flops / t_gemm));
    std::printf("  per environment pair: %.3f us (lambda=%ld block, %ldx%ld)\n", t_kernel / (double(n) * m) * 1e6,
                (long)lambda, (long)d, (long)d);

    const Eigen::Index md = m * d;
    RowMatrix ktk = RowMatrix::Zero(md, md);
    Eigen::VectorXd kty = Eigen::VectorXd::Zero(md), y = Eigen::VectorXd::Ones(n * d);
    const double acc_flops = kernel_flops + 1.0 * n * d * md * md + 2.0 * n * d * md;
    const double t_acc = median_seconds(repeats, [&] { sagpr::accumulate_normal_equations(fx, y, fa, 2, 64, ktk, kty); });
    std::printf("accumulate K_MN K_NM     %9.4f s  %7.2f GFLOP/s   (%.2f ms per training environment)\n", t_acc,
                acc_flops / t_acc * 1e-9, t_acc / n * 1e3);

    const Eigen::VectorXd w = Eigen::VectorXd::Ones(md) / double(md);
    Eigen::VectorXd pred;
    const double t_pred = median_seconds(repeats, [&] { pred = sagpr::predict(fx, fa, w, 2, 64); });
    const RowMatrix t = sagpr::contract_weights(fa, w, 2);
    Eigen::VectorXd pred_c;
    const double t_con = median_seconds(repeats, [&] { pred_c = sagpr::predict_contracted(fx, t, 2, 256); });
    std::printf("predict, kernel route    %9.4f s  (%.3f ms per site)\n", t_pred, t_pred / n * 1e3);
    std::printf("predict, contracted      %9.4f s  (%.3f ms per site)  speed-up x%.1f, max |difference| %.2e\n", t_con,
                t_con / n * 1e3, t_pred / t_con, (pred - pred_c).cwiseAbs().maxCoeff());
    return 0;
}
