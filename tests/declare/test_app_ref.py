"""load_app: module and file references, pyproject discovery, and every failure."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from skaal import App
from skaal.declare.app_ref import load_app, parse_ref
from skaal.errors import DeclarationError, UsageError

APP = """\
from skaal import App, Map

app = App("shop")
other = App("other")


@app.storage(durability="persistent")
class Carts(Map[str, str]): ...
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def saved_path() -> list[str]:
    return list(sys.path)


def test_module_reference(tmp_path: Path, saved_path: list[str]) -> None:
    _write(tmp_path / "ref_mod_a.py", APP)
    app = load_app("ref_mod_a:app", cwd=tmp_path)
    assert isinstance(app, App)
    assert app.name == "shop"
    assert load_app("ref_mod_a:other", cwd=tmp_path).name == "other"
    assert sys.path == saved_path


def test_attribute_defaults_to_app(tmp_path: Path) -> None:
    _write(tmp_path / "ref_mod_b.py", APP)
    assert load_app("ref_mod_b", cwd=tmp_path).name == "shop"
    assert load_app("ref_mod_b.py", cwd=tmp_path).name == "shop"


def test_file_in_a_package_supports_relative_imports(tmp_path: Path, saved_path: list[str]) -> None:
    _write(tmp_path / "src" / "refpkg" / "__init__.py", "")
    _write(tmp_path / "src" / "refpkg" / "models.py", "NAME = 'pkgshop'\n")
    _write(
        tmp_path / "src" / "refpkg" / "main.py",
        "from skaal import App\nfrom .models import NAME\n\nmain_app = App(NAME)\n",
    )
    ref = parse_ref("src/refpkg/main.py:main_app", base=tmp_path)
    assert (ref.root, ref.module, ref.attr) == (
        (tmp_path / "src").resolve(),
        "refpkg.main",
        "main_app",
    )
    assert load_app("src/refpkg/main.py:main_app", cwd=tmp_path).name == "pkgshop"
    assert sys.path == saved_path


def test_edits_are_seen_on_the_next_load(tmp_path: Path) -> None:
    path = _write(tmp_path / "ref_mod_c.py", APP)
    assert load_app("ref_mod_c", cwd=tmp_path).name == "shop"
    path.write_text(APP.replace('App("shop")', 'App("shop-two-longer")'))
    assert load_app("ref_mod_c", cwd=tmp_path).name == "shop-two-longer"


def test_pyproject_setting_in_a_parent_directory(tmp_path: Path) -> None:
    _write(tmp_path / "ref_mod_d.py", APP)
    _write(tmp_path / "pyproject.toml", '[tool.skaal]\napp = "ref_mod_d:app"\n')
    nested = tmp_path / "deep" / "er"
    nested.mkdir(parents=True)
    assert load_app(None, cwd=nested).name == "shop"


def test_no_reference_and_no_setting(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[project]\nname = 'x'\n")
    with pytest.raises(UsageError) as info:
        load_app(None, cwd=tmp_path)
    assert "no app given" in info.value.what
    assert "[tool.skaal] app" in str(info.value)
    assert info.value.exit_code == 2


def test_bad_pyproject_setting(tmp_path: Path) -> None:
    _write(tmp_path / "pyproject.toml", "[tool.skaal]\napp = 3\n")
    with pytest.raises(UsageError, match="must be a non-empty string"):
        load_app(None, cwd=tmp_path)


def test_module_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_app("no_such_module_xyz:app", cwd=tmp_path)
    assert "cannot find module 'no_such_module_xyz'" in info.value.what
    assert info.value.where == str(tmp_path.resolve())


def test_file_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_app("missing/app.py", cwd=tmp_path)


def test_failing_import_inside_the_module_points_at_the_user_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "ref_mod_e.py", "from skaal import App\n\nimport stripe_not_here\n")
    with pytest.raises(UsageError) as info:
        load_app("ref_mod_e", cwd=tmp_path)
    assert "importing 'ref_mod_e' failed" in info.value.what
    assert "stripe_not_here" in info.value.what
    assert info.value.where == f"{path.resolve()}:3"
    assert "pip install stripe_not_here" in (info.value.fix or "")


def test_syntax_error_shows_the_user_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "ref_mod_f.py", "from skaal import App\n\napp = App('shop'\nx = = 2\n")
    with pytest.raises(UsageError) as info:
        load_app("ref_mod_f:app", cwd=tmp_path)
    assert info.value.where is not None
    assert info.value.where.startswith(f"{path.resolve()}:")
    assert "syntax error" in info.value.what
    assert "app = App('shop'" in info.value.what or "x = = 2" in info.value.what
    assert "skaal/" not in str(info.value)


def test_exception_while_importing_points_at_the_user_line(tmp_path: Path) -> None:
    path = _write(tmp_path / "ref_mod_g.py", "x = 1\ny = x / 0\n")
    with pytest.raises(UsageError) as info:
        load_app("ref_mod_g", cwd=tmp_path)
    assert "ZeroDivisionError" in info.value.what
    assert info.value.where == f"{path.resolve()}:2"


def test_declaration_error_propagates_as_itself(tmp_path: Path) -> None:
    _write(tmp_path / "ref_mod_h.py", "from skaal import App\n\napp = App('Not Valid')\n")
    with pytest.raises(DeclarationError, match="app name 'Not Valid' is not valid"):
        load_app("ref_mod_h", cwd=tmp_path)


def test_missing_attribute_suggests_an_app(tmp_path: Path) -> None:
    _write(tmp_path / "ref_mod_i.py", APP)
    with pytest.raises(UsageError) as info:
        load_app("ref_mod_i:ap", cwd=tmp_path)
    assert "has no attribute 'ap' (did you mean 'app'?)" in info.value.what
    assert "App instances in ref_mod_i: app, other" in (info.value.fix or "")


def test_attribute_that_is_not_an_app(tmp_path: Path) -> None:
    _write(tmp_path / "ref_mod_j.py", APP)
    with pytest.raises(UsageError, match=r"ref_mod_j:Carts is a type, not a skaal\.App"):
        load_app("ref_mod_j:Carts", cwd=tmp_path)


def test_reference_that_is_neither_module_nor_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"neither a module path nor a \.py file"):
        load_app("not a module", cwd=tmp_path)
