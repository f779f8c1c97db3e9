# An interpreter outside the supported range (3.11-3.13) gets one Japanese line and exit status 4 (pytest's usage
# error) before the plugin imports torch.
from kata.pyversion import refuse_unsupported

refuse_unsupported(4)

# The engine's pytest plugin is loaded here, not through an entry point, so that it never leaks into other projects.
pytest_plugins = ["kata.plugin"]
