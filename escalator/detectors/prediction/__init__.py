"""Predictive monitoring: prefix encodings, remaining-time and breach-risk models."""
