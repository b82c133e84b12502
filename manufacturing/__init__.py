"""GMP batch record and release system for autologous NK cell products."""

from pathlib import Path

from flask import Flask

from manufacturing.config import DEFAULT_SECRET_KEY, INSTANCE_DIR, Config
from manufacturing.core import keyring

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | type | None = None) -> Flask:
    """Build the application; `config` (a mapping or a class) overrides the defaults."""
    app = Flask(__name__, template_folder=str(ROOT / "templates"), static_folder=str(ROOT / "static"),
                instance_path=str(INSTANCE_DIR))
    app.config.from_object(Config)
    if isinstance(config, type):
        app.config.from_object(config)
    elif config:
        app.config.from_mapping(config)
    _refuse_default_secret(app)
    keyring.init_app(app)

    from manufacturing import wiring

    wiring.init_app(app)
    return app


def _refuse_default_secret(app: Flask) -> None:
    if app.config["SECRET_KEY"] == DEFAULT_SECRET_KEY and not (app.debug or app.testing):
        raise RuntimeError(
            "Refusing to start with the default SECRET_KEY: set SECRET_KEY in the environment "
            "or write a random key to instance/secret_key."
        )
