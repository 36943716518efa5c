"""Powder NMR spectra of quadrupolar sites: mrsimulator spin systems from EFG (and shielding) tensors.

Conventions (checked by tests/test_spectra.py, see docs/spectra.md):

- mrsimulator takes the quadrupolar coupling Cq = e Q Vzz / h in Hz, the asymmetry eta and the
  Euler angles (alpha, beta, gamma) of the principal axis system (PAS). The angles are passive ZYZ
  with the principal values in Haeberlen order |Vzz| >= |Vxx| >= |Vyy|: the PAS axes are the
  columns of R = scipy Rotation.from_euler("zyz", angles).as_matrix(), and V = R diag(Vxx, Vyy, Vzz) R^T
  in the crystal frame.
- sagpr.nmr orders principal values the NQR way, |Vxx| <= |Vyy| <= |Vzz|: its x axis (smallest
  |V|) is Haeberlen's y and its y is Haeberlen's x. eta = (V_small - V_mid) / Vzz is the same
  number in both, so only the frames are relabelled here (haeberlen_frames).
- Shielding: mrsimulator's ``shielding_symmetric`` is the anisotropic part of the shielding
  sigma (zeta = sigma_zz - sigma_iso in ppm, Haeberlen order; a positive zeta puts the parallel edge
  at -zeta on the shift axis) and ``isotropic_chemical_shift`` is the shift delta_iso =
  sigma_ref - sigma_iso. Without a reference shielding, delta_iso = -sigma_iso.
- A powder spectrum does not depend on how a site as a whole is oriented: for powders the tensors
  are taken in the site's own EFG PAS (``frame="site"``), the EFG with zero angles. One tensor per
  site has the symmetry of an octant; two tensors that are not coaxial need
  integration_volume="hemisphere" (mrsimulator's default octant is then wrong), which is chosen here
  whenever a site has a shielding anisotropy.

mrsimulator is the optional 'spectra' extra; it is imported inside functions only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence, Tuple, Union

import numpy as np

from .isotopes import Isotope, get_isotope
from .nmr import asymmetry, principal_components, quadrupolar_coupling
from .tensors import symmetric_traceless_part

__all__ = [
    "MISSING_EXTRA",
    "require_mrsimulator",
    "haeberlen_frames",
    "euler_angles",
    "frames_from_euler",
    "quadrupolar_parameters",
    "shielding_parameters",
    "SiteParameters",
    "site_parameters",
    "spin_systems",
    "Spectrum",
    "simulate",
    "auto_window",
    "broaden",
    "spectral_difference",
    "larmor_frequency",
]

MISSING_EXTRA = "sagpr spectrum needs the 'spectra' extra (mrsimulator): pip install 'sagpr[spectra]'"
TRANSITIONS = ("central", "all")


def require_mrsimulator():
    """The mrsimulator module, or an ImportError of one line naming the extra."""
    try:
        import mrsimulator
    except ImportError:
        raise ImportError(MISSING_EXTRA) from None
    return mrsimulator


# ---------------------------------------------------------------- frames and angles
def haeberlen_frames(values_nqr, frames_nqr) -> Tuple[np.ndarray, np.ndarray]:
    """Principal values (N, 3) in Haeberlen order (xx, yy, zz: |zz| >= |xx| >= |yy|) and frames
    (N, 3, 3) with those PAS axes as columns (det +1), from sagpr.nmr's NQR-ordered ones.

    NQR (x, y, z) = (smallest, middle, largest |V|); Haeberlen x is the middle axis, y the smallest.
    Swapping two columns flips the handedness, so the new x axis is negated (an axis sign does not
    change a symmetric tensor)."""
    values_nqr = np.asarray(values_nqr, dtype=np.float64)
    F = np.asarray(frames_nqr, dtype=np.float64)
    values = values_nqr[:, [1, 0, 2]]
    frames = np.stack([-F[:, :, 1], F[:, :, 0], F[:, :, 2]], axis=2)
    return values, frames


def euler_angles(frames) -> np.ndarray:
    """Passive ZYZ Euler angles (N, 3) in radians of PAS frames (N, 3, 3) (axes as columns), as
    mrsimulator reads them: frames == Rotation.from_euler("zyz", angles).as_matrix()."""
    from scipy.spatial.transform import Rotation

    frames = np.asarray(frames, dtype=np.float64)
    if len(frames) == 0:
        return np.zeros((0, 3))
    import warnings

    with warnings.catch_warnings():  # gimbal lock (beta = 0 or pi) is harmless: any split of alpha + gamma works
        warnings.simplefilter("ignore", UserWarning)
        return Rotation.from_matrix(frames).as_euler("zyz")


def frames_from_euler(angles) -> np.ndarray:
    """The inverse of euler_angles: PAS frames (N, 3, 3) of passive ZYZ angles (N, 3) in radians."""
    from scipy.spatial.transform import Rotation

    return Rotation.from_euler("zyz", np.atleast_2d(np.asarray(angles, dtype=np.float64))).as_matrix()


def quadrupolar_parameters(V, isotope: Union[str, Isotope], units: str = "au", *, atol: float = 1e-8,
                           labels=None) -> dict:
    """mrsimulator's quadrupolar parameters of EFGs V (N, 3, 3): "cq_hz" (N,), "eta" (N,),
    "frames" (N, 3, 3, Haeberlen PAS axes as columns) and "euler" (N, 3, radians, passive ZYZ)."""
    values, frames = principal_components(V, atol=atol, labels=labels)
    values, frames = haeberlen_frames(values, frames)
    cq = quadrupolar_coupling(V, isotope, units, atol=atol, labels=labels) * 1e6
    return {"cq_hz": cq, "eta": asymmetry(V, atol=atol, labels=labels), "frames": frames, "euler": euler_angles(frames)}


def shielding_parameters(sigma, reference: Optional[float] = None, *, atol: float = 1e-6) -> dict:
    """mrsimulator's shielding parameters of shielding tensors sigma (N, 3, 3) in ppm: "shift" (N,)
    delta_iso = reference - sigma_iso (-sigma_iso without a reference), "zeta" (N,) = sigma_zz -
    sigma_iso (Haeberlen), "eta" (N,), "frames" and "euler" as in quadrupolar_parameters.

    Only the symmetric part is used (the antisymmetric part does not shift lines to first order)."""
    sigma = np.asarray(sigma, dtype=np.float64)
    if sigma.ndim == 2 and sigma.shape[1] == 9:
        sigma = sigma.reshape(-1, 3, 3)
    if sigma.ndim != 3 or sigma.shape[1:] != (3, 3):
        raise ValueError(f"shielding tensors must have shape (N, 3, 3) or (N, 9), got {sigma.shape}")
    if not np.all(np.isfinite(sigma)):
        bad = int(np.flatnonzero(~np.isfinite(sigma).all(axis=(1, 2)))[0])
        raise ValueError(f"site {bad}: the shielding tensor is not finite")
    sym = 0.5 * (sigma + np.swapaxes(sigma, 1, 2))
    iso = np.trace(sym, axis1=1, axis2=2) / 3.0
    aniso = symmetric_traceless_part(sym)
    values, frames = principal_components(aniso, atol=atol)
    values, frames = haeberlen_frames(values, frames)
    shift = (0.0 if reference is None else float(reference)) - iso
    # the asymmetry of the anisotropy is the same number in Haeberlen and NQR order: nmr owns it
    return {"shift": shift, "zeta": values[:, 2], "eta": asymmetry(aniso, atol=atol), "frames": frames,
            "euler": euler_angles(frames)}


@dataclass
class SiteParameters:
    """The per-site inputs of a simulation (one isotope): quadrupolar (Cq in Hz, eta, Euler angles),
    and optionally isotropic shift (ppm), shielding anisotropy zeta (ppm), its eta and angles."""

    isotope: str
    cq_hz: np.ndarray
    eta_q: np.ndarray
    euler_q: np.ndarray
    shift: Optional[np.ndarray] = None
    zeta: Optional[np.ndarray] = None
    eta_s: Optional[np.ndarray] = None
    euler_s: Optional[np.ndarray] = None
    frame: str = "lab"

    def __len__(self) -> int:
        return len(self.cq_hz)

    @property
    def has_anisotropic_shielding(self) -> bool:
        return self.zeta is not None and bool(np.any(np.abs(self.zeta) > 0))

    def subset(self, idx) -> "SiteParameters":
        take = lambda a: None if a is None else np.asarray(a)[idx]  # noqa: E731
        return SiteParameters(self.isotope, take(self.cq_hz), take(self.eta_q), take(self.euler_q), take(self.shift),
                              take(self.zeta), take(self.eta_s), take(self.euler_s), self.frame)


def site_parameters(V, isotope: Union[str, Isotope], units: str = "au", *, shielding=None,
                    shielding_reference: Optional[float] = None, frame: str = "site", labels=None) -> SiteParameters:
    """Per-site simulation inputs of EFGs V (N, 3, 3) in `units` and optional shielding tensors (N, 3, 3) ppm.

    frame="lab": Euler angles in the frame of the structure (a single-crystal orientation means
    something). frame="site": every site turned into its own EFG PAS (EFG angles zero, shielding
    angles relative to the EFG's), which leaves a powder spectrum unchanged and lets a site with
    one tensor use the cheaper octant integration."""
    if frame not in ("lab", "site"):
        raise ValueError(f"frame must be 'lab' or 'site', got {frame!r}")
    iso = get_isotope(isotope)
    q = quadrupolar_parameters(V, iso, units, labels=labels)
    site = SiteParameters(iso.label, q["cq_hz"], q["eta"], q["euler"], frame=frame)
    if shielding is not None:
        s = shielding_parameters(shielding, shielding_reference)
        if len(s["shift"]) != len(site):
            raise ValueError(f"{len(s['shift'])} shielding tensors for {len(site)} EFG tensors")
        frames_s = s["frames"]
        if frame == "site":
            frames_s = np.einsum("nji,njk->nik", q["frames"], frames_s)  # R_Q^T R_sigma
        site.shift, site.zeta, site.eta_s, site.euler_s = s["shift"], s["zeta"], s["eta"], euler_angles(frames_s)
    if frame == "site":
        site.euler_q = np.zeros_like(site.euler_q)
    return site


def spin_systems(site: SiteParameters) -> list:
    """One mrsimulator SpinSystem of one site per site."""
    require_mrsimulator()
    from mrsimulator import Site, SpinSystem
    from mrsimulator.spin_system.tensors import SymmetricTensor

    out = []
    for i in range(len(site)):
        a, b, g = (float(x) for x in site.euler_q[i])
        kwargs = {"isotope": site.isotope,
                  "quadrupolar": SymmetricTensor(Cq=float(site.cq_hz[i]), eta=float(site.eta_q[i]), alpha=a, beta=b, gamma=g)}
        if site.shift is not None:
            kwargs["isotropic_chemical_shift"] = float(site.shift[i])
            if site.zeta is not None and site.zeta[i] != 0:
                a, b, g = (float(x) for x in site.euler_s[i])
                kwargs["shielding_symmetric"] = SymmetricTensor(zeta=float(site.zeta[i]), eta=float(site.eta_s[i]),
                                                                alpha=a, beta=b, gamma=g)
        out.append(SpinSystem(sites=[Site(**kwargs)]))
    return out


# ---------------------------------------------------------------- simulation
def larmor_frequency(isotope: Union[str, Isotope], field_tesla: float) -> float:
    """|nu_0| in Hz of `isotope` at `field_tesla`: mrsimulator's primary reference frequency (the
    IUPAC Xi ratio of the isotope's reference compound times the 1H frequency), the denominator of
    its ppm axis. It differs from gamma B0 of the bare nucleus by the reference's shielding (< 0.1 %)."""
    require_mrsimulator()
    from mrsimulator.spin_system.isotope import Isotope as MrIsotope

    return abs(MrIsotope(symbol=get_isotope(isotope).label).B0_to_ref_freq(float(field_tesla)))


def auto_window(site: SiteParameters, field_tesla: float, *, transition: str = "central", spinning_hz: float = 0.0,
                margin: float = 1.25) -> Tuple[float, float]:
    """(spectral width, reference offset) in Hz that hold every site's line: the first-order
    extent 3|Cq|/(4I) of the outer satellites (transition "all"), or the second-order central
    line, bounded by nu_Q^2 (I(I+1) - 3/4) / (4 nu_0) (static and MAS alike), plus the shifts and
    shielding anisotropies."""
    iso = get_isotope(site.isotope)
    spin = iso.spin
    nu0 = larmor_frequency(iso, field_tesla)
    cq = np.abs(site.cq_hz)
    if transition == "all":
        half = 3.0 * cq / (4.0 * spin)
    else:
        nuq = 3.0 * cq / (2.0 * spin * (2.0 * spin - 1.0))
        half = nuq ** 2 * (spin * (spin + 1.0) - 0.75) / (4.0 * nu0)
    centre = np.zeros(len(site)) if site.shift is None else site.shift * nu0 * 1e-6
    if site.zeta is not None:
        half = half + (0.0 if spinning_hz > 0 else np.abs(site.zeta) * nu0 * 1e-6)
    lo, hi = float(np.min(centre - half)), float(np.max(centre + half))
    width = max(hi - lo, 1e3) * margin
    if spinning_hz > 0 and transition == "central":
        width = max(width, 4.0 * spinning_hz)  # room for the first sidebands either side
    return width, 0.5 * (lo + hi)


def broaden(intensity, increment_hz: float, fwhm_hz: float, shape: str = "gaussian") -> np.ndarray:
    """`intensity` (..., n) on a uniform grid convolved with a unit-area Gaussian or Lorentzian of
    full width at half maximum `fwhm_hz` (circular convolution through the FFT, as an apodisation
    of the FID would do)."""
    y = np.asarray(intensity, dtype=np.float64)
    if fwhm_hz <= 0:
        return y.copy()
    n = y.shape[-1]
    t = np.fft.rfftfreq(n, d=increment_hz)  # conjugate time axis, s
    if shape == "gaussian":
        window = np.exp(-((np.pi * fwhm_hz * t) ** 2) / (4.0 * np.log(2.0)))
    elif shape == "lorentzian":
        window = np.exp(-np.pi * fwhm_hz * t)
    else:
        raise ValueError(f"line shape must be 'gaussian' or 'lorentzian', got {shape!r}")
    return np.fft.irfft(np.fft.rfft(y, axis=-1) * window, n=n, axis=-1)


@dataclass
class Spectrum:
    """A simulated spectrum: offsets from the Larmor frequency in Hz, the same in ppm, intensity
    (n,) normalised to the number of sites per Hz (area = sites), or (k, n) per group."""

    hz: np.ndarray
    ppm: np.ndarray
    intensity: np.ndarray
    isotope: str
    field_tesla: float
    larmor_hz: float
    settings: dict = field(default_factory=dict)

    @property
    def khz(self) -> np.ndarray:
        return self.hz * 1e-3


def simulate(site: SiteParameters, field_tesla: float, *, spinning_hz: float = 0.0, transition: str = "central",
             count: int = 2048, width_hz: Optional[float] = None, offset_hz: Optional[float] = None,
             integration_density: int = 70, integration_volume: Optional[str] = None, gamma_angles: int = 1,
             sidebands: Optional[int] = None, broadening_hz: float = 0.0, line_shape: str = "gaussian",
             orientations=None, groups: Optional[Sequence] = None, n_jobs: int = 1) -> Spectrum:
    """The powder (or given-orientation) spectrum of `site` in a field of `field_tesla` T.

    spinning_hz: 0 for static, else MAS at that rate (rotor at the magic angle; 1e9 or more is
    infinitely fast). transition: "central" (the -1/2 -> 1/2 line only) or "all" (every
    single-quantum transition). width_hz/offset_hz: the window (auto_window's by default).
    integration_volume: None chooses "hemisphere" when a site has a shielding anisotropy, else
    "octant". orientations: (alpha, beta, weight) arrays of crystal orientations to use instead of
    a powder (alpha = beta = 0: the field along the structure's z axis). groups: site index
    arrays, one spectrum each (rows of `intensity`). sidebands: spinning sidebands computed (None:
    enough to span the window at the spinning rate, at least mrsimulator's 64). broadening_hz: FWHM of a `line_shape`
    convolution applied afterwards. Intensities: sites per Hz (each row's area is its site count).
    """
    require_mrsimulator()
    from mrsimulator import Simulator
    from mrsimulator.method.lib import BlochDecayCTSpectrum, BlochDecaySpectrum

    if transition not in TRANSITIONS:
        raise ValueError(f"transition must be one of {', '.join(TRANSITIONS)}, got {transition!r}")
    if not field_tesla > 0:
        raise ValueError(f"the magnetic field must be positive, got {field_tesla!r} T")
    if spinning_hz < 0:
        raise ValueError(f"the spinning rate must be 0 (static) or positive, got {spinning_hz!r} Hz")
    if len(site) == 0:
        raise ValueError("no sites to simulate")
    spin = get_isotope(site.isotope).spin
    if transition == "central" and float(spin).is_integer():
        raise ValueError(f"{site.isotope} has integer spin I = {spin:g}: no central transition; use transition 'all' "
                         f"(--transition all)")
    auto_w, auto_o = auto_window(site, field_tesla, transition=transition, spinning_hz=spinning_hz)
    width = float(width_hz) if width_hz is not None else auto_w
    offset = float(offset_hz) if offset_hz is not None else auto_o
    if integration_volume is None:
        integration_volume = "hemisphere" if site.has_anisotropic_shielding else "octant"
    if sidebands is None:
        # sidebands must reach across the whole line (satellites span MHz at kHz rates), else they fold back
        needed = int(np.ceil(1.2 * width / spinning_hz)) if 0 < spinning_hz < 1e9 else 0
        sidebands = max(64, 1 << int(np.ceil(np.log2(max(needed, 1)))))
    method_class = BlochDecayCTSpectrum if transition == "central" else BlochDecaySpectrum
    rotor = dict(rotor_frequency=float(spinning_hz), rotor_angle=float(np.arccos(np.sqrt(1.0 / 3.0))))
    if spinning_hz == 0:
        rotor = dict(rotor_frequency=0.0, rotor_angle=0.0)
    grouped = groups is not None
    groups = [np.arange(len(site))] if groups is None else [np.asarray(g, dtype=int) for g in groups]
    rows, method = [], None
    for idx in groups:
        method = method_class(channels=[site.isotope], magnetic_flux_density=float(field_tesla), **rotor,
                              spectral_dimensions=[dict(count=int(count), spectral_width=width, reference_offset=offset)])
        if idx.size == 0:
            rows.append(np.zeros(int(count)))
            continue
        sim = Simulator(spin_systems=spin_systems(site.subset(idx)), methods=[method])
        sim.config.integration_density = int(integration_density)
        sim.config.integration_volume = integration_volume
        sim.config.number_of_gamma_angles = int(gamma_angles)
        sim.config.number_of_sidebands = int(sidebands)
        if orientations is not None:
            from mrsimulator.simulator.config import CustomSampling

            alpha, beta, weight = (np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in orientations)
            sim.config.custom_sampling = CustomSampling(alpha=alpha, beta=beta, weight=weight)
        sim.run(n_jobs=n_jobs)
        rows.append(np.asarray(sim.methods[0].simulation.y[0].components[0].real, dtype=np.float64))
    dim = method.spectral_dimensions[0]
    hz = np.asarray(dim.coordinates_Hz(), dtype=np.float64)
    ppm = np.asarray(dim.coordinates_ppm(), dtype=np.float64)
    intensity = np.array(rows)
    # one factor for all groups, so they add up to the whole: the total area is the number of sites
    area = intensity.sum() * (width / count)
    if area > 0:
        intensity *= sum(int(g.size) for g in groups) / area
    if broadening_hz > 0:
        intensity = broaden(intensity, width / count, broadening_hz, line_shape)
    settings = dict(spinning_hz=float(spinning_hz), transition=transition, count=int(count), width_hz=width,
                    offset_hz=offset, integration_density=int(integration_density),
                    integration_volume=integration_volume, gamma_angles=int(gamma_angles), sidebands=int(sidebands),
                    broadening_hz=float(broadening_hz), line_shape=line_shape, frame=site.frame)
    return Spectrum(hz, ppm, intensity if grouped else intensity[0],
                    site.isotope, float(field_tesla), larmor_frequency(site.isotope, field_tesla), settings)


def spectral_difference(a, b) -> float:
    """Relative L1 difference sum |a - b| / sum |b| of two spectra on the same grid (0: equal, 2:
    no overlap of two spectra of equal area). Used for predicted vs reference spectra."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"spectra on different grids: {a.shape} and {b.shape}")
    return float(np.abs(a - b).sum() / np.abs(b).sum())
