"""The keras-tuner release this package was written against, which requirements.lock pins.

`tests/test_keras_tuner_contract.py` checks the private parts the package touches against it;
`_project` names its series in the errors about a project folder of another layout.
"""

from __future__ import annotations

__all__ = ["WRITTEN_AGAINST"]

WRITTEN_AGAINST = "1.4.8"
