"""Presentation, above the domain: results rendered as text (`text`), LaTeX (`latex`) and JSON-ready data (`data`)."""
