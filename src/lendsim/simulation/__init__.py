"""The model: MarketModel, the monthly cycle, parameters, networks, ledger, macro environment."""
