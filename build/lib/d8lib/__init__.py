"""d8: monitoring and evaluation workbench for Project 8 of Program 1719."""

__version__ = "0.1.0"
