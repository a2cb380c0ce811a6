"""Fixtures: a small attribution project (see `_project`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from _project import Project, addr


@pytest.fixture
def project(tmp_path: Path) -> Project:
    return Project(tmp_path)


@pytest.fixture
def basic(project: Project) -> Project:
    """Three honest data contributors and a label flipper."""
    for i in range(3):
        project.add(f"c{i}", addr(i + 1), *project.rows(40 * i, 40 * i + 40))
    x, y = project.rows(120, 160)
    project.add("flip", addr(9), x, 1 - y)
    return project

