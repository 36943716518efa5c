// Radial integrals of Gaussian atom densities on an orthonormal GTO radial basis, splined.
#pragma once
#include <vector>

namespace sagpr {

// e^{-x} i_l(x), l = 0..l_max, for the modified spherical Bessel functions of the first kind
// i_l (Abramowitz & Stegun 10.2). Series for x < 1; otherwise Miller's backward recurrence
// i_{l-1} = i_{l+1} + (2l+1)/x i_l normalised by e^{-x} i_0(x) = (1 - e^{-2x})/(2x).
void scaled_spherical_bessel_i(int l_max, double x, double* out);

// The radial basis: GTOs R_n(r) = r^n exp(-r^2/(2 s_n^2)), s_n = cutoff * max(sqrt(n), 1) / max_radial,
// n = 0..max_radial-1, orthonormalised (Loewdin, S^{-1/2}) w.r.t. int r^2 R_n R_m dr. This is the
// GTO basis of librascal/featomic. A neighbour at distance d with a normalised Gaussian density
// of width sigma contributes c_nlm = I_nl(d) Y_lm(d_hat) to the density coefficients, with
//   I_nl(d) = 4pi (2pi sigma^2)^{-3/2} int_0^inf r^2 R_n(r) exp(-(r^2+d^2)/(2 sigma^2)) i_l(r d/sigma^2) dr
// (plane-wave-like expansion of exp(r.d/sigma^2) in real harmonics). I_nl is tabulated on
// d in [0, cutoff] by Gauss-Legendre quadrature (values and exact d-derivatives) and
// interpolated with cubic Hermite splines; the grid spacing sigma/100 keeps the relative
// interpolation error below ~1e-10 (tested against direct quadrature).
class RadialIntegral {
public:
    RadialIntegral(int max_radial, int max_angular, double cutoff, double sigma);

    int max_radial() const { return n_max_; }
    int max_angular() const { return l_max_; }
    // I_nl(d) for all n, l into out[n * (max_angular+1) + l].
    void evaluate(double d, double* out) const;
    // The same by direct quadrature (slow; for tests and tabulation).
    void integrate(double d, double* values, double* derivatives) const;
    // Orthonormal basis functions R_n(r), n = 0..max_radial-1 (for tests).
    void basis(double r, double* out) const;

private:
    int n_max_, l_max_;
    double cutoff_, sigma_;
    std::vector<double> gto_sigma_;
    std::vector<double> orthonormalizer_;  // S^{-1/2}, row-major n_max x n_max
    double spacing_;
    int n_nodes_;
    std::vector<double> values_, derivatives_;  // [node][n * (l_max+1) + l]
};

}  // namespace sagpr
