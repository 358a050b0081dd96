"""Every alias a spec lists resolves in the installed framework, and one listed as gone (a version range that
excludes the installed version) does not: the specs and the frameworks cannot drift apart unnoticed.

Each framework is imported in a subprocess of its own (Keras 3 reads its backend once per process).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import specs

RESOLVE = {  # how a user reaches a loss by name, per framework: True when the name resolves
    "keras": "import keras\ndef resolves(name):\n    try:\n        return hasattr(keras.losses, name) or keras.losses.get(name) is not None\n    except Exception:\n        return False",
    "keras2": "import tf_keras\ndef resolves(name):\n    try:\n        return tf_keras.losses.get(name) is not None\n    except Exception:\n        return False",
    "tf1": "import tensorflow\ndef resolves(name):\n    return hasattr(tensorflow.compat.v1.losses, name)",
    "torch": "import torch\ndef resolves(name):\n    return hasattr(torch.nn.functional, name) or hasattr(torch.nn, name)",
    "optax": "import optax\ndef resolves(name):\n    return hasattr(optax.losses, name) or hasattr(optax, name)",
}


def _listed(framework: str) -> dict[str, list]:
    """alias -> [(loss, versions or None)] over every spec."""
    out: dict[str, list] = {}
    for spec in specs.all_specs().values():
        for alias in spec.data.get("aliases", {}).get(framework, []):
            name, versions = (alias, None) if isinstance(alias, str) else (alias["name"], alias.get("versions"))
            out.setdefault(name, []).append((spec.name, versions))
    return out


def resolve_in_framework(framework: str, names) -> tuple[str, dict[str, bool]]:
    """(the framework's version, name -> whether it resolves), asked in a fresh process."""
    module = specs.ALIAS_FRAMEWORKS[framework]
    script = (RESOLVE[framework] + f"\nimport json, sys\nimport {module}\n"
              f"print(json.dumps([{module}.__version__, {{n: resolves(n) for n in json.loads(sys.argv[1])}}]))")
    env = {**os.environ, "KERAS_BACKEND": "numpy", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-c", script, json.dumps(sorted(names))], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    version, resolved = json.loads(done.stdout.strip().splitlines()[-1])
    return version, resolved


@pytest.mark.parametrize("framework", sorted(RESOLVE))
def test_every_listed_alias_resolves_and_every_gone_one_does_not(framework):
    assert set(RESOLVE) == set(specs.ALIAS_FRAMEWORKS)
    listed = _listed(framework)
    version, resolved = resolve_in_framework(framework, listed)
    drift = []
    for name, owners in sorted(listed.items()):
        for loss, versions in owners:
            expected = name in specs.all_specs()[loss].aliases(framework, version)
            if resolved[name] != expected:
                drift.append(f"{loss}: {framework} {version} {'lacks' if expected else 'still has'} {name!r}"
                             + (f" (listed for versions {versions})" if versions else ""))
    assert not drift, "specs and the installed framework disagree:\n" + "\n".join(drift)


def test_a_gone_alias_is_not_active_at_a_version_outside_its_range():
    huber = specs.all_specs()["huber"]
    assert "huber_loss" in huber.aliases("keras2")
    assert "huber_loss" not in huber.aliases("keras", "3.15.1")
    assert "huber_loss" in huber.aliases("keras", "2.15.0")
