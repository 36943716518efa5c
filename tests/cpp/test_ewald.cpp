// The C++ Ewald sums without Python: Madelung energy, zero EFG at cubic sites, tracelessness,
// alpha independence, and the errors for bad input.
#include "check.hpp"
#include "sagpr/ewald.hpp"

#include <cmath>
#include <stdexcept>

namespace {

sagpr::Frame rock_salt(double a) {
    sagpr::Frame frame;
    frame.positions.resize(8, 3);
    const double base[8][3] = {{0, 0, 0}, {0, .5, .5}, {.5, 0, .5}, {.5, .5, 0},
                               {.5, 0, 0}, {0, .5, 0}, {0, 0, .5}, {.5, .5, .5}};
    for (int i = 0; i < 8; ++i) {
        for (int k = 0; k < 3; ++k) frame.positions(i, k) = a * base[i][k];
        frame.numbers.push_back(i < 4 ? 11 : 17);
    }
    frame.cell = Eigen::Matrix3d::Identity() * a;
    frame.pbc = {true, true, true};
    return frame;
}

template <typename F>
bool throws(F&& f) {
    try {
        f();
    } catch (const std::invalid_argument&) {
        return true;
    }
    return false;
}

}  // namespace

int main() {
    const double a = 5.64;
    sagpr::Frame frame = rock_salt(a);
    std::vector<double> q = {1, 1, 1, 1, -1, -1, -1, -1};
    std::vector<int> all = {0, 1, 2, 3, 4, 5, 6, 7};
    const sagpr::EwaldParameters p = sagpr::ewald_parameters(frame, 1e-12);
    CHECK(p.alpha > 0 && p.real_cutoff > 0 && p.kspace_cutoff > 0);

    // Madelung constant of rock salt: E per ion pair = -1.747564594633 / (a/2) in e^2/A.
    const double energy = sagpr::point_charge_energy(frame, q, p);
    CHECK_NEAR(energy / 4.0, -1.747564594633 / (a / 2), 1e-10);

    // Cubic sites: zero EFG; every site sees the same potential.
    const sagpr::EwaldField field = sagpr::point_charge_field(frame, q, all, p);
    CHECK(field.efg.cwiseAbs().maxCoeff() < 1e-11);

    // A distorted cell: symmetric, traceless, alpha-independent.
    frame.positions(0, 0) += 0.2;
    frame.positions(5, 2) -= 0.3;
    const sagpr::EwaldField f1 = sagpr::point_charge_field(frame, q, all, sagpr::ewald_parameters(frame, 1e-12, 0.5));
    const sagpr::EwaldField f2 = sagpr::point_charge_field(frame, q, all, sagpr::ewald_parameters(frame, 1e-12, 1.1));
    const double scale = f1.efg.cwiseAbs().maxCoeff();
    CHECK(scale > 1e-3);
    CHECK((f1.efg - f2.efg).cwiseAbs().maxCoeff() < 1e-10 * scale);
    for (int i = 0; i < 8; ++i) {
        CHECK(std::abs(f1.efg(i, 0) + f1.efg(i, 4) + f1.efg(i, 8)) < 1e-11 * scale);
        CHECK(f1.efg(i, 1) == f1.efg(i, 3) && f1.efg(i, 2) == f1.efg(i, 6) && f1.efg(i, 5) == f1.efg(i, 7));
    }

    // Bad input.
    std::vector<double> charged = q;
    charged[0] = 2.0;
    CHECK(throws([&] { sagpr::point_charge_field(frame, charged, all, p); }));
    CHECK(throws([&] { sagpr::point_charge_field(frame, {1.0, -1.0}, all, p); }));
    sagpr::Frame overlap = frame;
    overlap.positions.row(1) = overlap.positions.row(0);
    CHECK(throws([&] { sagpr::point_charge_field(overlap, q, all, p); }));
    sagpr::Frame slab = frame;
    slab.pbc = {true, true, false};
    CHECK(throws([&] { sagpr::ewald_parameters(slab, 1e-8); }));
    CHECK(throws([&] { sagpr::ewald_parameters(frame, 0.0); }));
    return sagpr_test::finish("test_ewald");
}
