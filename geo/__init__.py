"""Hanoi urban-order monitor: the library behind the app and the ``python -m geo`` CLI.

Nothing in this package imports streamlit; the app in ``app_pages/`` is a thin UI over it.
"""

__version__ = "0.1.0"
