"""Supporting Families data accelerator for Greater Manchester."""

__version__ = "0.1.0"
