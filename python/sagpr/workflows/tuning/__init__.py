"""Tuning: Box-Behnken designs, response surfaces, k-fold cross-validation and the fits it runs."""
