"""Tests of the phase modules (lendsim.simulation.phases), one file per phase.

A package, so that its module names (``test_credit_lines``, ...) do not clash with the
tests of the modules of the same name in tests/simulation.
"""
