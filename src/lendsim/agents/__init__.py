"""Agents: Borrower (+ BorrowerPopulation arrays), Platform, Bank, Regulator."""

from lendsim.agents.banks import Bank
from lendsim.agents.borrowers import Borrower, BorrowerPopulation
from lendsim.agents.platforms import Platform
from lendsim.agents.regulators import Regulator

__all__ = ["Bank", "Borrower", "BorrowerPopulation", "Platform", "Regulator"]
