"""Dynamics: trajectories, motionally averaged tensors and what spin-alignment-echo NMR measures.

reading      frames of any trajectory ase reads (extended XYZ by byte offset), streamed lazily
series       per-site tensor time series written chunk by chunk into a compressed .npz
averaging    window averages of Cartesian tensors (never of C_Q or eta) and their residual observables
correlation  omega_Q(t) over field directions, the SAE two-time correlation F2(t_p, t_m) and its fit
hops         environments over time, residence times and the hop-rate matrix

Pure NumPy physics: nothing here imports sagpr.workflows (the streaming prediction lives in
sagpr.workflows.dynamics).
"""
