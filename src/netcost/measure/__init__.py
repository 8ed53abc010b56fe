"""Measurements on the local device: a model's real per-layer times (profile.py) and this
machine's peaks and efficiencies (calibrate.py). The only part of netcost that runs a model for
real on purpose; everything else works on fake tensors."""
