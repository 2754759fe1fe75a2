"""Probability models of client behaviour: BG/NBD, Gamma-Gamma, sBG and Kaplan-Meier."""
