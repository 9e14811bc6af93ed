"""Rendering of checkerlab's results: publication figures (figures, style); the results themselves hold data."""
