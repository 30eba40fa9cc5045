"""House defaults: a TOML file of option values (and named profiles of them), each remembered with its place."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError, unknown_name
from pipeline.inputs.article import decode_text
from pipeline.inputs import read_input

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

CONFIG_NAME = "hero.toml"
"""Looked for in the current folder when neither --config nor PIPELINE_CONFIG names a file."""

CONFIG_ENV = "PIPELINE_CONFIG"
PROFILE_ENV = "PIPELINE_PROFILE"


@dataclass(frozen=True)
class Setting:
    key: str
    value: object
    place: str  # `hero.toml:3` or `hero.toml:12 [profiles.web]`


@dataclass
class HouseConfig:
    """The settings in force: the file's top-level keys, overridden by the chosen profile's."""

    path: Path | None
    profile: str | None = None
    profiles: tuple[str, ...] = ()
    settings: dict[str, Setting] = field(default_factory=dict)


def config_path(given: str | os.PathLike | None) -> Path | None:
    """The config file in force: `given` (from --config or PIPELINE_CONFIG), else ./hero.toml if present."""
    if given:
        return Path(given)
    default = Path(CONFIG_NAME)
    return default if default.is_file() else None


def key_name(key: str) -> str:
    """Keys are options' long names; `num_images` is taken as `num-images`."""
    return key.replace("_", "-")


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """Line number of each `key =` by its table (`` for the top level, `profiles.web`, ...)."""
    lines: dict[tuple[str, str], int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"\s*\[\s*([^\]]+?)\s*\]\s*(#.*)?$", line)
        if header:
            table = re.sub(r"\s*\.\s*", ".", header[1]).replace('"', "").replace("'", "")
            continue
        match = re.match(r"""\s*["']?([A-Za-z0-9_-]+)["']?\s*=""", line)
        if match:
            lines.setdefault((table, match[1]), number)
    return lines


def load_house_config(path: Path | None, profile: str | None, known: set[str]) -> HouseConfig:
    """Read `path` (None: no file) and apply `profile`; every key has to be in `known` (long option names).

    Errors name the file and the line.
    """
    if path is None:
        if profile:
            raise InputError(
                f"--profile {profile} needs a config file: make {CONFIG_NAME} here, or give --config FILE or ${CONFIG_ENV}"
            )
        return HouseConfig(None)
    text = decode_text(read_input(path, "config file"), str(path))
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"config file {path} is not valid TOML: {exc}") from None
    lines = _key_lines(text)

    def place(table: str, key: str) -> str:
        line = lines.get((table, key))
        where = f"{path}:{line}" if line else str(path)
        return f"{where} [{table}]" if table else where

    def settings_of(table: dict, name: str) -> dict[str, Setting]:
        found: dict[str, Setting] = {}
        for key, value in table.items():
            option = key_name(key)
            if option not in known:
                raise InputError(f"{place(name, key)}: unknown key `{key}`; {unknown_name(option, sorted(known), 'option')}")
            found[option] = Setting(option, value, place(name, key))
        return found

    profiles = document.pop("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(table, dict) for table in profiles.values()):
        raise InputError(f"{place('', 'profiles')}: `profiles` has to hold tables, as in [profiles.web]")
    settings = settings_of(document, "")
    for name, table in profiles.items():
        settings_of(table, f"profiles.{name}")  # every profile is checked, not only the one in use
    if profile:
        if profile not in profiles:
            raise InputError(f"config file {path} has no profile {profile!r}; {unknown_name(profile, sorted(profiles), 'profile')}")
        settings.update(settings_of(profiles[profile], f"profiles.{profile}"))
    return HouseConfig(path, profile, tuple(profiles), settings)
