"""Pure array functions the agents call: arrays, parameters and random draws in, arrays out.

They never touch the model. Each has a slow per-borrower version in the tests.
"""
