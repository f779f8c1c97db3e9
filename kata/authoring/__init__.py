"""The instructor's tools: stubs from references (``stubs``) and the ``kata dev`` commands."""
