"""Faithful fakes of what the tests may not reach, only Azure itself: ``adls`` (the Data Lake SDK),
``lease`` (the blob lease).

Imported as ``fakes.<module>``: pytest puts ``tests/`` on ``sys.path`` (its root ``conftest.py``,
the default ``prepend`` import mode), as it does for ``landing_kit``. Not part of the wheel."""
