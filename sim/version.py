"""The package's version: ``sim.__version__``, and what every manifest records as ``versions.sim``."""

__version__ = "0.1.0"  # keep equal to pyproject.toml's
