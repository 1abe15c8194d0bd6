"""The shipped calibration was fitted on the current training data (no training here)."""

import json

from relais.voicemail.understanding import calibration, model


def test_calibration_json_was_fitted_on_the_current_training_rows():
    fitted = json.loads(calibration.CALIBRATION_FILE.read_text(encoding="utf-8"))["fitted_on"]
    current = model.training_rows(include_extra=False)[1]
    assert fitted["training_key"] == current, (
        f"{calibration.CALIBRATION_FILE.name} was fitted on training data "
        f"{fitted['training_key']}, the corpus/templates/lexicons/taxonomy are now {current}: "
        "refit it with `python -m relais.voicemail.understanding.calibration` "
        "(see docs/understanding.md) and commit the new file.")
