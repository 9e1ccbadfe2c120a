"""The helpers every command shares: the resume hint as invoked, the --out convention."""

import sys

import pytest

from groklab.cli.common import check_out_dir, make_out_dir, resume_hint
from groklab.errors import GroklabError


def test_the_resume_hint_repeats_the_command_as_typed():
    hint = resume_hint(["train", "--op", "add", "--name", "a b"], ".venv/bin/groklab")
    assert hint == ".venv/bin/groklab train --op add --name 'a b'"


def test_the_resume_hint_of_a_module_run_says_python_m_groklab():
    hint = resume_hint(["train", "--p", "7"], "/somewhere/src/groklab/__main__.py")
    assert hint.endswith(" -m groklab train --p 7")
    assert hint.startswith(sys.executable.rsplit("/", 1)[-1])


def test_an_out_file_gets_its_missing_parent_directories(tmp_path):
    out = tmp_path / "a" / "b" / "f.csv"
    check_out_dir(out)
    assert out.parent.is_dir() and not out.exists()


def test_an_out_file_that_is_a_directory_is_refused(tmp_path):
    with pytest.raises(GroklabError, match="is a directory"):
        check_out_dir(tmp_path)


def test_an_out_directory_is_created_with_its_parents_and_a_file_there_is_refused(tmp_path):
    assert make_out_dir(tmp_path / "a" / "b").is_dir()
    (tmp_path / "f").write_text("x")
    with pytest.raises(GroklabError, match="'.*f' is a file; give a directory"):
        make_out_dir(tmp_path / "f")
