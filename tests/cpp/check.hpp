// A minimal assertion helper for the ctest executables: count failures, exit non-zero.
#pragma once
#include <cmath>
#include <cstdio>

namespace sagpr_test {
inline int& failures() {
    static int count = 0;
    return count;
}
inline void check(bool ok, const char* what, const char* file, int line) {
    if (!ok) {
        std::fprintf(stderr, "%s:%d: check failed: %s\n", file, line, what);
        ++failures();
    }
}
inline int finish(const char* name) {
    if (failures() == 0) std::printf("%s: all checks passed\n", name);
    return failures() == 0 ? 0 : 1;
}
}  // namespace sagpr_test

#define CHECK(cond) sagpr_test::check((cond), #cond, __FILE__, __LINE__)
#define CHECK_NEAR(a, b, tol) sagpr_test::check(std::abs((a) - (b)) <= (tol), #a " ~ " #b, __FILE__, __LINE__)
