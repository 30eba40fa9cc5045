"""House defaults on the command line: `--config`/`--profile` for generate and batch, and `pipeline config`.

A config file's values become Click's `default_map`, so the precedence is Click's own: command line,
then environment variable, then config file, then the built-in default.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from pipeline.inputs.config import CONFIG_ENV, CONFIG_NAME, PROFILE_ENV, HouseConfig, config_path, load_house_config
from pipeline.errors import InputError

NOT_SETTABLE = {"config", "profile", "prompt", "dry-run", "help"}
"""Options that only make sense on one command line, never as a house default."""

_META = "pipeline.inputs.config"
_UNSET = getattr(click.core, "UNSET", None)  # Click 8.2+ marks an option without default so; earlier Click uses None


def _commands() -> dict[str, click.Command]:
    from pipeline.cli.batch import batch
    from pipeline.cli.generate import generate

    return {"generate": generate, "batch": batch}


def _options(command: click.Command) -> dict[str, click.Option]:
    """A command's settable options by long name (`--no-sharpen` counts as `sharpen`)."""
    found = {}
    for param in command.params:
        if isinstance(param, click.Option):
            for opt in param.opts:
                if opt.startswith("--") and opt[2:] not in NOT_SETTABLE:
                    found[opt[2:]] = param
    return found


def known_keys() -> set[str]:
    return {key for command in _commands().values() for key in _options(command)}


def default_map(config: HouseConfig, command: click.Command, ctx: click.Context) -> dict:
    """The config's values for `command`'s options, checked by each option's own type, keyed by parameter name."""
    values = {}
    options = _options(command)
    for key, setting in config.settings.items():
        param = options.get(key)
        if param is None:
            continue  # an option of the other command
        value = setting.value
        if isinstance(param.type, click.Path) and isinstance(value, str) and config.path is not None:
            value = str(config.path.parent / Path(value).expanduser())  # relative to the config file
        try:
            values[param.name] = param.type_cast_value(ctx, value)
        except click.BadParameter as exc:
            raise InputError(f"{setting.place}: `{key}`: {exc.format_message()}") from None
    return values


def load(config: str | None, profile: str | None) -> HouseConfig:
    """The house config in force, every value checked against each command that has its option."""
    house = load_house_config(config_path(config), profile, known_keys())
    for command in _commands().values():
        default_map(house, command, click.Context(command))
    return house


def _remember(ctx: click.Context, param: click.Parameter, value):
    """Eager callback of --config and --profile: once both are known, the file's values become the defaults."""
    chosen = ctx.meta.setdefault(_META, {})
    chosen[param.name] = value
    if {"config", "profile"} <= set(chosen):
        house = load(chosen["config"], chosen["profile"])
        ctx.default_map = {**default_map(house, ctx.command, ctx), **(ctx.default_map or {})}
    return value


def config_options(command):
    """`--config FILE` and `--profile NAME`, read before every other option."""
    command = click.option(
        "--profile", envvar=PROFILE_ENV, is_eager=True, expose_value=False, callback=_remember,
        help=f"Named profile of the config file ([profiles.NAME]); or ${PROFILE_ENV}.",
    )(command)  # fmt: skip
    return click.option(
        "--config", type=click.Path(dir_okay=False), envvar=CONFIG_ENV, is_eager=True, expose_value=False,
        callback=_remember, help=f"Config file of house defaults; default: ./{CONFIG_NAME} if present (or ${CONFIG_ENV}).",
    )(command)  # fmt: skip


def _shown(value):
    if isinstance(value, Path):
        return str(value)
    return value


@click.command("config")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), envvar=CONFIG_ENV, help="Config file to read.")
@click.option("--profile", envvar=PROFILE_ENV, help="Profile of the config file to apply.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON on stdout.")
def config(config_file, profile, as_json):
    """Show the config file in force and, for each generate and batch option, its value and where it came from
    (environment, config file and line, or built-in default)."""
    house = load(config_file, profile)
    report = {
        "file": str(house.path) if house.path else None,
        "profile": house.profile,
        "profiles": list(house.profiles),
    }
    for name, command in _commands().items():
        ctx = click.Context(command, info_name=name)
        ctx.default_map = default_map(house, command, ctx)
        entries = {}
        for key, param in sorted(_options(command).items()):
            value, source = param.consume_value(ctx, {})  # Click's own precedence: environment, config, default
            value = None if value is _UNSET or value is None else param.type_cast_value(ctx, value)
            if source == click.core.ParameterSource.ENVIRONMENT:
                where = f"environment ${param.envvar}"
            elif source == click.core.ParameterSource.DEFAULT_MAP:
                where = house.settings[key].place
            else:
                where = "built-in default"
            entries[key] = {"value": _shown(value), "source": where}
        report[name] = entries
    if as_json:
        click.echo(json.dumps(report, default=str, ensure_ascii=False))
        return
    if house.path:
        click.echo(f"config file: {house.path}" + (f", profile {house.profile}" if house.profile else ""))
    else:
        click.echo(f"config file: none (no ./{CONFIG_NAME}, --config or ${CONFIG_ENV})")
    if house.profiles:
        click.echo(f"profiles: {', '.join(house.profiles)}")
    for name in _commands():
        click.echo(f"{name}:")
        for key, entry in report[name].items():
            shown = "(none)" if entry["value"] is None else repr(entry["value"])
            click.echo(f"  {key} = {shown}  ({entry['source']})")
