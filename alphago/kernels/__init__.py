"""Numba kernels: the only @njit code. Arrays in, arrays out; no torch, no sgfmill."""
