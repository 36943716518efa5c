"""Prediction at scale: tensors and observables of many structures, omega_Q histograms and regions."""
