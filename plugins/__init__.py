"""Radicale plugins and the features built on them, one module (or small package) each."""
