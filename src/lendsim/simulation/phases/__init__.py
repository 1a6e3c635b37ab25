"""The phases of a month, one module each, in the order ``MarketModel.PHASES`` runs them.

Every phase module has ``step(model)``: it reads the model's state and the month's scratch
data (``model.month``, a :class:`lendsim.simulation.month.Month`), lets the agents decide, and
writes what the next phases need. docs/ODD.md, section 3, describes the schedule.
"""
