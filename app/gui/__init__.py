"""checkerlab's desktop GUI (PySide6 + pyqtgraph). Every Qt class of the project lives in this package."""
