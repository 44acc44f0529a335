"""The wheel, not only the checkout: built from the repository, installed into a new virtual
environment (as pip, pipx or uv tool install it), it builds the samples and answers SQL."""

import os
import subprocess
import sys
import sysconfig

import pytest

from tests.builders import REPOSITORY

pytestmark = pytest.mark.slow  # builds a wheel and a virtual environment


def test_the_installed_wheel_builds_the_samples(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check", "-w", wheels, REPOSITORY],
        check=True, capture_output=True,
    )
    [wheel] = wheels.glob("newsdesk-*.whl")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", venv], check=True)
    python = venv / "bin" / "python"
    # The dependencies come from the test environment (its site-packages, after the new
    # environment's own), so nothing is downloaded; newsdesk itself comes from the wheel alone:
    # a .pth line adds a folder, not the editable checkout that folder's own .pth files point to.
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    (venv / site / "test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check", wheel],
                   check=True, capture_output=True)

    data_home = tmp_path / "data"
    env = {name: value for name, value in os.environ.items() if not name.startswith(("NEWSDESK_", "DAGSTER_"))}
    env.update(XDG_DATA_HOME=str(data_home), PYTHONPATH="")
    where = subprocess.run([python, "-c", "import newsdesk.project; print(newsdesk.project.__file__)"],
                           cwd=tmp_path, env=env, check=True, capture_output=True, text=True).stdout
    assert where.startswith(str(venv)), where

    newsdesk = venv / "bin" / "newsdesk"
    run = subprocess.run([newsdesk, "run"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "43 pages, 31 distinct articles" in run.stdout
    assert (data_home / "newsdesk" / "warehouse.ducklake").is_file()
    assert "checks: 22 of 23 passed" in run.stdout  # the suites came with the wheel
    query = subprocess.run([newsdesk, "sql", "--csv", "SELECT count(*) AS n FROM cross_edition_stories"],
                           cwd=tmp_path, env=env, capture_output=True, text=True)
    assert query.returncode == 0 and query.stdout.split()[0] == "n", query.stderr
