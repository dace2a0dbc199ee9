"""The package version, kept in the engine so that the engine imports nothing above it.

``mia_notebook.__version__`` re-exports it, and the build reads it from here.
"""

__version__ = "0.1.0"
