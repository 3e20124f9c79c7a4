"""Where the series lives on GitHub: the one place that names it.

tools/nbtools.py stamps these into every notebook's badges and setup cell, and
tests/test_notebooks.py checks that every notebook agrees with them.
"""

GITHUB_REPOSITORY = "convnet-classics/convnet-classics"
GITHUB_REF = "main"
