"""Oracles: score model answers against exact geometric ground truth (RL rewards) and
validate questions a model proposes. Filled in by the oracle issue."""
