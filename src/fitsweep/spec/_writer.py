"""Sweep files out: YAML that the loader (`fitsweep.spec._loader`) reads back as the same values.

`fitsweep.suggest` writes next sweep files with `yaml_entry`; `SweepSpec.to_yaml` writes a run's
resolved sweep.yaml with `sweep_yaml`.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

# Floats as YAML 1.2 reads them (`1e-3`, which YAML 1.1 reads as a string): the loader reads them
# so, and the dumper quotes strings of that shape.
YAML12_FLOAT = re.compile(r"^[-+]?(?:\d[\d_]*)?(?:\.\d*)?[eE][-+]?\d+$")
YAML12_FLOAT_FIRST = list("-+0123456789.")


class SweepDumper(yaml.SafeDumper):
    """Writes what `SweepLoader` reads back the same: strings such as `1e5` are quoted."""


SweepDumper.add_implicit_resolver("tag:yaml.org,2002:float", YAML12_FLOAT, YAML12_FLOAT_FIRST)


def sweep_yaml(raw: dict[str, Any]) -> str:
    """A sweep file's plain data (nested dicts and lists) as block-style YAML, keys in their order."""
    return yaml.dump(raw, Dumper=SweepDumper, sort_keys=False)


def yaml_entry(key: str, value: Any) -> str:
    """`key: value` as one line of flow-style YAML that `load_spec` reads back as the same value.

    Example:
        >>> yaml_entry("dropout", {"values": [0.0, 0.2]})
        'dropout: {values: [0.0, 0.2]}'
    """
    text = yaml.dump({key: value}, Dumper=SweepDumper, default_flow_style=True, width=2**31, sort_keys=False)
    return text.strip()[1:-1]
