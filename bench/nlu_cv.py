"""Intent classification, cross-validated: `rasa test nlu --cross-validation` on data/nlu, macro F1 and the worst
intents.

    .venv/bin/python bench/nlu_cv.py                 # config.yml, 5 folds
    .venv/bin/python bench/nlu_cv.py --compare-diet  # also DIET (60 epochs) in place of logistic regression (slow)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).parent / "rasa")
ENV = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONWARNINGS": "ignore"}


def cross_validate(config: Path, folds: int, out: Path) -> dict:
    began = time.monotonic()
    subprocess.run(
        [
            RASA,
            "test",
            "nlu",
            "--nlu",
            "data/nlu",
            "--config",
            str(config),
            "--cross-validation",
            "--folds",
            str(folds),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
    )
    report = json.loads((out / "intent_report.json").read_text())
    report["_seconds"] = time.monotonic() - began
    return report


def show(name: str, report: dict) -> None:
    macro = report["macro avg"]
    print(
        f"{name}: intent macro F1 {macro['f1-score']:.3f} (precision {macro['precision']:.3f}, recall "
        f"{macro['recall']:.3f}), accuracy {report['accuracy']:.3f}, {report['_seconds']:.0f} s"
    )
    intents = {k: v for k, v in report.items() if isinstance(v, dict) and "support" in v and " avg" not in k}
    worst = sorted(intents.items(), key=lambda kv: kv[1]["f1-score"])[:5]
    print("  weakest: " + ", ".join(f"{k} {v['f1-score']:.2f}" for k, v in worst))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--compare-diet", action="store_true")
    args = parser.parse_args()
    if not (ROOT / "models" / "spacy-clinic").exists():
        print("The spaCy pipeline is not built: run `make model` first.", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="nlu-cv-") as tmp:
        show("config.yml (logistic regression)", cross_validate(ROOT / "config.yml", args.folds, Path(tmp) / "lr"))
        if args.compare_diet:
            config = yaml.safe_load((ROOT / "config.yml").read_text())
            config["pipeline"] = [
                {"name": "DIETClassifier", "epochs": 60, "entity_recognition": False, "random_seed": 1}
                if step["name"] == "LogisticRegressionClassifier"
                else step
                for step in config["pipeline"]
            ]
            diet = Path(tmp) / "diet.yml"
            diet.write_text(yaml.safe_dump(config))
            show("DIET, 60 epochs", cross_validate(diet, args.folds, Path(tmp) / "diet"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
