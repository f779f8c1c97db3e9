# The engine's pytest plugin is loaded here, not through an entry point, so that it never leaks into other projects.
pytest_plugins = ["kata.plugin"]
