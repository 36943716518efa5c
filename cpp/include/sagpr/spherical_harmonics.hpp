// Real spherical harmonics, sagpr's one convention for every equivariant quantity.
#pragma once

namespace sagpr {

// Real spherical harmonics Y_lm of a unit vector (x, y, z), l = 0..l_max, m = -l..l, written
// to out[l*l + l + m] ((l_max+1)^2 values). Orthonormal on the sphere, no Condon-Shortley
// phase: Y_1 = sqrt(3/4pi) (y, z, x); Y_2 ~ (xy, yz, 3z^2-r^2, xz, x^2-y^2).
// Y_lm = sqrt(2) N_lm Q_l^m(z) Re[(x+iy)^m] for m > 0 (Im for m < 0), with the polynomial
// Q_l^m = P_l^m / sin^m(theta) from the standard associated-Legendre recurrence
// (e.g. Limpanuparb & Milthorpe, arXiv:1410.1748), so no division by sin(theta).
void real_spherical_harmonics(int l_max, double x, double y, double z, double* out);

inline int lm_index(int l, int m) { return l * l + l + m; }

}  // namespace sagpr
