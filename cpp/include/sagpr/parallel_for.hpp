// OpenMP loop that carries exceptions out of the parallel region (an exception escaping an
// OpenMP region terminates the program): the first one is rethrown after the loop.
#pragma once
#include <cstdint>
#include <exception>

namespace sagpr {

// Runs body(i) for i in [0, n) on OpenMP threads, `chunk` iterations per dynamic work item.
template <typename Body>
void parallel_for(int64_t n, Body body, int chunk = 4) {
    std::exception_ptr error = nullptr;
#pragma omp parallel for schedule(dynamic, chunk)
    for (int64_t i = 0; i < n; ++i) {
        try {
            body(i);
        } catch (...) {
#pragma omp critical
            if (!error) error = std::current_exception();
        }
    }
    if (error) std::rethrow_exception(error);
}

}  // namespace sagpr
