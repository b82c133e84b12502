"""Benchmark: application start-up (the unit registry is built once, not per app)."""

from manufacturing import create_app
from manufacturing.config import TestConfig
from manufacturing.units import ureg


def test_bench_application_start_up(benchmark, tmp_path):
    config = type("BenchConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'b.db'}"})
    app = benchmark(create_app, config)
    assert app.url_map.bind("localhost").match("/healthz")
    from manufacturing import units

    assert units.ureg is ureg
