# The engine's pytest plugin, as the real course's conftest.py loads it.
pytest_plugins = ["kata.plugin"]
