"""Presentation, above the domain: results rendered as text (`text`), LaTeX (`latex`), JSON-ready data (`data`),
study files (`studies`) and publication figures (`figures`, `style`)."""
