"""The --uncertainty-n-sparse and --uncertainty-projection options of the commands that give error
bars (predict, score)."""
from __future__ import annotations


def add_uncertainty_n_sparse_argument(p):
    p.add_argument("--uncertainty-n-sparse", default=None, metavar="N",
                   help="with --uncertainty: covariances from the first N active points of a sparse model "
                        "(none: all; auto: as many as cost no more than the prediction; default: the model's "
                        "uncertainty_n_sparse); a calibrated model must have been calibrated for the same N "
                        "(sagpr train --calibrate --set uncertainty_n_sparse=N)")
    p.add_argument("--uncertainty-projection", default=None, metavar="R",
                   help="with --uncertainty: covariances whose kernel to the active set is projected on R "
                        "principal directions of the active features (none: the exact covariance; default: the "
                        "model's uncertainty_projection); a calibrated model must have been calibrated for the "
                        "same R (sagpr train --calibrate --set uncertainty_projection=R)")


def apply_uncertainty_n_sparse(args, model):
    """Set the model's uncertainty_n_sparse from --uncertainty-n-sparse and, with --uncertainty,
    check its calibration belongs to that covariance: both fail here, before any work."""
    if args.uncertainty_n_sparse is not None:
        if not args.uncertainty:
            raise ValueError("--uncertainty-n-sparse sets the covariance of --uncertainty: give --uncertainty too")
        from .. import settings

        model.set_params(uncertainty_n_sparse=settings.parse("uncertainty_n_sparse", args.uncertainty_n_sparse))
    if getattr(args, "uncertainty_projection", None) is not None:
        if not args.uncertainty:
            raise ValueError("--uncertainty-projection sets the covariance of --uncertainty: give --uncertainty too")
        from .. import settings

        model.set_params(uncertainty_projection=settings.parse("uncertainty_projection", args.uncertainty_projection))
    if args.uncertainty:
        model.current_calibration()
