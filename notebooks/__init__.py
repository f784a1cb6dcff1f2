"""The course labs as notebooks (a package only so that their conftest is notebooks.conftest, not a second `conftest`)."""
