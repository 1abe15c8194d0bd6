"""Relais: connects callers with professionals, respecting callers' privacy."""

__version__ = "0.1.0"
