"""Workflows built on the models and NMR observables: hyperparameter search, comparisons, analysis."""
